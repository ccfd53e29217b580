use hetumind::prelude::*;

#[node(kind = "test.duplicate_params")]
async fn duplicate_params(Params(a): Params<u32>, Params(b): Params<u32>) -> Result<u32, NodeError> {
    Ok(a + b)
}

fn main() {}
