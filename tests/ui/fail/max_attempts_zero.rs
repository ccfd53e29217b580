use hetumind::prelude::*;

#[node(kind = "test.max_attempts_zero", retry(max_attempts = 0))]
async fn max_attempts_zero(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
