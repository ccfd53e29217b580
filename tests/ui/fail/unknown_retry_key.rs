use hetumind::prelude::*;

#[node(kind = "test.unknown_retry_key", retry(attempts = 3))]
async fn unknown_retry_key(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
