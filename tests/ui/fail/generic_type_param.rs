use hetumind::prelude::*;

#[node(kind = "test.generic")]
async fn generic<T>(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
