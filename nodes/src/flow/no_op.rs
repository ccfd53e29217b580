//! `core.no_op`.

use hetumind::prelude::*;
use serde_json::Value;

/// Passes every item on unchanged.
#[node(kind = "core.no_op", nonblocking)]
async fn no_op(Items(items): Items<Value>) -> Result<Vec<Value>, NodeError> {
    Ok(items)
}
