//! `core.manual_trigger`.

use hetumind::prelude::*;
use serde_json::Value;

/// Starts a workflow by hand (the command line's `run`, a direct `execute_workflow` request, a
/// test): passes the execution's input items on unchanged.
#[node(kind = "core.manual_trigger", nonblocking)]
async fn manual_trigger(Items(items): Items<Value>) -> Result<Vec<Value>, NodeError> {
    Ok(items)
}
