use hetumind::prelude::*;

#[node(kind = "Acme Send Mail")]
async fn invalid_kind(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
