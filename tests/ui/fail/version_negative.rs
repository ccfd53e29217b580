use hetumind::prelude::*;

#[node(kind = "test.version_negative", version = -1)]
async fn version_negative(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
