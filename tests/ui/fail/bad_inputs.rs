use hetumind::prelude::*;

#[node(kind = "test.inputs_zero", inputs = 0)]
async fn inputs_zero(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

#[node(kind = "test.inputs_all", inputs = "all")]
async fn inputs_all(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

#[node(kind = "test.inputs_negative", inputs = -1)]
async fn inputs_negative(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
