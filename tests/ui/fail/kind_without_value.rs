use hetumind::prelude::*;

#[node(kind, version = 2)]
async fn kind_without_value(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
