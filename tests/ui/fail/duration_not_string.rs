use hetumind::prelude::*;

#[node(kind = "test.duration_not_string", retry(initial = 200))]
async fn duration_not_string(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
