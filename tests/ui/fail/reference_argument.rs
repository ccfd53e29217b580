use hetumind::prelude::*;

#[node(kind = "test.reference_argument")]
async fn reference_argument(name: &str) -> Result<usize, NodeError> {
    Ok(name.len())
}

fn main() {}
