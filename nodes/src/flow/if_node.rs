//! `core.if`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::condition::Condition;

/// The parameters of `core.if`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct IfParams {
    /// The test that decides each item's branch.
    condition: Condition,
}

/// Sends each item, unchanged, to output `true` (index 0) when it meets the condition and to
/// output `false` (index 1) otherwise. A branch that receives no item is skipped downstream.
#[node(kind = "core.if", nonblocking, outputs("true", "false"))]
async fn if_node(
    Params(params): Params<IfParams>,
    Item(item): Item<Value>,
) -> Result<Routed<Value>, NodeError> {
    let branch = if params.condition.matches(&item) {
        "true"
    } else {
        "false"
    };
    Ok(Routed::to(branch, item))
}
