//! `core.date_time`.

use std::fmt::Write as _;

use chrono::format::{Item as FormatItem, Parsed, StrftimeItems};
use chrono::{
    DateTime, FixedOffset, Months, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, TimeDelta,
};
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::support::json::{excerpt, field_error, item_index, kind_of, read, write};
use crate::support::params::{ForOperation, schema_of_params};
use crate::support::path::FieldPath;

/// The parameters of `core.date_time`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DateTimeParams {
    /// `format` (write a date with a pattern), `add` (shift a date), `parse` (read a date, with
    /// an optional pattern, into RFC 3339) or `now` (the current time).
    operation: Operation,
    /// The field holding the date. Required by every operation but `now`, which takes none.
    #[serde(default)]
    field: Option<FieldPath>,
    /// Where the result goes. Default: `field` itself. Required by `now`.
    #[serde(default)]
    output_field: Option<FieldPath>,
    /// `format` (required) and `now` (optional): the pattern the result is written with;
    /// `parse` (optional): the pattern the input follows. A strftime pattern such as
    /// `%Y-%m-%d %H:%M`, or `unix` / `unix_ms` for a Unix time in seconds / milliseconds (a JSON
    /// number).
    #[serde(default)]
    format: Option<Pattern>,
    /// `add`: how many `unit`s to add; negative subtracts.
    #[serde(default)]
    amount: Option<i64>,
    /// `add`: `milliseconds`, `seconds`, `minutes`, `hours`, `days`, `weeks`, `months` or
    /// `years`. Months and years keep the day of the month, or take the month's last day when
    /// it has fewer days.
    #[serde(default)]
    unit: Option<Unit>,
}

/// What `core.date_time` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Operation {
    /// Writes a date with a pattern.
    Format,
    /// Adds an amount of a unit to a date.
    Add,
    /// Reads a date into RFC 3339.
    Parse,
    /// The current time.
    Now,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Format => "format",
            Self::Add => "add",
            Self::Parse => "parse",
            Self::Now => "now",
        }
    }
}

/// A unit of time for `add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Unit {
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
    /// Days of 24 hours.
    Days,
    /// Weeks of 7 days.
    Weeks,
    /// Calendar months.
    Months,
    /// Calendar years.
    Years,
}

/// How a date is written or read: a checked strftime pattern, or a Unix time.
#[derive(Debug, Clone)]
enum Pattern {
    /// A strftime pattern, parsed once.
    Strftime(Vec<FormatItem<'static>>),
    /// Seconds since 1970-01-01T00:00:00Z, as a JSON number.
    Unix,
    /// Milliseconds since 1970-01-01T00:00:00Z, as a JSON number.
    UnixMs,
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "unix" => Ok(Self::Unix),
            "unix_ms" => Ok(Self::UnixMs),
            _ => StrftimeItems::new(&text)
                .parse_to_owned()
                .map(Self::Strftime)
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "`{text}` is not a valid strftime pattern (a `%` must be followed by a known specifier, such as `%Y`, `%m`, `%d`, `%H`, `%M`, `%S`, `%z`; write `%%` for a literal `%`)"
                    ))
                }),
        }
    }
}

impl JsonSchema for Pattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DatePattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A strftime pattern such as `%Y-%m-%d %H:%M`, or `unix` / `unix_ms` for a Unix time in seconds / milliseconds."
        })
    }
}

/// The parameters of `core.date_time`, checked: each operation has what it needs, and nothing it
/// does not use.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "DateTimeParams")]
struct DateTimeSpec {
    action: Action,
    output: FieldPath,
}

schema_of_params!(DateTimeSpec => DateTimeParams);

/// What to do, with what it needs.
#[derive(Clone, Debug)]
enum Action {
    Format {
        field: FieldPath,
        pattern: Pattern,
    },
    Add {
        field: FieldPath,
        amount: i64,
        unit: Unit,
    },
    Parse {
        field: FieldPath,
        pattern: Option<Pattern>,
    },
    Now {
        pattern: Option<Pattern>,
    },
}

impl TryFrom<DateTimeParams> for DateTimeSpec {
    type Error = String;

