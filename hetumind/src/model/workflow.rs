//! Workflow definitions: their JSON format.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::NodeConnections;
use crate::retry::RetryPolicy;

/// A workflow: named nodes and the connections between them.
///
/// Unknown fields are rejected everywhere in this format, so that a misspelt setting is an
/// error instead of being silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The workflow's identifier, unique in a store.
    pub id: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Execution settings.
    #[serde(default)]
    pub settings: WorkflowSettings,
    /// The nodes; their names are unique and are their identity.
    pub nodes: Vec<NodeInstance>,
    /// Source node name -> port kind -> one list per source output index -> targets.
    #[serde(default)]
    pub connections: BTreeMap<String, NodeConnections>,
}

impl Workflow {
    /// The node instance named `name`.
    #[must_use]
    pub fn node(&self, name: &str) -> Option<&NodeInstance> {
        self.nodes.iter().find(|node| node.name == name)
    }

    /// The JSON Schema (draft 2020-12) of the workflow format.
    #[must_use]
    pub fn json_schema() -> schemars::Schema {
        schemars::schema_for!(Workflow)
    }
}

/// Settings that apply to a whole workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    /// How many nodes may run at the same time.
    #[serde(default = "WorkflowSettings::default_max_concurrency")]
    #[schemars(range(min = 1))]
    pub max_concurrency: u32,
    /// Where nodes run unless a node instance says otherwise: `inline` (the default) in the
    /// invocation that coordinates the execution, or `fan_out` each in an `execute_node`
    /// invocation of its own that the orchestrator starts in parallel.
    #[serde(default, skip_serializing_if = "Dispatch::is_default")]
    pub dispatch: Dispatch,
    /// The id of a stored workflow started, once, when an execution of this one fails: its one
    /// input item says which execution failed, at which node, and why. An execution started
    /// this way starts none when it fails itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_workflow: Option<String>,
}

impl WorkflowSettings {
    const fn default_max_concurrency() -> u32 {
        16
    }
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        Self {
            max_concurrency: Self::default_max_concurrency(),
            dispatch: Dispatch::default(),
            error_workflow: None,
        }
    }
}

/// One node of a workflow: which registered node runs, under which name, with which parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeInstance {
    /// The node's name, unique in its workflow.
    pub name: String,
    /// The registered kind, such as `core.if`.
    pub kind: String,
    /// The registered version; when absent the highest registered version is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub version: Option<u32>,
    /// The parameters, checked against the node's parameter schema.
    #[serde(default = "empty_object")]
    pub parameters: Value,
    /// Overrides of the node's default retry policy, field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryOverride>,
    /// How long one attempt may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// What a failure of this node does to the execution.
    #[serde(default, skip_serializing_if = "OnError::is_default")]
    pub on_error: OnError,
    /// Where this node runs, overriding the workflow's `settings.dispatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<Dispatch>,
    /// Under `fan_out` dispatch, split this node's input into batches of this many items, each
    /// run by an `execute_node` invocation of its own (each-item nodes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub batch_size: Option<u32>,
}

impl NodeInstance {
    /// The retry policy in force: the node's default with this instance's overrides applied.
    #[must_use]
    pub fn retry_policy(&self, default: &RetryPolicy) -> RetryPolicy {
        self.retry
            .as_ref()
            .map_or(*default, |overrides| overrides.apply(default))
    }

    /// The per-attempt timeout, when one is set.
    #[must_use]
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }
}

/// Where a node runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dispatch {
    /// In the invocation that coordinates the execution (`execute_workflow`,
    /// `resume_execution`).
    #[default]
    Inline,
    /// In an `execute_node` invocation of its own: the coordinating invocation answers with a
    /// `fan_out` action listing the tasks, which the orchestrator runs in parallel.
    FanOut,
}

impl Dispatch {
    fn is_default(&self) -> bool {
        *self == Self::Inline
    }
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// A connection target: an input of another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connection {
    /// The target node's name (also accepted as `node_name`).
    #[serde(alias = "node_name")]
    pub node: String,
    /// The target input kind; `main` for data.
    #[serde(default = "main_kind")]
    pub kind: String,
    /// The target input index.
    #[serde(default)]
    pub index: u32,
}

// Written by hand because the schema must accept the `node_name` spelling the parser accepts
// (schemars does not describe serde aliases): exactly one of `node` and `node_name`.
impl JsonSchema for Connection {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Connection".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let name =
            serde_json::json!({ "type": "string", "description": "The target node's name." });
        schemars::json_schema!({
            "description": "A connection target: an input of another node.",
            "type": "object",
            "properties": {
                "node": name,
                "node_name": name,
                "kind": { "type": "string", "default": "main", "description": "The target input kind; `main` for data." },
                "index": { "type": "integer", "format": "uint32", "minimum": 0, "default": 0, "description": "The target input index." }
            },
            "oneOf": [ { "required": ["node"] }, { "required": ["node_name"] } ],
            "additionalProperties": false
        })
    }
}

fn main_kind() -> String {
    "main".to_owned()
}

/// What a failing node does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The execution fails.
    #[default]
    Stop,
    /// The failed item passes on with an `error` field.
    Continue,
    /// Failed items go to an extra output named `error`.
    ErrorOutput,
}

impl OnError {
    fn is_default(&self) -> bool {
        *self == Self::Stop
    }
}

/// Field-by-field overrides of a node's default [`RetryPolicy`], as written in a workflow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryOverride {
    /// Attempts in all, the first included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_attempts: Option<u32>,
    /// The delay before the first retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_interval_ms: Option<u64>,
    /// The factor each delay grows by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_rate: Option<f64>,
    /// The cap on any delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_interval_ms: Option<u64>,
    /// How delays are randomised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<crate::retry::Jitter>,
}

impl RetryOverride {
    /// `default` with every field set here replaced.
    #[must_use]
    pub fn apply(&self, default: &RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(default.max_attempts),
            initial_interval: self
                .initial_interval_ms
                .map_or(default.initial_interval, Duration::from_millis),
            backoff_rate: self.backoff_rate.unwrap_or(default.backoff_rate),
            max_interval: self
                .max_interval_ms
                .map_or(default.max_interval, Duration::from_millis),
            jitter: self.jitter.unwrap_or(default.jitter),
        }
    }
}
