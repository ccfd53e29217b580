use hetumind::prelude::*;

#[node(kind = "test.unknown_role")]
async fn unknown_role(value: u32) -> Result<u32, NodeError> {
    Ok(value)
}

fn main() {}
