//! `core.merge`.

use std::collections::HashMap;

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::support::key::Key;
use crate::support::params::schema_of_params;
use crate::support::path::FieldPath;

/// The parameters of `core.merge`: `key` (or `key_left` and `key_right`) and `join` apply to
/// the `combine_by_key` mode only.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MergeParams {
    /// How to merge: `append` (the default), `combine_by_key` or `wait_for_both`.
    #[serde(default)]
    mode: Mode,
    /// `combine_by_key`: the field whose values must be equal in the items of both inputs.
    #[serde(default)]
    key: Option<FieldPath>,
    /// `combine_by_key`: the key field in the items of input 0, when it differs from input 1's
    /// (default `key`).
    #[serde(default)]
    key_left: Option<FieldPath>,
    /// `combine_by_key`: the key field in the items of input 1 (default `key`).
    #[serde(default)]
    key_right: Option<FieldPath>,
    /// `combine_by_key`: which items without a match are kept: none (`inner`, the default),
    /// those of input 0 (`left`), those of input 1 (`right`), or both (`full`).
    #[serde(default)]
    join: Option<Join>,
}

/// How `core.merge` merges its inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// The items of input 0, then those of input 1 (and so on).
    #[default]
    Append,
    /// Pairs of items of inputs 0 and 1 with equal keys, merged into one item.
    CombineByKey,
    /// Like `append`, but only when every input delivered items; nothing otherwise.
    WaitForBoth,
}

/// Which unmatched items `combine_by_key` keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Join {
    /// Only merged pairs.
    #[default]
    Inner,
    /// Merged pairs, and the items of input 0 that match nothing, as they are.
    Left,
    /// Merged pairs, and the items of input 1 that match nothing, as they are.
    Right,
    /// Merged pairs, and the unmatched items of both inputs.
    Full,
}

/// The parameters of `core.merge`, checked: the keys and join of `combine_by_key`, and nothing
/// else in the other modes.
#[derive(Debug, Deserialize)]
#[serde(try_from = "MergeParams")]
enum MergeSpec {
    /// See [`Mode::Append`].
    Append,
    /// See [`Mode::WaitForBoth`].
    WaitForBoth,
    /// See [`Mode::CombineByKey`].
    CombineByKey {
        /// The key in the items of input 0.
        left: FieldPath,
        /// The key in the items of input 1.
        right: FieldPath,
        /// Which unmatched items are kept.
        join: Join,
    },
}

schema_of_params!(MergeSpec => MergeParams);

impl TryFrom<MergeParams> for MergeSpec {
    type Error = String;

    fn try_from(params: MergeParams) -> Result<Self, String> {
        if params.mode != Mode::CombineByKey {
            let given = [
                ("key", params.key.is_some()),
                ("key_left", params.key_left.is_some()),
                ("key_right", params.key_right.is_some()),
                ("join", params.join.is_some()),
            ];
            if let Some((name, _)) = given.iter().find(|(_, given)| *given) {
                return Err(format!(
                    "`{name}` only applies when `mode` is `combine_by_key`"
                ));
            }
            return Ok(match params.mode {
                Mode::WaitForBoth => Self::WaitForBoth,
                _ => Self::Append,
            });
        }
        let needs = "`mode` `combine_by_key` needs `key`, or both `key_left` and `key_right`";
        match (
            params.key_left.or_else(|| params.key.clone()),
            params.key_right.or(params.key),
        ) {
            (Some(left), Some(right)) => Ok(Self::CombineByKey {
                left,
                right,
                join: params.join.unwrap_or_default(),
            }),
            (None, None) => Err(needs.to_owned()),
            (None, Some(_)) => Err(format!("{needs}: `key_left` is missing")),
            (Some(_), None) => Err(format!("{needs}: `key_right` is missing")),
        }
    }
}

/// Merges the items of several inputs (connections into input 0, 1, ...). `append` (the
/// default) outputs the items of input 0, then those of input 1, and so on; `wait_for_both` does
/// the same only when every connected input delivered items, and outputs nothing otherwise;
/// `combine_by_key` joins the items of inputs 0 and 1 whose values at `key` (or `key_left` /
/// `key_right`) are equal (numbers by value, so `1` joins `1.0`; objects whatever their key
/// order; a missing or null key matches nothing), merging each pair into one object in which
/// the fields of input 1 win. `join` keeps the unmatched items of none (`inner`, the default),
/// input 0 (`left`), input 1 (`right`) or both (`full`).
#[node(kind = "core.merge", nonblocking, inputs = "any")]
async fn merge(
    Params(params): Params<MergeSpec>,
    Items(items): Items<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    // The items arrive laid end to end in input order, so appending is keeping them as they are.
    match params {
        MergeSpec::Append => Ok(items),
        MergeSpec::WaitForBoth => {
            let every_input =
                (0..ctx.input_count()).all(|input| !ctx.input_range(input).is_empty());
            Ok(if every_input { items } else { Vec::new() })
        }
        MergeSpec::CombineByKey { left, right, join } => {
            if let Some(input) =
                (2..ctx.input_count()).find(|&input| !ctx.input_range(input).is_empty())
            {
                return Err(NodeError::terminal(format!(
                    "`combine_by_key` joins inputs 0 and 1, but input {input} delivered items too"
                )));
            }
            let mut items = items.into_iter();
            let lefts: Vec<Value> = items.by_ref().take(ctx.input_range(0).len()).collect();
            let rights: Vec<Value> = items.take(ctx.input_range(1).len()).collect();
            Ok(combine(&lefts, &rights, &left, &right, join))
        }
    }
}

/// The join of `lefts` and `rights` on their keys at `left` and `right`.
fn combine(
    lefts: &[Value],
    rights: &[Value],
    left: &FieldPath,
    right: &FieldPath,
    join: Join,
) -> Vec<Value> {
    let mut by_key: HashMap<Key<'_>, Vec<usize>> = HashMap::new();
    for (index, item) in rights.iter().enumerate() {
        if let Some(key) = key_of(item, right) {
            by_key.entry(key).or_default().push(index);
        }
    }
    let mut matched = vec![false; rights.len()];
    let mut output = Vec::new();
    for item in lefts {
        let partners = key_of(item, left).and_then(|key| by_key.get(&key));
        match partners {
            Some(partners) => {
                for &index in partners {
                    matched[index] = true;
                    output.push(merged(item, &rights[index]));
                }
            }
            None if matches!(join, Join::Left | Join::Full) => output.push(item.clone()),
            None => {}
        }
    }
    if matches!(join, Join::Right | Join::Full) {
        output.extend(
            rights
                .iter()
                .zip(matched)
                .filter(|(_, matched)| !matched)
                .map(|(item, _)| item.clone()),
        );
    }
    output
}

/// The key of `item` at `path`; `None` when it has none (missing or `null`).
fn key_of<'v>(item: &'v Value, path: &FieldPath) -> Option<Key<'v>> {
    path.get(item).filter(|value| !value.is_null()).map(Key)
}

/// `left` with the fields of `right` over it; `right` when either is not an object.
fn merged(left: &Value, right: &Value) -> Value {
    match (left, right) {
        (Value::Object(left), Value::Object(right)) => {
            let mut fields = left.clone();
            fields.extend(
                right
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone())),
            );
            Value::Object(fields)
        }
        _ => right.clone(),
    }
}
