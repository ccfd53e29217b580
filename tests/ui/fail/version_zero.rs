use hetumind::prelude::*;

#[node(kind = "test.version_zero", version = 0)]
async fn version_zero(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
