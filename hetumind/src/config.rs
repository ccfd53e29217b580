//! The configuration of a `lambda_main!()` binary, from its environment: one definition of
//! every variable, read by the Lambda side at init and by the command line alike.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::Limits;
use crate::engine::EngineOptions;
use crate::index::ExecutionIndex;
use crate::secrets::Secrets;
use crate::store::StateStore;

/// The environment variable naming the state store.
pub const STATE_VAR: &str = "HETUMIND_STATE";
/// The state store the command line uses when none is named.
pub const DEFAULT_STATE: &str = "file://./.hetumind";

/// The variable naming the Step Functions state machine that drives the executions triggers
/// start, when they do not finish within their invocation.
pub const STATE_MACHINE_VAR: &str = "HETUMIND_STATE_MACHINE_ARN";

/// The variable naming the execution index (see [`crate::index`]): a `postgres://` URL.
pub const INDEX_VAR: &str = "HETUMIND_INDEX";

/// The variable setting the [`Limits`] on workflows, items, requests and JSON.
pub const LIMITS_VAR: &str = "HETUMIND_LIMITS";

/// What the function reads from its environment at init.
///
/// | variable | meaning |
/// |---|---|
/// | `HETUMIND_STATE` | the state store URL; required under Lambda, [`DEFAULT_STATE`] on the command line |
/// | `HETUMIND_TRIGGERS` | a JSON object: which workflow each trigger starts, like `{"http": "orders", "sqs:jobs": "jobs"}` |
/// | `HETUMIND_CALLER_WORKFLOWS` | the workflow ids a caller may name itself (comma-separated; `*`: any stored workflow); unset: none |
/// | `HETUMIND_REDACT_HEADERS` | the request headers whose values are redacted (comma-separated; `default` stands for [`DEFAULT_REDACTED_HEADERS`]); unset: the default list |
/// | `HETUMIND_SAFETY_MARGIN_MS`, `HETUMIND_LEASE_MS` | engine limits |
/// | `HETUMIND_LIMITS` | a JSON object of [`Limits`], like `{"workflow_nodes": 500}`; the limits it leaves out keep their defaults |
/// | `HETUMIND_STATE_MACHINE_ARN` | the state machine that drives executions triggers start |
/// | `HETUMIND_INDEX` | the execution index, a `postgres://user:password@host/database` URL (see [`crate::index`]); unset: none |
/// | `HETUMIND_SECRETS`, `HETUMIND_SECRETS_FILE`, `HETUMIND_SECRETS_PREFIX`, `HETUMIND_SECRETS_TTL_MS` | where `secret("name")` reads (see [`crate::secrets`]); unset: the environment variable `HETUMIND_SECRET_<NAME>` |
/// | `HETUMIND_PUBLIC_URL` | the function's public base URL (its Function URL or API stage), the base of the resume addresses `resume_url("Node")` gives (see [`crate::resume`]); unset: they are paths alone |
/// | `HETUMIND_HTTP_ALLOW` | read by `core.http_request` (`hetumind-nodes`): the non-public destinations it may reach |
///
/// A caller names a workflow with an HTTP path parameter `workflow_id`, a path
/// `.../workflows/{id}` or `?workflow=ID`, an EventBridge event's `detail.workflow_id`, or an
/// SQS message body's `workflow_id`. The operator decides: a name listed in
/// `HETUMIND_CALLER_WORKFLOWS` is honoured; any other is ignored when `HETUMIND_TRIGGERS` maps
/// the trigger, and refused otherwise, so no caller starts a workflow the operator did not
/// choose.
#[derive(Debug, Clone)]
pub struct Config {
    /// The state store URL (`HETUMIND_STATE`).
    pub state: String,
    /// The store it names, opened once (no network before its first use).
    pub store: Arc<dyn StateStore>,
    /// Which workflow each trigger starts, and what callers may choose and see.
    pub triggers: Triggers,
    /// Engine limits (`HETUMIND_SAFETY_MARGIN_MS`, `HETUMIND_LEASE_MS`, `HETUMIND_LIMITS`).
    pub options: EngineOptions,
    /// The ARN of the state machine executions that triggers start are handed to
    /// (`HETUMIND_STATE_MACHINE_ARN`), if any.
    pub state_machine: Option<String>,
    /// Where `secret("name")` in an expression reads from (`HETUMIND_SECRETS` and the
    /// variables [`Secrets::from_env`] lists).
    pub secrets: Arc<Secrets>,
    /// The execution index `HETUMIND_INDEX` names, if any (not connected yet).
    pub index: Option<Arc<dyn ExecutionIndex>>,
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
        let state = var(STATE_VAR).ok_or_else(|| ConfigError {
            variable: STATE_VAR,
            problem: "not set; name the state store, like `s3://my-bucket/hetumind`".to_owned(),
        })?;
        Ok(Self {
            store: open_store(&state)?,
            state,
            triggers: Self::triggers(&var)?,
            options: Self::engine_options(&var)?,
            state_machine: Self::state_machine(&var)?,
            secrets: Arc::new(Secrets::from_env(&var)?),
            index: Self::index(&var)?,
        })
    }

    /// The execution index `HETUMIND_INDEX` names, if set; nothing connects before its first
    /// use.
    ///
    /// # Errors
    ///
    /// When it is not a PostgreSQL URL, or this build lacks the `postgres` feature.
    pub fn index(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Arc<dyn ExecutionIndex>>, ConfigError> {
        let Some(url) = var(INDEX_VAR).filter(|url| !url.trim().is_empty()) else {
            return Ok(None);
        };
        crate::index::from_url(url.trim())
            .map(Some)
            .map_err(|error| ConfigError {
                variable: INDEX_VAR,
                problem: error.to_string(),
            })
    }

    /// The ARN of the state machine `HETUMIND_STATE_MACHINE_ARN` names, if set.
    ///
    /// # Errors
    ///
    /// When it is not a state machine ARN, or this build cannot start one (it lacks the
    /// `step-functions` feature).
    pub fn state_machine(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, ConfigError> {
        let Some(arn) = var(STATE_MACHINE_VAR).filter(|arn| !arn.trim().is_empty()) else {
            return Ok(None);
        };
        let arn = arn.trim().to_owned();
        let problem = if !is_state_machine_arn(&arn) {
            Some(format!(
                "`{arn}` is not a state machine ARN, like `arn:aws:states:eu-west-1:123456789012:stateMachine:hetumind`"
            ))
        } else if cfg!(not(feature = "step-functions")) {
            Some("this build lacks hetumind's `step-functions` feature, which hands executions to a state machine".to_owned())
        } else {
            None
        };
        match problem {
            Some(problem) => Err(ConfigError {
                variable: STATE_MACHINE_VAR,
                problem,
            }),
            None => Ok(Some(arn)),
        }
    }

    /// The trigger settings: `HETUMIND_TRIGGERS` (which workflow each trigger starts; none
    /// when unset), `HETUMIND_CALLER_WORKFLOWS` and `HETUMIND_REDACT_HEADERS`.
    ///
    /// # Errors
    ///
    /// When `HETUMIND_TRIGGERS` is not a JSON object of strings, or a name listed in the
    /// other two is empty or not a valid header name.
    pub fn triggers(var: &impl Fn(&str) -> Option<String>) -> Result<Triggers, ConfigError> {
        let workflows = match var("HETUMIND_TRIGGERS") {
            None => BTreeMap::new(),
            Some(text) => serde_json::from_str(&text).map_err(|error| ConfigError {
                variable: "HETUMIND_TRIGGERS",
                problem: format!(
                    "expected a JSON object of trigger -> workflow id, like {{\"http\": \"orders\"}}: {error}"
                ),
            })?,
        };
        let caller_workflows = match var("HETUMIND_CALLER_WORKFLOWS") {
            None => CallerWorkflows::None,
            Some(text) if text.trim() == "*" => CallerWorkflows::Any,
            Some(text) => CallerWorkflows::Listed(list(&text, "HETUMIND_CALLER_WORKFLOWS")?),
        };
        let redacted_headers = match var("HETUMIND_REDACT_HEADERS") {
            None => default_redacted_headers(),
            Some(text) => {
                let mut names = BTreeSet::new();
                for name in list(&text, "HETUMIND_REDACT_HEADERS")? {
                    if name.eq_ignore_ascii_case("default") {
                        names.extend(default_redacted_headers());
                    } else if aws_lambda_events::http::HeaderName::try_from(name.as_str()).is_ok() {
                        names.insert(name.to_ascii_lowercase());
                    } else {
                        return Err(ConfigError {
                            variable: "HETUMIND_REDACT_HEADERS",
                            problem: format!("`{name}` is not a valid header name"),
                        });
                    }
                }
                names
            }
        };
        Ok(Triggers {
            workflows,
            caller_workflows,
            redacted_headers,
        })
    }

    /// Engine limits from `HETUMIND_SAFETY_MARGIN_MS` and `HETUMIND_LEASE_MS` (at least 1 ms)
    /// and `HETUMIND_LIMITS`, and the base of resume addresses from `HETUMIND_PUBLIC_URL`; the
    /// defaults otherwise.
    ///
    /// # Errors
    ///
    /// When a time is not a whole number of milliseconds, or `HETUMIND_LIMITS` is not an
    /// object of known limits, or sets one that cannot be.
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
        if let Some(text) = var(LIMITS_VAR) {
            let problem = |problem| ConfigError {
                variable: LIMITS_VAR,
                problem,
            };
            let limits: Limits = crate::json_path::from_slice(text.as_bytes()).map_err(problem)?;
            limits.validate().map_err(problem)?;
            options.limits = limits;
        }
        if let Some(url) = var("HETUMIND_PUBLIC_URL").filter(|url| !url.is_empty()) {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError {
                    variable: "HETUMIND_PUBLIC_URL",
                    problem: format!("must be an http:// or https:// URL, not `{url}`"),
                });
            }
            options.public_url = Arc::from(url.trim_end_matches('/'));
        }
        Ok(options)
    }
}

