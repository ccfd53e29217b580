//! `core.stop_and_error`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The parameters of `core.stop_and_error`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StopAndErrorParams {
    /// The error the execution fails with, as plain text (no templating).
    message: String,
}

/// Fails the execution with a terminal (never retried) error carrying `message`, as soon as
/// any item reaches it; put it on a branch that should never be taken, such as an `if`'s
/// `false` output.
#[node(kind = "core.stop_and_error", nonblocking)]
async fn stop_and_error(
    Params(params): Params<StopAndErrorParams>,
) -> Result<Vec<Value>, NodeError> {
    Err(NodeError::terminal(params.message))
}
