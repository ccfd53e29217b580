use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Limit {
    max: u32,
}

/// Emits the numbers up to a limit, whatever its input.
#[node(kind = "pass.params_only")]
async fn count_to(Params(limit): Params<Limit>) -> Result<Vec<u32>, NodeError> {
    Ok((1..=limit.max).collect())
}

fn main() {}
