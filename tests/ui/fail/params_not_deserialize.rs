use hetumind::prelude::*;
use schemars::JsonSchema;

#[derive(JsonSchema)]
struct GreetParams {
    greeting: String,
}

#[node(kind = "test.params_not_deserialize")]
async fn params_not_deserialize(Params(p): Params<GreetParams>) -> Result<String, NodeError> {
    Ok(p.greeting)
}

fn main() {}
