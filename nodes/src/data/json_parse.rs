//! `core.json_parse`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::json::{field_error, item_index, read_str, write};
use crate::support::path::FieldPath;

/// The parameters of `core.json_parse`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct JsonParseParams {
    /// The field holding the JSON text, such as `body`.
    field: FieldPath,
    /// Where the parsed value goes. Default: `field` itself, replacing the text.
    #[serde(default)]
    output_field: Option<FieldPath>,
}

/// Parses the JSON text held in a string field into JSON, in place or into another field. A
/// missing field, a value that is not a string or text that is not valid JSON fails the item,
/// naming the field (and the line and column of a syntax error).
#[node(kind = "core.json_parse", nonblocking)]
async fn json_parse(
    Params(params): Params<JsonParseParams>,
    Item(mut item): Item<Value>,
    ctx: Ctx,
) -> Result<Value, NodeError> {
    let index = item_index(&ctx);
    let text = read_str(index, &item, &params.field)?;
    let parsed: Value = serde_json::from_str(text).map_err(|error| {
        field_error(index, &params.field, format_args!("invalid JSON: {error}"))
    })?;
    let output = params.output_field.as_ref().unwrap_or(&params.field);
    write(index, &mut item, output, parsed)?;
    Ok(item)
}
