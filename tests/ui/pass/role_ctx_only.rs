use hetumind::prelude::*;

/// Reports the attempt it runs in.
#[node(kind = "pass.ctx_only")]
async fn attempt(ctx: Ctx) -> Result<u32, NodeError> {
    Ok(ctx.attempt())
}

/// The same, with the context borrowed.
#[node(kind = "pass.ctx_ref_only")]
async fn attempt_by_ref(ctx: &Ctx) -> Result<u32, NodeError> {
    Ok(ctx.attempt())
}

fn main() {}