    fn try_from(params: DateTimeParams) -> Result<Self, String> {
        let DateTimeParams {
            operation,
            field,
            output_field,
            format,
            amount,
            unit,
        } = params;
        let op = ForOperation(operation.name());
        if operation != Operation::Add {
            op.unused("amount", amount.as_ref())?;
            op.unused("unit", unit.as_ref())?;
        }
        let field = match operation {
            Operation::Now => {
                op.unused("field", field.as_ref())?;
                return Ok(Self {
                    action: Action::Now { pattern: format },
                    output: op.required("output_field", output_field)?,
                });
            }
            _ => op.required("field", field)?,
        };
        let action = match operation {
            Operation::Format => Action::Format {
                field: field.clone(),
                pattern: op.required("format", format)?,
            },
            Operation::Add => {
                op.unused("format", format.as_ref())?;
                Action::Add {
                    field: field.clone(),
                    amount: op.required("amount", amount)?,
                    unit: op.required("unit", unit)?,
                }
            }
            Operation::Parse | Operation::Now => Action::Parse {
                field: field.clone(),
                pattern: format,
            },
        };
        Ok(Self {
            action,
            output: output_field.unwrap_or(field),
        })
    }
}

/// Works with dates: `format` writes a date with a strftime pattern (or as a Unix time), `add`
/// shifts it by an amount of a unit (negative amounts go back), `parse` reads a string (with an
/// optional pattern) or a Unix time into RFC 3339, and `now` writes the current time of the
/// engine's clock. Dates are read from RFC 3339 strings (`2024-03-01T10:00:00+02:00`; also
/// with a space, without offset meaning UTC, or date-only meaning midnight UTC) and RFC 2822
/// strings, and keep their UTC offset. A missing field or a value that is not such a date fails
/// the item, naming the field and the value.
#[node(kind = "core.date_time", nonblocking)]
async fn date_time(
    Params(params): Params<DateTimeSpec>,
    Item(mut item): Item<Value>,
    ctx: Ctx,
) -> Result<Value, NodeError> {
    let index = item_index(&ctx);
    let result = match &params.action {
        Action::Format { field, pattern } => {
            let date = read_date(index, &item, field)?;
            render(&date, Some(pattern)).map_err(|problem| field_error(index, field, problem))?
        }
        Action::Add {
            field,
            amount,
            unit,
        } => {
            let date = read_date(index, &item, field)?;
            let shifted = add(date, *amount, *unit).ok_or_else(|| {
                field_error(
                    index,
                    field,
                    format_args!("adding {amount} to {date} leaves the supported range of dates"),
                )
            })?;
            rfc3339(&shifted)
        }
        Action::Parse { field, pattern } => {
            let value = read(index, &item, field)?;
            let date = parse(value, pattern.as_ref()).map_err(|problem| {
                field_error(index, field, format_args!("{}: {problem}", excerpt(value)))
            })?;
            rfc3339(&date)
        }
        Action::Now { pattern } => {
            let now = ctx.now().fixed_offset();
            render(&now, pattern.as_ref()).map_err(NodeError::terminal)?
        }
    };
    write(index, &mut item, &params.output, result)?;
    Ok(item)
}

/// The date at `path` of input item `index`.
fn read_date(
    index: usize,
    item: &Value,
    path: &FieldPath,
) -> Result<DateTime<FixedOffset>, NodeError> {
    let value = read(index, item, path)?;
    parse(value, None)
        .map_err(|problem| field_error(index, path, format_args!("{}: {problem}", excerpt(value))))
}

