use hetumind::prelude::*;

#[node(kind = "test.borrowed_item_type")]
async fn borrowed_item_type(Item(name): Item<&str>) -> Result<usize, NodeError> {
    Ok(name.len())
}

fn main() {}
