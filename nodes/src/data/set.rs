//! `core.set`.

use std::fmt;

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::support::json::{item_index, write};
use crate::support::path::FieldPath;

/// The parameters of `core.set`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetParams {
    /// Fields to rename (move), applied first, in order. A field that is missing is skipped.
    #[serde(default)]
    rename: Vec<Move>,
    /// Fields to copy, applied second, in order. A field that is missing is skipped.
    #[serde(default)]
    copy: Vec<Move>,
    /// Fields to set to fixed values, applied third: either an object from path to value
    /// (`{"customer.tier": "gold"}`, applied parents before children), or a list of
    /// `{"path", "value"}` applied in order.
    #[serde(default)]
    set: Assignments,
    /// When true, the output keeps only the fields this node renamed, copied or set; the rest of
    /// the item is dropped. Applied after `set`.
    #[serde(default)]
    keep_only_set: bool,
    /// Fields to remove, applied last. A field that is missing is skipped.
    #[serde(default)]
    remove: Vec<FieldPath>,
}

/// A field moved or copied from one path to another.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Move {
    /// The field's current path.
    from: FieldPath,
    /// The path it goes to.
    to: FieldPath,
}

/// One field set to a value.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Assignment {
    /// The field's path; objects on the way are created.
    path: FieldPath,
    /// The value to set (any JSON).
    value: Value,
}

/// The fields `core.set` sets: written as an object from path to value, or as a list of
/// assignments.
#[derive(Clone, Debug, Default)]
struct Assignments(Vec<Assignment>);

impl<'de> Deserialize<'de> for Assignments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AssignmentsVisitor;

        impl<'de> Visitor<'de> for AssignmentsVisitor {
            type Value = Assignments;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object from field path to value, or a list of {path, value}")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Assignments, A::Error> {
                let mut list = Vec::new();
                while let Some((path, value)) = map.next_entry::<FieldPath, Value>()? {
                    list.push(Assignment { path, value });
                }
                // Objects do not keep their key order: parents (shorter paths) go first.
                list.sort_by(|a, b| a.path.as_str().cmp(b.path.as_str()));
                Ok(Assignments(list))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Assignments, A::Error> {
                let mut list = Vec::new();
                while let Some(assignment) = seq.next_element::<Assignment>()? {
                    list.push(assignment);
                }
                Ok(Assignments(list))
            }
        }

        deserializer.deserialize_any(AssignmentsVisitor)
    }
}

impl JsonSchema for Assignments {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Assignments".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let list = generator.subschema_for::<Vec<Assignment>>();
        schemars::json_schema!({
            "oneOf": [
                {
                    "type": "object",
                    "description": "Field path to value, such as {\"customer.tier\": \"gold\"}.",
                    "additionalProperties": true
                },
                list
            ]
        })
    }
}

/// Sets, renames, copies and removes fields of every item, addressed by dotted paths
/// (`customer.address.city`, `lines.0.sku`). The steps run in this order: `rename`, `copy`,
/// `set`, `keep_only_set`, `remove`. Setting a field creates the objects on its way; setting
/// through a value that is neither an object nor an array fails the item.
#[node(kind = "core.set", nonblocking)]
async fn set(
    Params(params): Params<SetParams>,
    Item(mut item): Item<Value>,
    ctx: Ctx,
) -> Result<Value, NodeError> {
    let index = item_index(&ctx);
    for step in &params.rename {
        if let Some(value) = step.from.remove(&mut item) {
            write(index, &mut item, &step.to, value)?;
        }
    }
    for step in &params.copy {
        if let Some(value) = step.from.get(&item).cloned() {
            write(index, &mut item, &step.to, value)?;
        }
    }
    for assignment in &params.set.0 {
        write(index, &mut item, &assignment.path, assignment.value.clone())?;
    }
    if params.keep_only_set {
        let written = params
            .rename
            .iter()
            .chain(&params.copy)
            .map(|step| &step.to)
            .chain(params.set.0.iter().map(|assignment| &assignment.path));
        let mut kept = Value::Object(Map::new());
        for path in written {
            if let Some(value) = path.get(&item) {
                write(index, &mut kept, path, value.clone())?;
            }
        }
        item = kept;
    }
    for path in &params.remove {
        path.remove(&mut item);
    }
    Ok(item)
}
