//! `core.remove_duplicates`.

use std::collections::HashSet;

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::key::Key;
use crate::support::path::FieldPath;

/// The parameters of `core.remove_duplicates`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RemoveDuplicatesParams {
    /// The fields that make two items duplicates when they are all equal, such as
    /// `["email"]`. Empty or absent: items are compared whole.
    #[serde(default)]
    fields: Vec<FieldPath>,
}

/// Removes duplicate items, keeping the first of each. Items are compared whole, or on the
/// listed fields only. Values are equal as JSON (numbers by value, so `1` equals `1.0`; object
/// keys in any order); a missing field is a value of its own, equal only to another missing one.
/// Each kept item keeps its lineage.
#[node(kind = "core.remove_duplicates", nonblocking)]
async fn remove_duplicates(
    Params(params): Params<RemoveDuplicatesParams>,
    Items(items): Items<Value>,
) -> Result<Vec<Paired<Value>>, NodeError> {
    let keep: Vec<bool> = {
        let mut seen = HashSet::new();
        items
            .iter()
            .map(|item| {
                let key: Vec<Option<Key<'_>>> = if params.fields.is_empty() {
                    vec![Some(Key(item))]
                } else {
                    params
                        .fields
                        .iter()
                        .map(|field| field.get(item).map(Key))
                        .collect()
                };
                seen.insert(key)
            })
            .collect()
    };
    Ok(items
        .into_iter()
        .zip(keep)
        .enumerate()
        .filter_map(|(input, (item, keep))| keep.then(|| Paired::with(input, item)))
        .collect())
}
