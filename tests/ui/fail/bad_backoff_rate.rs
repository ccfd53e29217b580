use hetumind::prelude::*;

#[node(kind = "test.bad_backoff_rate", retry(backoff_rate = 0.5))]
async fn bad_backoff_rate(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
