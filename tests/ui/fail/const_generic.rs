use hetumind::prelude::*;

#[node(kind = "test.const_generic")]
async fn const_generic<const N: usize>(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v + N as u32)
}

fn main() {}
