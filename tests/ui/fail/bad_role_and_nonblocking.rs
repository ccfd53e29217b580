use hetumind::prelude::*;

#[node(kind = "test.bad_role", role = "responder", nonblocking = true)]
async fn bad_role(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
