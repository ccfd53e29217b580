//! `core.filter`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::condition::Condition;

/// The parameters of `core.filter`.
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FilterParams {
    /// The test an item must meet to be kept.
    condition: Condition,
}

/// Keeps the items that meet the condition, unchanged, and drops the others. When no item is
/// kept, the nodes downstream are skipped. To keep the other items too, on a second output,
/// use `core.if`.
#[node(kind = "core.filter", nonblocking)]
async fn filter(
    Params(params): Params<FilterParams>,
    Item(item): Item<Value>,
) -> Result<Option<Value>, NodeError> {
    Ok(params.condition.matches(&item).then_some(item))
}
