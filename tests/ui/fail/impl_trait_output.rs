use hetumind::prelude::*;

#[node(kind = "test.impl_trait_output")]
async fn impl_trait_output(Item(v): Item<u32>) -> Result<impl serde::Serialize, NodeError> {
    Ok(v)
}

fn main() {}
