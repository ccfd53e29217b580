use hetumind::prelude::*;

#[node(kind = "test.duration_bad_unit", retry(initial = "2x"))]
async fn duration_bad_unit(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
