use hetumind::prelude::*;

#[node(kind = "test.route_undeclared_output", outputs("true", "false"))]
async fn route_undeclared_output(Item(v): Item<u32>) -> Result<Routed<u32>, NodeError> {
    if v > 10 {
        Ok(Routed::to("true", v))
    } else {
        Ok(Routed::to("flase", v))
    }
}

fn main() {}
