use hetumind::prelude::*;

#[node(kind = "test.paired_in_each_item")]
async fn paired_in_each_item(Item(v): Item<u32>) -> Result<Paired<u32>, NodeError> {
    Ok(Paired::with(0, v))
}

fn main() {}
