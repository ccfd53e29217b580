// A one-argument `Result` alias, and a fully qualified `Result`.
use hetumind::prelude::*;

type Result<T> = std::result::Result<T, NodeError>;

/// Uses the alias.
#[node(kind = "pass.result_alias")]
async fn aliased(Item(v): Item<u32>) -> Result<Vec<u32>> {
    Ok(vec![v])
}

/// Names the standard `Result` by its path.
#[node(kind = "pass.result_path")]
async fn qualified(Item(v): Item<u32>) -> std::result::Result<Option<u32>, NodeError> {
    Ok(Some(v))
}

fn main() {}
