//! Helpers on items' JSON shared by the nodes: reading and writing fields with errors that name
//! the item and the path, JSON type names and excerpts for messages, and one total order on JSON
//! values (sorting, grouping, deduplicating and comparing all agree on it).

use std::cmp::Ordering;
use std::fmt;

use hetumind::prelude::*;
use serde_json::{Number, Value};

use crate::path::FieldPath;

/// The position of the item being processed (each-item mode).
pub(crate) fn item_index(ctx: &Ctx) -> usize {
    ctx.item_index().unwrap_or_default()
}

/// A terminal error about field `path` of input item `index`.
pub(crate) fn item_error(index: usize, path: &FieldPath, problem: impl fmt::Display) -> NodeError {
    if path.as_str().is_empty() {
        NodeError::terminal(format!("item {index}: {problem}"))
    } else {
        NodeError::terminal(format!("item {index}: at `{path}`: {problem}"))
    }
}

/// The value at `path` of item `index`.
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
        .ok_or_else(|| item_error(index, path, "missing field"))
}

/// The string at `path` of item `index`.
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
        item_error(
            index,
            path,
            format_args!("expected a string, found {}", kind_of(value)),
        )
    })
}

/// Sets `path` of item `index` to `value`.
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
        Err(item_error(
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

/// The checks of a node whose parameters depend on its `operation`: which parameters that
/// operation requires, and which it does not use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OperationParams<'a>(pub(crate) &'a str);

impl OperationParams<'_> {
    /// `value` of parameter `name`, which the operation requires.
    ///
    /// # Errors
    ///
    /// When it is absent.
    pub(crate) fn required<T>(self, name: &str, value: Option<T>) -> Result<T, String> {
        value.ok_or_else(|| format!("at `{name}`: required by the `{}` operation", self.0))
    }

    /// Checks that parameter `name`, which the operation does not use, is absent.
    ///
    /// # Errors
    ///
    /// When it is present.
    pub(crate) fn unused<T>(self, name: &str, value: Option<&T>) -> Result<(), String> {
        match value {
            Some(_) => Err(format!(
                "at `{name}`: not used by the `{}` operation; remove it",
                self.0
            )),
            None => Ok(()),
        }
    }
}

/// A JSON value ordered by [`compare`], for sets and maps keyed by item fields (numbers equal by
/// value, objects whatever their key order).
#[derive(Debug, Clone, Copy)]
pub(crate) struct JsonKey<'v>(pub(crate) &'v Value);

impl PartialEq for JsonKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for JsonKey<'_> {}

impl PartialOrd for JsonKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for JsonKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self.0, other.0)
    }
}

/// The total order on JSON values: `null` < booleans < numbers < strings < arrays < objects;
/// numbers by value (exactly, also between integers and floats), strings by Unicode code point,
/// arrays element by element, objects as their entries sorted by key.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .map(|(a, b)| compare(a, b))
            .find(|ordering| ordering.is_ne())
            .unwrap_or_else(|| a.len().cmp(&b.len())),
        (Value::Object(a), Value::Object(b)) => {
            let (a, b) = (sorted_entries(a), sorted_entries(b));
            a.iter()
                .zip(&b)
                .map(|((ka, va), (kb, vb))| ka.cmp(kb).then_with(|| compare(va, vb)))
                .find(|ordering| ordering.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len()))
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// The position of a value's type in the order of types.
fn rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// An object's entries sorted by key, whatever order the map keeps them in.
fn sorted_entries(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by_key(|(key, _)| *key);
    entries
}

/// Compares two numbers by value, exactly even between a large integer and a float.
pub(crate) fn compare_numbers(a: &Number, b: &Number) -> Ordering {
    match (integer(a), integer(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(a), None) => compare_integer_float(a, float(b)),
        (None, Some(b)) => compare_integer_float(b, float(a)).reverse(),
        (None, None) => float(a).partial_cmp(&float(b)).unwrap_or(Ordering::Equal),
    }
}

/// A number's value when it is an integer.
fn integer(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

/// A number's value as a float (JSON numbers are always finite).
fn float(number: &Number) -> f64 {
    number.as_f64().unwrap_or(0.0)
}

/// Compares an integer with a finite float exactly.
fn compare_integer_float(integer: i128, float: f64) -> Ordering {
    let whole = float.trunc();
    // Saturating, and exact for every float within the range of the integers compared.
    #[allow(clippy::cast_possible_truncation)]
    let whole_integer = whole as i128;
    integer.cmp(&whole_integer).then_with(|| {
        0.0_f64
            .partial_cmp(&(float - whole))
            .unwrap_or(Ordering::Equal)
    })
}
