//! The configuration of a Lambda function, from its environment.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::engine::EngineOptions;

/// What the function reads from its environment at init.
#[derive(Debug, Clone)]
pub struct Config {
    /// The state store URL (`HETUMIND_STATE`).
    pub state: String,
    /// Which workflow each trigger starts (`HETUMIND_TRIGGERS`).
    pub triggers: BTreeMap<String, String>,
    /// Engine limits (`HETUMIND_SAFETY_MARGIN_MS`, `HETUMIND_LEASE_MS`).
    pub options: EngineOptions,
}

/// A configuration problem, naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Config {
    /// Reads the configuration through `var` (the process environment in production).
    ///
    /// # Errors
    ///
    /// When `HETUMIND_STATE` is missing or malformed (a Lambda function has no sensible local
    /// default: a silently ephemeral store would lose every execution), or another variable is
    /// malformed.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let state = var("HETUMIND_STATE").ok_or_else(|| ConfigError {
            variable: "HETUMIND_STATE",
            problem: "not set; name the state store, like `s3://my-bucket/hetumind`".to_owned(),
        })?;
        if let Err(error) = crate::store::open(&state) {
            return Err(ConfigError {
                variable: "HETUMIND_STATE",
                problem: error.to_string(),
            });
        }
        Ok(Self {
            state,
            triggers: Self::triggers(&var)?,
            options: Self::engine_options(&var)?,
        })
    }

    /// `HETUMIND_TRIGGERS`: which workflow each trigger starts (none when unset).
    ///
    /// # Errors
    ///
    /// When the variable is not a JSON object of strings.
    pub fn triggers(
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        match var("HETUMIND_TRIGGERS") {
            None => Ok(BTreeMap::new()),
            Some(text) => serde_json::from_str(&text).map_err(|error| ConfigError {
                variable: "HETUMIND_TRIGGERS",
                problem: format!(
                    "expected a JSON object of trigger -> workflow id, like {{\"http\": \"orders\"}}: {error}"
                ),
            }),
        }
    }

    /// Engine limits from `HETUMIND_SAFETY_MARGIN_MS` and `HETUMIND_LEASE_MS` (at least 1 ms),
    /// the defaults otherwise.
    ///
    /// # Errors
    ///
    /// When a variable is not a whole number of milliseconds.
    pub fn engine_options(
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<EngineOptions, ConfigError> {
        let mut options = EngineOptions::default();
        if let Some(ms) = millis(var, "HETUMIND_SAFETY_MARGIN_MS")? {
            options.safety_margin = ms;
        }
        if let Some(ms) = millis(var, "HETUMIND_LEASE_MS")? {
            options.lease = ms.max(Duration::from_millis(1));
        }
        Ok(options)
    }
}

fn millis(
    var: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<Duration>, ConfigError> {
    var(variable)
        .map(|text| {
            text.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| ConfigError {
                    variable,
                    problem: format!("`{text}` is not a whole number of milliseconds"),
                })
        })
        .transpose()
}
