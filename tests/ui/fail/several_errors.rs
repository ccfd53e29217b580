use hetumind::prelude::*;

// Five independent mistakes; all of them are reported by one compile.
#[node(knd = "test.several_errors", version = 0, retry(initial = "2x"))]
fn several_errors<T>(value: u32, Item(v): Item<u32>, Items(all): Items<u32>) -> Result<u32, NodeError> {
    Ok(value + v + all.len() as u32)
}

fn main() {}
