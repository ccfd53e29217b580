//! `core.wait`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::params::schema_of_params;

/// The parameters of `core.wait`: in `time` mode (the default), exactly one of `amount` (with
/// `unit`) and `until`; in `signal` mode, at most one of them, the time limit.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WaitParams {
    /// What ends the wait: `time` (the default), or `signal`: a `resume_execution` request
    /// naming the node (the command line's `resume ID --node NAME --input FILE`, or a `GET` or
    /// `POST` of the node's resume address, `resume_url("NAME")` in an expression), whose items
    /// the node then outputs; `amount`/`until` then limit the wait, after which the node's own
    /// items pass on.
    #[serde(default)]
    mode: Mode,
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

/// What ends a wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// A time.
    #[default]
    Time,
    /// A signal, or the time limit if one is given.
    Signal,
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

/// The parameters of `core.wait`, checked: what ends the wait.
#[derive(Debug, Deserialize)]
#[serde(try_from = "WaitParams")]
enum WaitSpec {
    /// A time.
    Time(Time),
    /// A signal, or the time when there is one.
    Signal(Option<Time>),
}

/// A time to wait for.
#[derive(Debug)]
enum Time {
    /// A duration after the node started.
    For(Duration),
    /// A point in time.
    Until(DateTime<Utc>),
}

schema_of_params!(WaitSpec => WaitParams);

impl TryFrom<WaitParams> for WaitSpec {
    type Error = String;

    fn try_from(params: WaitParams) -> Result<Self, String> {
        match (params.mode, params.amount, &params.until) {
            (Mode::Signal, None, None) if params.unit.is_some() => {
                Err("`unit` applies to `amount`, which is missing".to_owned())
            }
            (Mode::Signal, None, None) => Ok(Self::Signal(None)),
            (Mode::Signal, ..) => Time::try_from(params).map(|time| Self::Signal(Some(time))),
            (Mode::Time, ..) => Time::try_from(params).map(Self::Time),
        }
    }
}

impl TryFrom<WaitParams> for Time {
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

impl Time {
    /// When the wait ends.
    fn end(&self, ctx: &Ctx) -> Result<DateTime<Utc>, NodeError> {
        match self {
            Self::Until(until) => Ok(*until),
            Self::For(duration) => ctx.after_start(*duration),
        }
    }
}

/// Waits, then passes the items on. In `time` mode (the default): for `amount` `unit`s
/// (seconds, minutes, hours or days) after the node started, or until the time `until`, and
/// the items pass on unchanged. In `signal` mode: until a signal, a `resume_execution`
/// request naming the node, whose items (its `input_data`) the node outputs in place of its
/// own; with `amount` or `until`, at most that long, after which the node's own items pass on
/// (tell the two apart downstream by a field the signal sets, such as `approved`).
///
/// A signal comes from the command line (`resume ID --node NAME --input FILE`), from a
/// `resume_execution` request, or through the HTTP trigger at the node's resume address: an
/// earlier node sends it to whoever gives the signal, as the expression `resume_url("NAME")`
/// gives it. A `GET` of the address resumes with one item of its extra query parameters
/// (`&approved=true`); a `POST` with its JSON body.
///
/// The wait is durable: the invocation answers `wait` with the resume time (or, waiting for a
/// signal, `await_signal`), and the execution continues in a later invocation, however long
/// the wait.
#[node(kind = "core.wait", nonblocking)]
async fn wait(
    Params(params): Params<WaitSpec>,
    Items(items): Items<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    match params {
        WaitSpec::Time(time) => ctx.wait_until(time.end(ctx)?)?,
        WaitSpec::Signal(time) => {
            let timeout = time.as_ref().map(|time| time.end(ctx)).transpose()?;
            ctx.wait_for_signal(timeout)?;
        }
    }
    Ok(items)
}