/// Opens the store `url` names; the error names `HETUMIND_STATE`.
///
/// # Errors
///
/// When the URL is malformed or names a store this binary was built without.
pub fn open_store(url: &str) -> Result<Arc<dyn StateStore>, ConfigError> {
    crate::store::open(url).map_err(|error| ConfigError {
        variable: STATE_VAR,
        problem: error.to_string(),
    })
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

/// The request headers redacted when `HETUMIND_REDACT_HEADERS` is unset: credentials and
/// session tokens.
pub const DEFAULT_REDACTED_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-amz-security-token",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
];

fn default_redacted_headers() -> BTreeSet<String> {
    DEFAULT_REDACTED_HEADERS
        .iter()
        .map(|name| (*name).to_owned())
        .collect()
}

/// Which workflow each trigger starts, which workflows a caller may name, and which request
/// headers are redacted (see [`Config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triggers {
    /// Trigger name -> workflow id (`HETUMIND_TRIGGERS`): `http`, `schedule:RULE`,
    /// `schedule`, `event:SOURCE:DETAIL-TYPE`, `event:SOURCE`, `event`, `sqs:QUEUE`, `sqs`.
    pub workflows: BTreeMap<String, String>,
    /// The workflows a caller may name itself (`HETUMIND_CALLER_WORKFLOWS`).
    pub caller_workflows: CallerWorkflows,
    /// Lowercase names of the request headers whose values are replaced by
    /// [`REDACTED`](Triggers::REDACTED) before anything is stored or answered
    /// (`HETUMIND_REDACT_HEADERS`).
    pub redacted_headers: BTreeSet<String>,
}

