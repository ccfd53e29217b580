//! Execution state: what a store keeps about one run of a workflow.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The overall status of an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Nodes remain that can run now.
    Running,
    /// Nothing can run before a point in time (a wait or a retry delay).
    Waiting,
    /// Every node finished or was skipped.
    Success,
    /// A node failed and its `on_error` policy stopped the execution.
    Failed,
}

impl ExecutionStatus {
    /// Whether the execution has ended, successfully or not.
    #[must_use]
    pub const fn is_finished(self) -> bool {
        matches!(self, Self::Success | Self::Failed)
    }

    /// Its name, as JSON spells it: `running`, `waiting`, `success` or `failed`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Waiting => "waiting",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ExecutionStatus {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Self::Running, Self::Waiting, Self::Success, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| {
                format!("unknown status `{name}`: expected running, waiting, success or failed")
            })
    }
}

/// The header and per-node states of one execution.
///
/// The stored object (`state.json`) stays small whatever the size of the workflow: it holds
/// the states of the nodes in flight or failed only. A node's stored output is its success
/// record, and skips follow from those outputs; [`Engine::execution_state`] puts the whole
/// picture together.
///
/// [`Engine::execution_state`]: crate::engine::Engine::execution_state
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionState {
    /// The execution's identifier.
    pub execution_id: String,
    /// The identifier of the workflow it runs.
    pub workflow_id: String,
    /// The overall status.
    pub status: ExecutionStatus,
    /// What started it (see [`ExecuteWorkflow::trigger`](crate::model::ExecuteWorkflow::trigger));
    /// absent for a request that named nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// When the execution was created.
    pub created_at: DateTime<Utc>,
    /// When the state was last written.
    pub updated_at: DateTime<Utc>,
    /// Node states by node name: in the stored object, the nodes running, waiting or failed;
    /// from [`Engine::execution_state`](crate::engine::Engine::execution_state), every node that
    /// has left `pending`.
    #[serde(default)]
    pub nodes: BTreeMap<String, NodeState>,
    /// Nodes whose next run starts from stored progress (`progress/{node}.json`) rather than
    /// from what their inputs deliver: items a request gave them, or, while some of their items
    /// wait to be retried, the outputs of the others. Written only when such a node parks or is
    /// cut off by the deadline.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub progress: BTreeSet<String>,
    /// Why the execution failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The invocation advancing the execution now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<Lease>,
    /// The failed execution this one reports, when it was started as that execution's error
    /// workflow (see [`WorkflowSettings::error_workflow`](crate::model::WorkflowSettings::error_workflow)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_of: Option<String>,
    /// How deeply the execution is nested: 0 for one started by a request or a trigger, one
    /// more than its parent's for a sub-workflow's.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
    /// The execution's own secret, from which the token of each node's resume address is
    /// derived (see [`resume`](crate::resume)): random, made when the execution is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_key: Option<String>,
    /// The task token of the orchestrator run (a Step Functions `.waitForTaskToken` task)
    /// paused until a signal moves the execution on: the invocation that does completes it
    /// with its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    /// The OpenTelemetry trace every invocation advancing the execution puts its spans in,
    /// chosen when the execution is created; written by functions built with the `otel`
    /// feature only (see the guide, docs/observability.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<ExecutionTrace>,
}

/// The OpenTelemetry trace of an execution (see [`ExecutionState::trace`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecutionTrace {
    /// The trace id: 32 lowercase hexadecimal digits.
    pub trace_id: String,
    /// The span the execution's invocations are children of, 16 lowercase hexadecimal digits:
    /// the parent named by the `traceparent` in the `metadata` of the request that created the
    /// execution. Absent when the execution started a trace of its own (its invocations are
    /// then the trace's root spans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
const fn is_zero(depth: &u32) -> bool {
    *depth == 0
}

/// An invocation's hold on an execution: no other invocation advances it before `until`,
/// unless the holder releases it first. A holder that dies leaves the lease to expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    /// The holding invocation.
    pub owner: String,
    /// When the hold ends unless renewed.
    pub until: DateTime<Utc>,
}

/// Where one node of an execution stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeState {
    /// The node started an attempt that has not finished (or whose process died).
    Running {
        /// The attempt number, from 1.
        attempt: u32,
        /// When the attempt started.
        started_at: DateTime<Utc>,
    },
    /// The node asked to wait (for a time or for a signal), or waits for a retry.
    Waiting {
        /// The attempt that runs at `resume_at`.
        attempt: u32,
        /// When the node may run again: for a node waiting for a signal, when its wait times
        /// out (`9999-12-31T23:59:59Z` when it never does).
        resume_at: DateTime<Utc>,
        /// Whether the node waits for a signal: a `resume_execution` request naming it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        signal: bool,
        /// The error that caused a retry wait, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_error: Option<String>,
        /// When the node first started, for waits measured from it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started_at: Option<DateTime<Utc>>,
    },
    /// The node finished; its output is stored under `output_key`. (Not written to the state
    /// object: the stored output is the record, see [`ExecutionState::nodes`].)
    Success {
        /// The attempt that succeeded.
        attempt: u32,
        /// The store key of the node's output.
        output_key: String,
    },
    /// No input of the node carried items: a branch not taken. (Derived from the stored
    /// outputs, not written; a struct variant so that unknown fields are rejected like
    /// everywhere else.)
    Skipped {},
    /// The node failed for good.
    Failed {
        /// The last attempt.
        attempt: u32,
        /// What went wrong.
        error: String,
    },
}

/// One node run of an execution, as its history keeps it: each invocation that runs nodes
/// writes the runs it made to `executions/{id}/runs/{invocation}.json` (see
/// [`Engine::history`](crate::engine::Engine::history)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRunRecord {
    /// The node's name.
    pub node: String,
    /// The node's kind.
    pub kind: String,
    /// The attempt, from 1.
    pub attempt: u32,
    /// The batch of the node's input it ran on, for a node run in batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// How the run ended.
    pub outcome: crate::engine::NodeOutcome,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How long it ran, in milliseconds (retries slept in-process included).
    pub duration_ms: u64,
    /// The items it ran on.
    pub items_in: usize,
    /// The items it produced, over all its outputs, when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_out: Option<usize>,
    /// Why it failed, or the error it waits to retry, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one invocation writes to an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvocationRecord {
    /// The node runs it made, in the order they ended.
    pub runs: Vec<NodeRunRecord>,
}
