//! Deserialization whose error says where in the JSON the problem is. The path is tracked only
//! once a value fails to parse: the common case, valid JSON, costs a plain parse.

use std::borrow::Borrow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserializes `T`, tracking the path; the error is `at \`PATH\`: PROBLEM`, or just the problem
/// when it concerns the whole value. `within` names where the value itself is, if anywhere:
/// the path starts there.
fn deserialize<'de, D, T>(deserializer: D, within: Option<&str>) -> Result<T, String>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let problem = error.into_inner();
        match (within, path.as_str()) {
            (None, ".") => problem.to_string(),
            (None, path) => format!("at `{path}`: {problem}"),
            (Some(field), ".") => format!("at `{field}`: {problem}"),
            (Some(field), path) if path.starts_with('[') => {
                format!("at `{field}{path}`: {problem}")
            }
            (Some(field), path) => format!("at `{field}.{path}`: {problem}"),
        }
    })
}

/// Parses `T` from JSON text, as [`deserialize`] does.
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes)
        .or_else(|_| deserialize(&mut serde_json::Deserializer::from_slice(bytes), None))
}

/// Converts a JSON value (owned or borrowed) into `T`, as [`deserialize`] does.
pub(crate) fn from_value<T: DeserializeOwned>(value: impl Borrow<Value>) -> Result<T, String> {
    let value = value.borrow();
    T::deserialize(value).or_else(|_| deserialize(value, None))
}

/// Converts the JSON value of field `field` into `T`: an error's path starts with the field.
pub(crate) fn from_field<T: DeserializeOwned>(field: &str, value: &Value) -> Result<T, String> {
    T::deserialize(value).or_else(|_| deserialize(value, Some(field)))
}
