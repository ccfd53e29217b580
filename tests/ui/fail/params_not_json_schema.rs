use hetumind::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct GreetParams {
    greeting: String,
}

#[node(kind = "test.params_not_json_schema")]
async fn params_not_json_schema(Params(p): Params<GreetParams>) -> Result<String, NodeError> {
    Ok(p.greeting)
}

fn main() {}
