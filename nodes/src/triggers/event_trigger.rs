//! `core.event_trigger`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The parameters of `core.event_trigger`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EventTriggerParams {
    /// Keep only events whose `source` is one of these (as in an EventBridge event pattern,
    /// such as `["com.example.shop"]`). Empty (the default): any source.
    #[serde(default)]
    source: Vec<String>,
    /// Keep only events whose `detail-type` is one of these (such as `["Order Placed"]`).
    /// Empty (the default): any detail type.
    #[serde(default)]
    detail_type: Vec<String>,
}

/// Starts a workflow on an event: an EventBridge event (passed on whole: `source`,
/// `detail-type`, `detail`, ...) or an SQS message (its body). Events whose `source` or
/// `detail-type` is not among the ones listed are dropped; with a filter set, an item without
/// that field (an SQS message body, say) is dropped too.
#[node(kind = "core.event_trigger", nonblocking)]
async fn event_trigger(
    Params(params): Params<EventTriggerParams>,
    Item(event): Item<Value>,
) -> Result<Option<Value>, NodeError> {
    let matches = |allowed: &[String], field: &str| {
        allowed.is_empty()
            || event
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|value| allowed.iter().any(|allowed| allowed == value))
    };
    let keep = matches(&params.source, "source") && matches(&params.detail_type, "detail-type");
    Ok(keep.then_some(event))
}