/// Reads a date: a Unix time, a string following `pattern`, or, without pattern, an RFC 3339
/// or RFC 2822 string.
fn parse(value: &Value, pattern: Option<&Pattern>) -> Result<DateTime<FixedOffset>, String> {
    let unix = |scale: i64| {
        let seconds = match value {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.trim().parse::<f64>().ok(),
            _ => None,
        }
        .ok_or_else(|| format!("expected a Unix time (a number), found {}", kind_of(value)))?;
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
        let millis = (seconds * (1000 / scale) as f64).round() as i64;
        DateTime::from_timestamp_millis(millis)
            .map(|date| date.fixed_offset())
            .ok_or_else(|| "the Unix time is out of the supported range of dates".to_owned())
    };
    match pattern {
        Some(Pattern::Unix) => return unix(1),
        Some(Pattern::UnixMs) => return unix(1000),
        Some(Pattern::Strftime(_)) | None => {}
    }
    let Some(text) = value.as_str() else {
        let hint = match value {
            Value::Number(_) => " (for a Unix time, `parse` it with `format` `unix` or `unix_ms`)",
            _ => "",
        };
        return Err(format!(
            "expected a date string, found {}{hint}",
            kind_of(value)
        ));
    };
    match pattern {
        Some(Pattern::Strftime(items)) => with_pattern(text, items)
            .map_err(|error| format!("does not match the pattern: {error}")),
        _ => without_pattern(text).ok_or_else(|| {
            "not a date: expected RFC 3339 (`2024-03-01T10:00:00Z`, `2024-03-01`) or RFC 2822"
                .to_owned()
        }),
    }
}

/// Reads `text` with a strftime pattern: with an offset if the pattern has one, else as UTC;
/// a pattern without time of day gives midnight.
fn with_pattern(
    text: &str,
    items: &[FormatItem<'static>],
) -> chrono::ParseResult<DateTime<FixedOffset>> {
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, items.iter())?;
    if parsed.offset().is_some() || parsed.timestamp().is_some() {
        return parsed.to_datetime();
    }
    match parsed.to_naive_datetime_with_offset(0) {
        Ok(date) => Ok(date.and_utc().fixed_offset()),
        Err(error) => parsed
            .to_naive_date()
            .map(|date| date.and_time(NaiveTime::MIN).and_utc().fixed_offset())
            .map_err(|_| error),
    }
}

/// Reads `text` as RFC 3339 (relaxed: a space for `T`, no offset meaning UTC, date only meaning
/// midnight UTC) or RFC 2822.
fn without_pattern(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    text.parse::<DateTime<FixedOffset>>()
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|pattern| NaiveDateTime::parse_from_str(text, pattern).ok())
            .map(|date| date.and_utc().fixed_offset())
        })
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|date| date.and_time(NaiveTime::MIN).and_utc().fixed_offset())
        })
        .or_else(|| DateTime::parse_from_rfc2822(text).ok())
}

/// Writes a date with `pattern`, or as RFC 3339 without one.
fn render(date: &DateTime<FixedOffset>, pattern: Option<&Pattern>) -> Result<Value, String> {
    match pattern {
        None => Ok(rfc3339(date)),
        Some(Pattern::Unix) => Ok(Value::from(date.timestamp())),
        Some(Pattern::UnixMs) => Ok(Value::from(date.timestamp_millis())),
        Some(Pattern::Strftime(items)) => {
            let mut text = String::new();
            write!(text, "{}", date.format_with_items(items.iter()))
                .map_err(|_| format!("cannot write {date} with this pattern"))?;
            Ok(Value::String(text))
        }
    }
}

/// A date in RFC 3339, with as many fractional digits as it needs and `Z` for UTC.
fn rfc3339(date: &DateTime<FixedOffset>) -> Value {
    Value::String(date.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `date` shifted by `amount` `unit`s; `None` outside the supported range.
fn add(date: DateTime<FixedOffset>, amount: i64, unit: Unit) -> Option<DateTime<FixedOffset>> {
    let months = |months: i64| {
        let magnitude = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
        if months < 0 {
            date.checked_sub_months(magnitude)
        } else {
            date.checked_add_months(magnitude)
        }
    };
    let delta = match unit {
        Unit::Milliseconds => TimeDelta::try_milliseconds(amount),
        Unit::Seconds => TimeDelta::try_seconds(amount),
        Unit::Minutes => TimeDelta::try_minutes(amount),
        Unit::Hours => TimeDelta::try_hours(amount),
        Unit::Days => TimeDelta::try_days(amount),
        Unit::Weeks => TimeDelta::try_weeks(amount),
        Unit::Months => return months(amount),
        Unit::Years => return months(amount.checked_mul(12)?),
    };
    date.checked_add_signed(delta?)
}
