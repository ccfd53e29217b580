//! A greeting flow: people in, greetings out.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The parameters of `example.people`.
#[derive(Deserialize, JsonSchema)]
pub struct PeopleParams {
    /// The names to emit, one item each.
    pub names: Vec<String>,
}

/// A person.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct Person {
    /// What to call them.
    pub name: String,
}

/// Emits one item per name in its parameters.
#[node(kind = "example.people")]
pub async fn people(Params(p): Params<PeopleParams>) -> Result<Vec<Person>, NodeError> {
    Ok(p.names.into_iter().map(|name| Person { name }).collect())
}

/// The parameters of `example.greet` (`Clone`: read once per run, not once per item).
#[derive(Clone, Deserialize, JsonSchema)]
pub struct GreetParams {
    /// The greeting, such as `Hello`.
    pub greeting: String,
}

/// A greeting.
#[derive(Serialize, JsonSchema)]
pub struct Greeting {
    /// The whole sentence.
    pub message: String,
}

/// Greets every person it receives.
#[node(
    kind = "example.greet",
    retry(max_attempts = 5, initial = "200ms", max = "30s")
)]
pub async fn greet(
    Params(p): Params<GreetParams>,
    Item(person): Item<Person>,
) -> Result<Greeting, NodeError> {
    Ok(Greeting {
        message: format!("{}, {}!", p.greeting, person.name),
    })
}
