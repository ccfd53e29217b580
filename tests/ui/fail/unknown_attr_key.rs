use hetumind::prelude::*;

#[node(knd = "test.unknown_attr_key")]
async fn unknown_attr_key(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
