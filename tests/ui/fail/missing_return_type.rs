use hetumind::prelude::*;

#[node(kind = "test.missing_return_type")]
async fn missing_return_type(Item(v): Item<u32>) {
    let _ = v;
}

fn main() {}
