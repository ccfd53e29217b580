use hetumind::prelude::*;

#[node(kind = "test.not_async")]
fn not_async(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
