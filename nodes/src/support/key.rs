//! Key equality: when two JSON values are the same key. Every node that matches values uses it:
//! `core.merge` joining on a key, `core.remove_duplicates`, `core.summarize` grouping and
//! counting distinct values, and the `equals` and `contains` operators of conditions
//! (`core.if`, `core.switch`, `core.filter`).
//!
//! Numbers are equal by value, exactly: `1`, `1.0` and `1e0` are one key, and an integer equals
//! a float only when the float is that very integer. Strings, booleans and `null` are equal to
//! themselves only; arrays element by element, in order; objects entry by entry, whatever the
//! order of their keys. Values of different types are never equal (`1` is not `"1"`, `null` is
//! not `false`). Two values are equal keys exactly when [`compare`](super::order::compare)
//! finds them equal, so sorting agrees with it.

use std::hash::{Hash, Hasher};

use serde_json::{Number, Value};

use super::order::{compare_numbers, float, integer, sorted_entries};

/// A JSON value as a key of hash maps and sets: equal to another by key equality, and hashed
/// consistently with it (from a canonical form: numbers by value, objects' entries by key).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Key<'v>(pub(crate) &'v Value);

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        equal_by(self.0, other.0, &|a, b| a == b)
    }
}

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(self.0, state);
    }
}

/// Whether `a` and `b` are equal keys, strings being compared by `same_text` (`==` for
/// [`Key`]; a condition that ignores case compares them case-folded).
pub(crate) fn equal_by<F>(a: &Value, b: &Value, same_text: &F) -> bool
where
    F: Fn(&str, &str) -> bool,
{
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b).is_eq(),
        (Value::String(a), Value::String(b)) => same_text(a, b),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal_by(a, b, same_text))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, a)| b.get(key).is_some_and(|b| equal_by(a, b, same_text)))
        }
        _ => false,
    }
}

/// Feeds `value`'s canonical form to `state`: its type, then its content, numbers by value and
/// objects' entries sorted by key.
fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    match value {
        Value::Null => state.write_u8(0),
        Value::Bool(value) => {
            state.write_u8(1);
            value.hash(state);
        }
        Value::Number(number) => {
            state.write_u8(2);
            hash_number(number, state);
        }
        Value::String(text) => {
            state.write_u8(3);
            text.hash(state);
        }
        Value::Array(elements) => {
            state.write_u8(4);
            state.write_usize(elements.len());
            for element in elements {
                hash_value(element, state);
            }
        }
        Value::Object(fields) => {
            state.write_u8(5);
            state.write_usize(fields.len());
            for (name, value) in sorted_entries(fields) {
                name.hash(state);
                hash_value(value, state);
            }
        }
    }
}

/// Feeds a number's value to `state`: an integral value (an integer, or a float without a
/// fraction within the range of `i128`) as that integer, so that `1` and `1.0` hash alike; any
/// other float by its bits (equal floats have equal bits, `-0.0` being integral).
fn hash_number<H: Hasher>(number: &Number, state: &mut H) {
    /// 2^127: the floats in `-LIMIT..LIMIT` convert to `i128` exactly when integral.
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    let integral = integer(number).or_else(|| {
        let float = float(number);
        // Exact for an integral float within the range of `i128`, and only then used.
        #[allow(clippy::cast_possible_truncation)]
        let whole = float as i128;
        (float.fract() == 0.0 && (-LIMIT..LIMIT).contains(&float)).then_some(whole)
    });
    match integral {
        Some(integer) => {
            state.write_u8(0);
            integer.hash(state);
        }
        None => {
            state.write_u8(1);
            float(number).to_bits().hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashSet;
    use std::hash::{BuildHasher, RandomState};

    use serde_json::{Value, json};

    use super::Key;
    use crate::support::order::compare;

    /// Values equal or not in every way the nodes meet them.
    fn values() -> Vec<Value> {
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
        vec![
            json!(null),
            json!(false),
            json!(true),
            json!(0),
            json!(-0.0),
            json!(0.0),
            json!(1),
            parse("1.0"),
            parse("1e0"),
            parse("10e-1"),
            json!(-1),
            json!(1.5),
            json!(u64::MAX),
            json!(i64::MIN),
            json!(9_007_199_254_740_993_u64),
            json!(9_007_199_254_740_992.0),
            json!(1e300),
            json!("1"),
            json!(""),
            json!([]),
            json!([1, 2]),
            json!([1.0, 2]),
            json!([2, 1]),
            json!({}),
            json!({ "a": 1, "b": [true] }),
            parse(r#"{ "b": [true], "a": 1.0 }"#),
            json!({ "a": 1 }),
            json!({ "a": null }),
        ]
    }

    #[test]
    fn numbers_are_equal_by_value() {
        let one = json!(1);
        for text in ["1.0", "1e0", "10e-1", "1.00"] {
            let other: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Key(&one), Key(&other), "{text}");
        }
        assert_ne!(Key(&json!(1)), Key(&json!("1")));
        assert_ne!(Key(&json!(null)), Key(&json!(false)));
        assert_ne!(
            Key(&json!(9_007_199_254_740_993_u64)),
            Key(&json!(9_007_199_254_740_992.0))
        );
    }

    #[test]
    fn equality_agrees_with_the_order_and_equal_keys_hash_alike() {
        let hasher = RandomState::new();
        let values = values();
        for a in &values {
            for b in &values {
                let equal = Key(a) == Key(b);
                assert_eq!(equal, compare(a, b).is_eq(), "{a} and {b}");
                if equal {
                    assert_eq!(
                        hasher.hash_one(Key(a)),
                        hasher.hash_one(Key(b)),
                        "{a} and {b}"
                    );
                }
            }
        }
        let distinct: HashSet<Key<'_>> = values.iter().map(Key).collect();
        // 0 is -0.0 and 0.0; 1 is 1.0, 1e0 and 10e-1; and one array and one object come twice.
        assert_eq!(distinct.len(), values.len() - 7);
    }
}
