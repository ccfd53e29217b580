use hetumind::prelude::*;

#[node(kind = "test.duplicate_ctx")]
async fn duplicate_ctx(first: Ctx, second: &Ctx) -> Result<u32, NodeError> {
    let _ = (first, second);
    Ok(1)
}

fn main() {}
