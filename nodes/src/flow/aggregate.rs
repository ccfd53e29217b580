//! `core.aggregate`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::support::path::FieldPath;

/// The parameters of `core.aggregate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AggregateParams {
    /// Collect the value at this path of every item instead of the whole items. Items without
    /// a value there are left out (see `keep_missing`).
    #[serde(default)]
    field: Option<FieldPath>,
    /// Where the list goes in the output item (default `items`).
    #[serde(default = "default_destination")]
    destination: FieldPath,
    /// With `field`: collect `null` for items without a value at `field` instead of leaving
    /// them out, so that the list has one entry per item. Default false.
    #[serde(default)]
    keep_missing: bool,
}

fn default_destination() -> FieldPath {
    FieldPath::parse("items").unwrap_or_default()
}

/// Gathers all items into one: `{ "<destination>": [ ...every item's json ] }`, or, with
/// `field`, the list of the values at that path. No input items, no output item.
#[node(kind = "core.aggregate", nonblocking)]
async fn aggregate(
    Params(params): Params<AggregateParams>,
    Items(items): Items<Value>,
) -> Result<Vec<Value>, NodeError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<Value> = match &params.field {
        None => items,
        Some(field) => items
            .iter()
            .filter_map(|item| match field.get(item) {
                Some(value) => Some(value.clone()),
                None => params.keep_missing.then_some(Value::Null),
            })
            .collect(),
    };
    let mut output = Value::Object(Map::new());
    // Setting into an empty object cannot fail: the path only runs through objects it creates.
    params.destination.set(&mut output, Value::Array(list));
    Ok(vec![output])
}
