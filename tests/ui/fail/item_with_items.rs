use hetumind::prelude::*;

#[node(kind = "test.item_with_items")]
async fn item_with_items(Item(one): Item<u32>, Items(all): Items<u32>) -> Result<u32, NodeError> {
    Ok(one + all.len() as u32)
}

fn main() {}
