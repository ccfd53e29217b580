use hetumind::prelude::*;

#[node(kind = "test.outputs_without_routed", outputs("true", "false"))]
async fn outputs_without_routed(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