impl Triggers {
    /// What a redacted header's value becomes: the header stays, so a workflow can tell it
    /// was sent.
    pub const REDACTED: &'static str = "[redacted]";
}

/// No mapping, no caller choice, the default redacted headers.
impl Default for Triggers {
    fn default() -> Self {
        Self {
            workflows: BTreeMap::new(),
            caller_workflows: CallerWorkflows::None,
            redacted_headers: default_redacted_headers(),
        }
    }
}

/// The workflows a caller may name itself (`HETUMIND_CALLER_WORKFLOWS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CallerWorkflows {
    /// None (the variable unset): only `HETUMIND_TRIGGERS` decides.
    #[default]
    None,
    /// These ids (`orders,refunds`).
    Listed(BTreeSet<String>),
    /// Any stored workflow (`*`): for development, or a function that trusts every caller.
    Any,
}

impl CallerWorkflows {
    /// Whether a caller may name `workflow_id`.
    #[must_use]
    pub fn allows(&self, workflow_id: &str) -> bool {
        match self {
            Self::None => false,
            Self::Listed(ids) => ids.contains(workflow_id),
            Self::Any => true,
        }
    }
}

/// The names of a comma-separated list, trimmed; an empty list is fine, an empty name is not.
fn list(text: &str, variable: &'static str) -> Result<BTreeSet<String>, ConfigError> {
    if text.trim().is_empty() {
        return Ok(BTreeSet::new());
    }
    text.split(',')
        .map(|name| {
            let name = name.trim();
            if name.is_empty() {
                Err(ConfigError {
                    variable,
                    problem: format!(
                        "`{text}` holds an empty name: separate names with single commas"
                    ),
                })
            } else {
                Ok(name.to_owned())
            }
        })
        .collect()
}

/// Whether `arn` is a state machine's ARN: `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME`.
fn is_state_machine_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "stateMachine"
        && !parts[6].is_empty()
}
