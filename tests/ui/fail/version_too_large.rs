use hetumind::prelude::*;

#[node(kind = "test.version_too_large", version = 4294967296)]
async fn version_too_large(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
