//! One total order on JSON values, which `core.sort` sorts by and `core.summarize`'s `min` and
//! `max` pick by, and the exact comparison of numbers it rests on, which the ordering operators
//! of conditions use too. The values it finds equal are exactly the equal keys of
//! [`super::key`].

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

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
pub(crate) fn sorted_entries(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
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
pub(crate) fn integer(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

/// A number's value as a float (JSON numbers are always finite).
pub(crate) fn float(number: &Number) -> f64 {
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
