//! Deserialization whose error says where in the JSON the problem is. The path is tracked only
//! once a value fails to parse: the common case, valid JSON, costs a plain parse.

use std::borrow::Borrow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserializes `T`, tracking the path; the error is `at \`PATH\`: PROBLEM`, or just the problem
/// when it concerns the whole value.
fn deserialize<'de, D, T>(deserializer: D) -> Result<T, String>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let problem = error.into_inner();
        if path == "." {
            problem.to_string()
        } else {
            format!("at `{path}`: {problem}")
        }
    })
}

/// Parses `T` from JSON text, as [`deserialize`] does.
pub(crate) fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    serde_json::from_slice(bytes)
        .or_else(|_| deserialize(&mut serde_json::Deserializer::from_slice(bytes)))
}

/// Converts a JSON value (owned or borrowed) into `T`, as [`deserialize`] does.
pub(crate) fn from_value<T: DeserializeOwned>(value: impl Borrow<Value>) -> Result<T, String> {
    let value = value.borrow();
    T::deserialize(value).or_else(|_| deserialize(value))
}
