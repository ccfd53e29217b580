use hetumind::prelude::*;

#[node(kind = "test.routed_to_literal_without_outputs")]
async fn routed_to_literal_without_outputs(Item(v): Item<u32>) -> Result<Routed<u32>, NodeError> {
    Ok(Routed::to("true", v))
}

fn main() {}
