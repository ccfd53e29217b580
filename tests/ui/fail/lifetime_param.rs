use hetumind::prelude::*;

#[node(kind = "test.lifetime_param")]
async fn lifetime_param<'a>(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
