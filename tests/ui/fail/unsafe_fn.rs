use hetumind::prelude::*;

#[node(kind = "test.unsafe_fn")]
pub(crate) async unsafe fn unsafe_fn(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
