use hetumind::prelude::*;

#[node(kind = "test.version_string", version = "2")]
async fn version_string(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
