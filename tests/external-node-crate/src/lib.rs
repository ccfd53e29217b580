//! Nodes defined in a crate of their own, outside the Hetumind workspace, that depends only on
//! `hetumind`, `serde` and `schemars`.
#![forbid(unsafe_code)]

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The parameters of [`greet`].
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GreetParams {
    /// The word to greet with.
    pub greeting: String,
    /// How many exclamation marks to add.
    #[serde(default)]
    pub emphasis: Option<u8>,
}

/// Someone to greet.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Person {
    /// Their name.
    pub name: String,
    /// Their age, when known.
    pub age: Option<u32>,
}

/// A greeting.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Greeting {
    /// The text of the greeting.
    pub message: String,
}

/// Greets every person it receives.
///
/// One greeting per person.
#[node(
    kind = "external.greet",
    version = 2,
    retry(max_attempts = 5, initial = "200ms", max = "30s", jitter = "none")
)]
pub async fn greet(
    Params(params): Params<GreetParams>,
    Item(person): Item<Person>,
    ctx: Ctx,
) -> Result<Greeting, NodeError> {
    let emphasis = "!".repeat(usize::from(params.emphasis.unwrap_or(1)));
    let _ = ctx.attempt();
    Ok(Greeting {
        message: format!("{}, {}{emphasis}", params.greeting, person.name),
    })
}

/// The first, older version of [`greet`].
#[node(kind = "external.greet")]
pub async fn greet_v1(Item(name): Item<String>) -> Result<String, NodeError> {
    Ok(format!("Hello, {name}"))
}

/// Sorts numbers into even and odd.
#[node(kind = "external.parity", outputs("even", "odd"))]
pub async fn parity(Items(numbers): Items<i64>) -> Result<Vec<Routed<i64>>, NodeError> {
    Ok(numbers
        .into_iter()
        .map(|n| {
            if n % 2 == 0 {
                Routed::to("even", n)
            } else {
                Routed::to("odd", n)
            }
        })
        .collect())
}
