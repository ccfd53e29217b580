use hetumind::prelude::*;

#[node(kind = "test.duplicate_attr_key", version = 1, version = 2)]
async fn duplicate_attr_key(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
