use hetumind::prelude::*;
use serde::Serialize;

#[derive(Serialize)]
struct Greeting {
    message: String,
}

#[node(kind = "test.output_not_json_schema")]
async fn output_not_json_schema(Item(name): Item<String>) -> Result<Greeting, NodeError> {
    Ok(Greeting { message: name })
}

fn main() {}
