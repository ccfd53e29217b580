use hetumind::prelude::*;

#[node(version = 2)]
async fn missing_kind(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
