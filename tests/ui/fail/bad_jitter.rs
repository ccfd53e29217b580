use hetumind::prelude::*;

#[node(kind = "test.bad_jitter", retry(jitter = "half"))]
async fn bad_jitter(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
