//! `core.limit`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The parameters of `core.limit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LimitParams {
    /// How many items to keep at most; 0 keeps none.
    max_items: usize,
    /// Which items to keep: the first ones (`first`, the default) or the last ones (`last`).
    #[serde(default)]
    keep: Keep,
}

/// Which end of the list `core.limit` keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Keep {
    /// The first `max_items` items.
    #[default]
    First,
    /// The last `max_items` items.
    Last,
}

/// Keeps at most `max_items` items, the first ones or the last ones, in their order; drops the
/// rest.
#[node(kind = "core.limit", nonblocking)]
async fn limit(
    Params(params): Params<LimitParams>,
    Items(items): Items<Value>,
) -> Result<Vec<Paired<Value>>, NodeError> {
    let first = match params.keep {
        Keep::First => 0,
        Keep::Last => items.len().saturating_sub(params.max_items),
    };
    // Paired, so that every kept item keeps its lineage.
    Ok(items
        .into_iter()
        .enumerate()
        .skip(first)
        .take(params.max_items)
        .map(|(input, item)| Paired::with(input, item))
        .collect())
}
