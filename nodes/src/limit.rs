//! `core.limit`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Parameters of `core.limit`.
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
#[node(kind = "core.limit")]
async fn limit(
    Params(params): Params<LimitParams>,
    Item(item): Item<Value>,
    ctx: &Ctx,
) -> Result<Option<Value>, NodeError> {
    // Called once per item, so that every kept item keeps its lineage.
    let index = ctx.item_index().unwrap_or_default();
    let kept = match params.keep {
        Keep::First => index < params.max_items,
        Keep::Last => index >= ctx.items().len().saturating_sub(params.max_items),
    };
    Ok(kept.then_some(item))
}
