//! Hooks for the fuzz targets in `fuzz/` (built only under `--cfg fuzzing`, which `cargo fuzz`
//! sets): the crate-private parsers the command line uses, reachable from outside the crate.
//! Not part of the API.

use serde::de::DeserializeOwned;

/// How the command line reads a JSON file (a workflow, input items, an event): the parse
/// whose error names the JSON path of the problem.
///
/// # Errors
///
/// When `bytes` is not JSON of a `T`.
pub fn read_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    crate::json_path::from_slice(bytes)
}

/// How the engine converts a JSON value into `T`, with the same errors as [`read_json`].
///
/// # Errors
///
/// When `value` is not a `T`.
pub fn from_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, String> {
    crate::json_path::from_value(value)
}
