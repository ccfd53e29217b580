//! `core.split_out`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::support::json::{item_error, item_index, kind_of};
use crate::support::path::FieldPath;

/// The parameters of `core.split_out`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SplitOutParams {
    /// The list to split: every element becomes an item. An item without a list there fails
    /// (a terminal error of that item).
    field: FieldPath,
    /// Which other fields of the item each new item keeps: none (`no_other_fields`, the
    /// default) or all of them (`all_other_fields`).
    #[serde(default)]
    include: Include,
    /// Where each element goes in its new item. Without it, an object element's fields become
    /// the item's fields, and any other element takes the list's place (at `field`).
    #[serde(default)]
    destination: Option<FieldPath>,
}

/// Which of the item's other fields `core.split_out` keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Include {
    /// Each new item holds its element only.
    #[default]
    NoOtherFields,
    /// Each new item holds the item's other fields (all but the list) and its element.
    AllOtherFields,
}

/// Turns a list inside each item into items, one per element: `{"id": 1, "tags": ["a", "b"]}`
/// split on `tags` gives `{"tags": "a"}` and `{"tags": "b"}` (with `include:
/// all_other_fields`, `{"id": 1, "tags": "a"}` ...). Object elements become items as they are;
/// `destination` puts every element under a field of its own. An empty list gives no items; an
/// item whose `field` is missing or not a list fails (terminal), naming the field and the item.
#[node(kind = "core.split_out", nonblocking)]
async fn split_out(
    Params(params): Params<SplitOutParams>,
    Item(mut item): Item<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    let index = item_index(ctx);
    let field = &params.field;
    let list = match field.remove(&mut item) {
        Some(Value::Array(list)) => list,
        found => {
            // Not a list, so never `an array`.
            let found = found.as_ref().map_or("nothing", kind_of);
            return Err(item_error(
                index,
                format_args!("expected a list at `{field}`, found {found}"),
            ));
        }
    };
    let rest = match params.include {
        Include::NoOtherFields => Value::Object(Map::new()),
        Include::AllOtherFields => item,
    };
    list.into_iter()
        .map(|element| {
            let mut out = rest.clone();
            let placed = match (&params.destination, element) {
                (None, Value::Object(fields)) => {
                    match &mut out {
                        Value::Object(out) => out.extend(fields),
                        _ => out = Value::Object(fields),
                    }
                    true
                }
                (Some(destination), element) => destination.set(&mut out, element),
                (None, element) => field.set(&mut out, element),
            };
            if placed {
                Ok(out)
            } else {
                let path = params.destination.as_ref().unwrap_or(field);
                Err(item_error(
                    index,
                    format_args!("cannot put an element at `{path}`: the path runs through a value that is not an object"),
                ))
            }
        })
        .collect()
}
