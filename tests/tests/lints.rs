#![deny(warnings, clippy::pedantic)]
//! The code `#[node]` generates is lint-clean in its users' crates: nodes of every shape compile
//! here under `deny(warnings, clippy::pedantic)` (CI runs clippy with `-D warnings` on all
//! targets), and they are all registered.

use std::fmt;

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The parameters of [`greet`].
#[derive(Deserialize, JsonSchema)]
pub struct GreetParams {
    /// How to greet.
    pub greeting: String,
}

/// A person to greet.
#[derive(Deserialize, JsonSchema)]
pub struct Person {
    /// Their name.
    pub name: String,
}

/// A greeting.
#[derive(Serialize, JsonSchema)]
pub struct Greeting {
    /// The whole greeting.
    pub message: String,
}

/// Greets every person it receives.
///
/// # Errors
///
/// Never: every person can be greeted.
#[node(
    kind = "lints.greet",
    version = 2,
    retry(
        max_attempts = 5,
        initial = "200ms",
        max = "30s",
        backoff_rate = 1.5,
        jitter = "none"
    )
)]
pub async fn greet(
    Params(p): Params<GreetParams>,
    Item(person): Item<Person>,
    ctx: Ctx,
) -> Result<Greeting, NodeError> {
    let _ = ctx.attempt();
    Ok(Greeting {
        message: format!("{}, {}!", p.greeting, person.name),
    })
}

/// Sums all items at once.
#[node(kind = "lints.sum")]
async fn sum(ctx: &Ctx, Items(numbers): Items<i64>) -> Result<i64, NodeError> {
    let _ = ctx.items();
    Ok(numbers.iter().sum())
}

/// Routes numbers by sign, dropping zeros.
#[node(kind = "lints.sign", outputs("negative", "positive"))]
async fn sign(Item(n): Item<i64>) -> Result<Option<Routed<i64>>, NodeError> {
    Ok(match n {
        0 => None,
        n if n < 0 => Some(Routed::to("negative", n)),
        n => Some(Routed::to("positive", n)),
    })
}

/// Sends every item to both outputs.
#[node(kind = "lints.fan_out", outputs("left", "right"))]
async fn fan_out(
    Item(v): Item<serde_json::Value>,
) -> Result<Vec<Routed<serde_json::Value>>, NodeError> {
    Ok(vec![Routed::to("left", v.clone()), Routed::to("right", v)])
}

/// Emits nothing, whatever it is given.
#[node(kind = "lints.nothing")]
async fn nothing() -> Result<Vec<u8>, NodeError> {
    Ok(Vec::new())
}

/// An error of [`fallible`].
#[derive(Debug)]
struct Unavailable;

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the service is unavailable")
    }
}

impl From<Unavailable> for NodeError {
    fn from(error: Unavailable) -> Self {
        NodeError::retryable(error)
    }
}

/// Fails on odd numbers.
#[node(kind = "lints.fallible", crate = ::hetumind)]
async fn fallible(Item(n): Item<u32>) -> Result<u32, Unavailable> {
    if n % 2 == 0 { Ok(n) } else { Err(Unavailable) }
}

#[test]
fn every_node_is_registered() {
    let registry = hetumind::Registry::global().expect("no duplicate nodes");
    for kind in [
        "lints.greet",
        "lints.sum",
        "lints.sign",
        "lints.fan_out",
        "lints.nothing",
        "lints.fallible",
    ] {
        assert!(registry.latest(kind).is_some(), "{kind} is not registered");
    }
    let greet = registry.get("lints.greet", 2).expect("version 2");
    assert!(
        greet
            .description
            .starts_with("Greets every person it receives.\n\n# Errors")
    );
    assert_eq!(greet.retry.max_attempts, 5);
    assert_eq!(
        registry.latest("lints.sign").expect("registered").outputs,
        ["negative", "positive"]
    );
}
