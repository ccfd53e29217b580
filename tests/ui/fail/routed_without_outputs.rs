use hetumind::prelude::*;

#[node(kind = "test.routed_without_outputs")]
async fn routed_without_outputs(Item(v): Item<u32>) -> Result<Routed<u32>, NodeError> {
    Ok(Routed::to("main", v))
}

fn main() {}
