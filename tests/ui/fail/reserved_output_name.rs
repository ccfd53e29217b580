use hetumind::prelude::*;

#[node(kind = "test.reserved_output_name", outputs("ok", "error"))]
async fn reserved_output_name(Item(v): Item<u32>) -> Result<Routed<u32>, NodeError> {
    Ok(Routed::to("ok", v))
}

fn main() {}
