//! Helpers on items' JSON shared by the nodes: reading and writing fields with errors that name
//! the item and the path, and JSON type names and excerpts for messages.
//!
//! Every error about one input item starts ``input item N: ``, N the item's 0-based position
//! among the node's input items ([`item_error`]); an error about one of its fields goes on with
//! ``at `path`: `` ([`field_error`]).

use std::fmt;

use hetumind::prelude::*;
use serde_json::Value;

use super::path::FieldPath;

/// The position of the item being processed among the node's input items (each-item mode;
/// 0 otherwise).
pub(crate) fn item_index(ctx: &Ctx) -> usize {
    ctx.item_index().unwrap_or_default()
}

/// A terminal error about input item `index`: `input item {index}: {problem}`.
pub(crate) fn item_error(index: usize, problem: impl fmt::Display) -> NodeError {
    NodeError::terminal(format!("input item {index}: {problem}"))
}

/// A terminal error about field `path` of input item `index`:
/// ``input item {index}: at `{path}`: {problem}`` (without the `at` for the whole item).
pub(crate) fn field_error(index: usize, path: &FieldPath, problem: impl fmt::Display) -> NodeError {
    if path.as_str().is_empty() {
        item_error(index, problem)
    } else {
        item_error(index, format_args!("at `{path}`: {problem}"))
    }
}

/// The value at `path` of input item `index`.
///
/// # Errors
///
/// When the item has no such field.
pub(crate) fn read<'v>(
    index: usize,
    item: &'v Value,
    path: &FieldPath,
) -> Result<&'v Value, NodeError> {
    path.get(item)
        .ok_or_else(|| field_error(index, path, "missing field"))
}

/// The string at `path` of input item `index`.
///
/// # Errors
///
/// When the item has no such field, or it is not a string.
pub(crate) fn read_str<'v>(
    index: usize,
    item: &'v Value,
    path: &FieldPath,
) -> Result<&'v str, NodeError> {
    let value = read(index, item, path)?;
    value.as_str().ok_or_else(|| {
        field_error(
            index,
            path,
            format_args!("expected a string, found {}", kind_of(value)),
        )
    })
}

/// Sets `path` of input item `index` to `value`.
///
/// # Errors
///
/// When the path runs through a value that is neither an object nor an array, or past the end
/// of an array.
pub(crate) fn write(
    index: usize,
    item: &mut Value,
    path: &FieldPath,
    value: Value,
) -> Result<(), NodeError> {
    if path.set(item, value) {
        Ok(())
    } else {
        Err(field_error(
            index,
            path,
            "cannot set this field: its path runs through a value that is neither an object nor an array, or past the end of an array",
        ))
    }
}

/// What kind of JSON value `value` is, for error messages: `a string`, `an object`, ...
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A short rendering of `value` for error messages: its JSON text, cut after 60 characters.
pub(crate) fn excerpt(value: &Value) -> String {
    const LIMIT: usize = 60;
    let text = value.to_string();
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}
