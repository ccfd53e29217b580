use hetumind::prelude::*;

#[node(kind = "test.mut_ref_ctx")]
async fn mut_ref_ctx(ctx: &mut Ctx) -> Result<u32, NodeError> {
    let _ = ctx;
    Ok(1)
}

fn main() {}
