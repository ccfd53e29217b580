use hetumind::prelude::*;
use schemars::JsonSchema;

#[derive(JsonSchema)]
struct Greeting {
    message: String,
}

#[node(kind = "test.output_not_serialize")]
async fn output_not_serialize(Item(name): Item<String>) -> Result<Greeting, NodeError> {
    Ok(Greeting { message: name })
}

fn main() {}
