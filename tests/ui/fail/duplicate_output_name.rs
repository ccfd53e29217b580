use hetumind::prelude::*;

#[node(kind = "test.duplicate_output_name", outputs("even", "odd", "even"))]
async fn duplicate_output_name(Item(v): Item<u32>) -> Result<Routed<u32>, NodeError> {
    Ok(Routed::to(if v % 2 == 0 { "even" } else { "odd" }, v))
}

fn main() {}
