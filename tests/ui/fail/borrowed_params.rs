use hetumind::prelude::*;

#[node(kind = "test.borrowed_params")]
async fn borrowed_params(params: &Params<u32>) -> Result<u32, NodeError> {
    Ok(params.0)
}

fn main() {}
