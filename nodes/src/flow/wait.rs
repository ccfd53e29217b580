//! `core.wait`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::params::schema_of_params;

/// The parameters of `core.wait`: exactly one of `amount` (with `unit`) and `until`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaitParams {
    /// How long to wait, in `unit`s, counted from when the node started: at most about 100
    /// years (36,500 days).
    #[serde(default)]
    amount: Option<u64>,
    /// The unit of `amount`: `seconds` (the default), `minutes`, `hours` or `days`.
    #[serde(default)]
    unit: Option<Unit>,
    /// Wait until this time instead, in RFC 3339 (`2026-11-28T12:00:00Z`, or with an offset);
    /// a time already past does not wait.
    #[serde(default)]
    until: Option<String>,
}

/// The unit of a wait's `amount`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Unit {
    /// Seconds.
    #[default]
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days of 24 hours.
    Days,
}

/// The longest wait `amount` may ask for: about 100 years (36,500 days), so that the resume time
/// is always a date every store and orchestrator can write.
const MAX_WAIT_SECONDS: u64 = 36_500 * 24 * 60 * 60;

impl Unit {
    const fn name(self) -> &'static str {
        match self {
            Self::Seconds => "seconds",
            Self::Minutes => "minutes",
            Self::Hours => "hours",
            Self::Days => "days",
        }
    }

    const fn seconds(self) -> u64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 60 * 60,
            Self::Days => 24 * 60 * 60,
        }
    }
}

/// The parameters of `core.wait`, checked: how long to wait, or until when.
#[derive(Debug, Deserialize)]
#[serde(try_from = "WaitParams")]
enum WaitSpec {
    /// For a duration after the node started.
    For(Duration),
    /// Until a time.
    Until(DateTime<Utc>),
}

schema_of_params!(WaitSpec => WaitParams);

impl TryFrom<WaitParams> for WaitSpec {
    type Error = String;

    fn try_from(params: WaitParams) -> Result<Self, String> {
        match (params.amount, params.until) {
            (Some(amount), None) => {
                let unit = params.unit.unwrap_or_default();
                let max = MAX_WAIT_SECONDS / unit.seconds();
                if amount > max {
                    return Err(format!(
                        "`amount` must be from 0 to {max} {} (about 100 years), not {amount}",
                        unit.name()
                    ));
                }
                Ok(Self::For(Duration::from_secs(amount * unit.seconds())))
            }
            (None, Some(until)) if params.unit.is_some() => Err(format!(
                "`unit` applies to `amount`, not to `until` (`{until}`): remove it"
            )),
            (None, Some(until)) => DateTime::parse_from_rfc3339(&until)
                .map(|until| Self::Until(until.to_utc()))
                .map_err(|error| {
                    format!("`until` must be an RFC 3339 time such as `2026-11-28T12:00:00Z`, not `{until}`: {error}")
                }),
            (Some(_), Some(_)) => {
                Err("give either `amount` (with `unit`) or `until`, not both".to_owned())
            }
            (None, None) => Err(
                "missing the time to wait: give `amount` (with `unit`) or `until`".to_owned(),
            ),
        }
    }
}

/// Waits, then passes the items on unchanged: for `amount` `unit`s (seconds, minutes, hours
/// or days) after the node started, or until the time `until`. The wait is durable: the
/// invocation answers `wait` with the resume time, and the execution continues in a later
/// invocation, however long the wait.
#[node(kind = "core.wait", nonblocking)]
async fn wait(
    Params(params): Params<WaitSpec>,
    Items(items): Items<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    match params {
        WaitSpec::For(duration) => ctx.wait_for(duration)?,
        WaitSpec::Until(until) => ctx.wait_until(until)?,
    }
    Ok(items)
}
