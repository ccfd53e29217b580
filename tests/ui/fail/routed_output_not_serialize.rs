use hetumind::prelude::*;
use schemars::JsonSchema;

#[derive(JsonSchema)]
struct Greeting {
    message: String,
}

#[node(kind = "test.routed_output_not_serialize", outputs("a", "b"))]
async fn routed_output_not_serialize(Item(name): Item<String>) -> Result<Vec<Routed<Greeting>>, NodeError> {
    Ok(vec![Routed::to("a", Greeting { message: name })])
}

fn main() {}
