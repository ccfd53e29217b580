use hetumind::prelude::*;
use schemars::JsonSchema;

#[derive(JsonSchema)]
struct Person {
    name: String,
}

#[node(kind = "test.input_not_deserialize")]
async fn input_not_deserialize(Item(person): Item<Person>) -> Result<String, NodeError> {
    Ok(person.name)
}

fn main() {}
