use hetumind::prelude::*;

#[node(kind = "test.route_undeclared_output_in_vec", outputs("small", "large"))]
async fn route_undeclared_output_in_vec(
    Item(v): Item<u32>,
) -> Result<Vec<Routed<u32>>, NodeError> {
    Ok(vec![Routed::to("small", v), Routed::to("huge", v * 1000)])
}

fn main() {}
