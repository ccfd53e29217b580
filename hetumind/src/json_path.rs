//! Deserialization whose error says where in the JSON the problem is.

use serde::{Deserialize, Deserializer};

/// Deserializes `T`; the error is `at \`PATH\`: PROBLEM`, or just the problem when it concerns
/// the whole value.
pub(crate) fn deserialize<'de, D, T>(deserializer: D) -> Result<T, String>
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
