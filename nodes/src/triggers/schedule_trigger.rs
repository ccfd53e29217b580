//! `core.schedule_trigger`.

use chrono::SecondsFormat;
use hetumind::prelude::*;
use serde_json::{Map, Value};

/// Starts a workflow on an EventBridge schedule: passes the scheduled event on, with
/// `fired_at` (the event's `time`; the current time when run by hand) and, when the event names
/// its rule, `rule` (the rule's name, from the event's `resources`). When it fires is set by the
/// EventBridge rule (its `cron(...)` or `rate(...)` expression), not here.
#[node(kind = "core.schedule_trigger", nonblocking)]
async fn schedule_trigger(
    Item(mut event): Item<Map<String, Value>>,
    ctx: Ctx,
) -> Result<Map<String, Value>, NodeError> {
    let fired_at = match event.get("time") {
        Some(Value::String(time)) => time.clone(),
        _ => ctx.now().to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let rule = event
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|arn| arn.rsplit_once(":rule/").map(|(_, rule)| rule.to_owned()));
    event.insert("fired_at".to_owned(), Value::String(fired_at));
    if let Some(rule) = rule {
        event.insert("rule".to_owned(), Value::String(rule));
    }
    Ok(event)
}
