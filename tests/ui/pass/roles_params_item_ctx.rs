// The canonical node: parameters, one item, and the context.
use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
pub struct GreetParams {
    pub greeting: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct Person {
    pub name: String,
}

#[derive(Serialize, JsonSchema)]
pub struct Greeting {
    pub message: String,
}

/// Greets every person it receives.
#[node(kind = "pass.greet", version = 1, retry(max_attempts = 5, initial = "200ms", max = "30s"))]
pub async fn greet(
    Params(p): Params<GreetParams>,
    Item(person): Item<Person>,
    ctx: Ctx,
) -> Result<Greeting, NodeError> {
    let _ = ctx.attempt();
    Ok(Greeting { message: format!("{}, {}!", p.greeting, person.name) })
}

fn main() {
    let output = NodeTest::new("pass.greet")
        .params(json!({ "greeting": "Hello" }))
        .items([json!({ "name": "Ada" })])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.json(0), [json!({ "message": "Hello, Ada!" })]);
}
