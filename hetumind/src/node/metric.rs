//! Metrics a node reports about its own work ([`Ctx::metric`](super::Ctx::metric)).

use super::NodeError;

/// The longest metric name CloudWatch takes.
const MAX_NAME_CHARS: usize = 255;

/// Names a node's metric may not take: the keys the function's metric lines use themselves.
const RESERVED: [&str; 3] = ["_aws", "FunctionName", "Workflow"];

/// One value a node reported about its work: under Lambda, published with the function's own
/// metrics (namespace `Hetumind`, dimensions `FunctionName` and `FunctionName, Workflow`).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The metric's name.
    pub name: String,
    /// The value: finite.
    pub value: f64,
    /// Its unit.
    pub unit: MetricUnit,
}

/// The unit of a [`Metric`], as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MetricUnit {
    /// A number of things.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
    /// A duration in seconds.
    Seconds,
    /// A size in bytes.
    Bytes,
    /// A percentage.
    Percent,
    /// No unit.
    None,
}

impl MetricUnit {
    /// The unit's name in CloudWatch.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
            Self::Seconds => "Seconds",
            Self::Bytes => "Bytes",
            Self::Percent => "Percent",
            Self::None => "None",
        }
    }
}

impl Metric {
    /// `value` in `unit`, named `name`.
    ///
    /// # Errors
    ///
    /// A terminal error when the name is empty, longer than 255 characters, starts or ends
    /// with whitespace, or is one the function's metric lines use themselves (`_aws`,
    /// `FunctionName`, `Workflow`), or when the value is not finite.
    pub fn new(name: &str, value: f64, unit: MetricUnit) -> Result<Self, NodeError> {
        let problem = if name.is_empty() {
            Some("is empty")
        } else if name.chars().count() > MAX_NAME_CHARS {
            Some("is longer than 255 characters")
        } else if name.trim() != name {
            Some("starts or ends with whitespace")
        } else if RESERVED.contains(&name) {
            Some("is one the function's own metric lines use")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(NodeError::terminal(format!(
                "metric name {name:?} {problem}"
            )));
        }
        if !value.is_finite() {
            return Err(NodeError::terminal(format!(
                "metric `{name}` has the value {value}: a metric's value must be finite"
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            value,
            unit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_checked() {
        assert!(Metric::new("OrdersCharged", 3.0, MetricUnit::Count).is_ok());
        for (name, value) in [
            ("", 1.0),
            (" Padded", 1.0),
            ("Workflow", 1.0),
            ("_aws", 1.0),
            ("Fine", f64::NAN),
            ("Fine", f64::INFINITY),
        ] {
            assert!(
                Metric::new(name, value, MetricUnit::None).is_err(),
                "{name:?} {value}"
            );
        }
        assert!(Metric::new(&"x".repeat(256), 1.0, MetricUnit::None).is_err());
    }
}
