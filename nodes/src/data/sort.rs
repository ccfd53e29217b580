//! `core.sort`.

use std::cmp::Ordering;

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::order::compare;
use crate::support::path::FieldPath;

/// The parameters of `core.sort`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SortParams {
    /// The fields to sort by, most significant first: items equal on the first field are
    /// ordered by the second, and so on.
    #[serde(deserialize_with = "non_empty")]
    #[schemars(length(min = 1))]
    by: Vec<SortKey>,
}

/// One field to sort by.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SortKey {
    /// The field's path, such as `customer.name`.
    field: FieldPath,
    /// `asc` (smallest first, the default) or `desc` (largest first).
    #[serde(default)]
    order: SortOrder,
}

/// A sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Sorts items by one or more fields. The sort is stable (items that compare equal keep their
/// order) and total across JSON types: `null` < booleans (`false` < `true`) < numbers (by
/// value, so `1` equals `1.0`) < strings (by Unicode code point) < arrays (element by element)
/// < objects. Items lacking a field come last, in either order. Each item keeps its lineage.
#[node(kind = "core.sort", nonblocking)]
async fn sort(
    Params(params): Params<SortParams>,
    Items(items): Items<Value>,
) -> Result<Vec<Paired<Value>>, NodeError> {
    let mut keyed: Vec<(Vec<Option<&Value>>, usize)> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let keys = params.by.iter().map(|key| key.field.get(item)).collect();
            (keys, index)
        })
        .collect();
    keyed.sort_by(|(a, _), (b, _)| compare_keys(&params.by, a, b));
    let order: Vec<usize> = keyed.into_iter().map(|(_, index)| index).collect();
    let mut slots: Vec<Option<Value>> = items.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|index| Some(Paired::with(index, slots.get_mut(index)?.take()?)))
        .collect())
}

/// Compares two items' sort keys, field by field; a missing field sorts last in either order.
fn compare_keys(by: &[SortKey], a: &[Option<&Value>], b: &[Option<&Value>]) -> Ordering {
    by.iter()
        .zip(a.iter().zip(b))
        .map(|(key, pair)| match pair {
            (Some(a), Some(b)) if key.order == SortOrder::Desc => compare(b, a),
            (Some(a), Some(b)) => compare(a, b),
            (a, b) => a.is_none().cmp(&b.is_none()),
        })
        .find(|ordering| ordering.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// A deserializer for a list that must hold at least one element.
fn non_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let list = Vec::<T>::deserialize(deserializer)?;
    if list.is_empty() {
        return Err(serde::de::Error::custom(
            "must hold at least one element, not an empty list",
        ));
    }
    Ok(list)
}
