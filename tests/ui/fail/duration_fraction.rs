use hetumind::prelude::*;

#[node(kind = "test.duration_fraction", retry(max = "1.5s"))]
async fn duration_fraction(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
