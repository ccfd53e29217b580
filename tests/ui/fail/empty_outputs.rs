use hetumind::prelude::*;

#[node(kind = "test.empty_outputs", outputs())]
async fn empty_outputs(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
