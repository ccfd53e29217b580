//! What an invocation is asked to do, and what it answers.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{ExecutionStatus, ItemData, Workflow};
use crate::json_path::from_value;

/// A request to the engine, as sent by a direct invoke, Step Functions or the CLI: an object
/// whose `request_type` says which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request_type", rename_all = "snake_case")]
pub enum Request {
    /// Start a new execution of a stored or inline workflow.
    ExecuteWorkflow(ExecuteWorkflow),
    /// Continue an execution; optionally deliver items to a waiting node, which then resumes.
    ResumeExecution(ResumeExecution),
    /// Run one ready node of an execution, for fan-out by an outside orchestrator.
    ExecuteNode(ExecuteNode),
}

/// Start a new execution of a stored or inline workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteWorkflow {
    /// The stored workflow to run (`workflows/{id}.json`), unless `workflow` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_id: Option<String>,
    /// An inline workflow definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Box<Workflow>>,
    /// The execution's identifier; a UUID v7 is generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The items the start nodes receive; one empty item when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data: Option<Vec<ItemData>>,
    /// What started the execution, as its records keep it (the execution index, `executions
    /// list`): the function's triggers say `http`, `schedule`, `event` or `sqs`, the CLI's
    /// `run` says `cli`; a caller may give its own label. `request` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// Free-form metadata, echoed in the response.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// Continue an execution; optionally deliver items to a waiting node, which then resumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeExecution {
    /// The execution to continue.
    pub execution_id: String,
    /// A waiting node to resume now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<String>,
    /// Items for that node, replacing its input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data: Option<Vec<ItemData>>,
    /// The task token of the orchestrator run sending this request (Step Functions'
    /// `$$.Task.Token` in a `.waitForTaskToken` task): kept with the execution when the
    /// invocation leaves it waiting for a signal, and handed back (see
    /// [`Response::task_tokens`]) to be completed with the answer otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_token: Option<String>,
    /// Free-form metadata, echoed in the response.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

/// Run one ready node of an execution, for fan-out by an outside orchestrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecuteNode {
    /// The execution.
    pub execution_id: String,
    /// The node to run.
    pub node_name: String,
    /// Which batch of the node's input to run, for a node with a `batch_size`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<Batch>,
    /// The task's specification, as a `fan_out` task carries it (see [`Task::spec`]): passed
    /// on as it is, it spares the worker a store read. `null` or absent: the worker reads it
    /// from the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<Value>,
    /// Items replacing the node's input, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_data: Option<Vec<ItemData>>,
    /// Free-form metadata, echoed in the response.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
}

impl Request {
    /// Continue `execution_id` with nothing delivered: what an orchestrator sends after
    /// `continue`, or once a `wait` is over.
    #[must_use]
    pub fn resume(execution_id: impl Into<String>) -> Self {
        Self::ResumeExecution(ResumeExecution {
            execution_id: execution_id.into(),
            node_name: None,
            input_data: None,
            task_token: None,
            metadata: Map::new(),
        })
    }

    /// Reads a request from JSON. Unlike plain deserialization (which buffers an internally
    /// tagged object and forgets where a problem was), the error names the JSON path of the
    /// bad field, such as `input_data[0].json`.
    ///
    /// # Errors
    ///
    /// When `value` is not a request.
    pub fn from_json(mut value: Value) -> Result<Self, String> {
        let tag = match value
            .as_object_mut()
            .map(|fields| fields.remove("request_type"))
        {
            None => return Err("a request must be a JSON object".to_owned()),
            Some(None) => return Err("at `request_type`: missing field".to_owned()),
            Some(Some(Value::String(tag))) => tag,
            Some(Some(other)) => {
                return Err(format!(
                    "at `request_type`: expected a string, found {other}"
                ));
            }
        };
        match tag.as_str() {
            "execute_workflow" => from_value(value).map(Self::ExecuteWorkflow),
            "resume_execution" => from_value(value).map(Self::ResumeExecution),
            "execute_node" => from_value(value).map(Self::ExecuteNode),
            other => Err(format!(
                "at `request_type`: unknown request type `{other}`; expected `execute_workflow`, `resume_execution` or `execute_node`"
            )),
        }
    }
}

/// The engine's answer: small, never the whole state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the execution has not failed.
    pub success: bool,
    /// The execution's identifier.
    pub execution_id: String,
    /// Where the execution stands.
    pub status: ExecutionStatus,
    /// What the caller should do next.
    pub next_action: NextAction,
    /// The store key of the execution's state.
    pub state_key: String,
    /// The items of the workflow's end nodes, when the execution completed and they are
    /// small enough to inline (see `output_ref` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_data: Option<Vec<ItemData>>,
    /// Where the end nodes' items are when the execution completed but they were too big to
    /// inline: `output_data` is then absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_ref: Option<OutputRef>,
    /// Why the execution failed.
    pub error: Option<String>,
    /// The request's metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// The error workflow this failed execution started (its workflow's
    /// `settings.error_workflow`), for the driver to carry on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_workflow: Option<ErrorWorkflowStart>,
    /// Task tokens of orchestrator runs to complete with this answer (Step Functions'
    /// `SendTaskSuccess`, as the Lambda handler does): the run that waited for a signal this
    /// invocation delivered, or the request's own token when the execution no longer waits for
    /// a signal. Not part of the answer's JSON.
    #[serde(skip)]
    pub task_tokens: Vec<String>,
}

/// The error workflow a failed execution started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorWorkflowStart {
    /// The error workflow's id.
    pub workflow_id: String,
    /// Its execution (`{failed execution id}.error`), started with the failure as its one input
    /// item; absent when it could not start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// Why it could not start: the workflow is not stored or is invalid, or the store failed.
    /// Resuming the failed execution tries again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The output of a completed execution left in the store because it is too big to inline in a
/// response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRef {
    /// How many items the end nodes produced.
    pub item_count: usize,
    /// Their size, in bytes of stored JSON.
    pub bytes: usize,
    /// Where each end node's stored output is, as full locations with the store's own prefix
    /// (`s3://bucket/prefix/executions/{id}/nodes/{node}/{attempt}.json`, `file:///dir/...`).
    /// Each holds one list of items per output of its node.
    pub locations: Vec<String>,
}

/// What the caller of an invocation should do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextAction {
    /// Invoke again (resume) right away: the budget ran out with nodes ready.
    Continue {
        /// The nodes ready to run.
        next_nodes: Vec<String>,
    },
    /// Invoke again (resume) at `resume_at`.
    Wait {
        /// When, in RFC 3339 UTC with whole seconds (`2026-11-28T12:00:00Z`), as the Step
        /// Functions Wait state requires; rounded up so that a resume is never early (a time
        /// past `9999-12-31T23:59:59Z` is written as that one: see [`ceil_to_second`]).
        #[serde(serialize_with = "whole_seconds")]
        resume_at: DateTime<Utc>,
    },
    /// The execution succeeded.
    Complete,
    /// The execution failed.
    Failed {
        /// Why.
        error: String,
    },
    /// Nothing runs until a signal (a `resume_execution` request naming one of `nodes`), or
    /// until `resume_at` when a wait ends then: an orchestrator pauses on a callback (a Step
    /// Functions `.waitForTaskToken` task resuming with `task_token`) rather than polling.
    AwaitSignal {
        /// The nodes waiting for a signal.
        nodes: Vec<String>,
        /// When to resume anyway (a signal's timeout, another node's wait), in the format of
        /// `wait`'s; absent when only a signal moves the execution on.
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            serialize_with = "whole_seconds_opt"
        )]
        resume_at: Option<DateTime<Utc>>,
        /// The seconds until `resume_at` (at least 1, at most 24 days, 2,073,600; also without
        /// `resume_at`): a task's `TimeoutSecondsPath`, after which the loop resumes.
        timeout_seconds: u64,
    },
    /// Run every task, in parallel, as an `execute_node` request of this execution (the task's
    /// fields with `request_type` and `execution_id` added), then resume. A long list comes a
    /// part at a time: the next part with the next resume.
    FanOut {
        /// The tasks.
        tasks: Vec<Task>,
    },
}

impl NextAction {
    /// Waiting for a signal to one of `nodes`, or until `resume_at` (at `now`).
    #[must_use]
    pub fn await_signal(
        nodes: Vec<String>,
        resume_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        let timeout_seconds = resume_at.map_or(MAX_TASK_SECONDS, |at| {
            let seconds = (ceil_to_second(at) - now).num_seconds();
            u64::try_from(seconds)
                .unwrap_or(0)
                .clamp(1, MAX_TASK_SECONDS)
        });
        Self::AwaitSignal {
            nodes,
            resume_at,
            timeout_seconds,
        }
    }
}

/// The longest an `await_signal` task waits before its loop resumes (and, if nothing changed,
/// pauses again): 24 days, the longest timer Node.js holds, so that the local interpreter the
/// tests run the state machine in keeps it as Step Functions does (which allows more). A wait
/// with no time limit costs one invocation every 24 days.
const MAX_TASK_SECONDS: u64 = 24 * 24 * 60 * 60;

/// One task of a `fan_out` action: the fields of an `execute_node` request after
/// `execution_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The node to run.
    pub node_name: String,
    /// Which batch of its input, for a node with a `batch_size`; `null` otherwise (always
    /// written, so that a state machine can pass it on as it is).
    #[serde(default)]
    pub batch: Option<Batch>,
    /// What the worker needs to run the task (the node's definition and its input), when it
    /// is small enough to travel with the task; `null` when the coordinator stored it instead.
    /// Opaque: pass it on as it is, as the `execute_node` request's `spec`. Always written, like
    /// `batch`.
    #[serde(default)]
    pub spec: Option<Value>,
}

/// One batch of a node's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Which batch, from 0.
    pub index: u32,
    /// How many batches the input makes.
    pub count: u32,
}

/// `at` rounded up to the next whole second, and at most `9999-12-31T23:59:59Z`, the latest
/// time RFC 3339 writes: a later resume time (a wait of a million years) is answered as that
/// one, at which the execution, resumed early, answers `wait` again. Never panics, whatever
/// the time.
#[must_use]
pub fn ceil_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = at.trunc_subsecs(0);
    let ceiling = if floor == at {
        at
    } else {
        floor
            .checked_add_signed(TimeDelta::seconds(1))
            .unwrap_or(floor)
    };
    ceiling.min(latest_rfc3339())
}

/// `9999-12-31T23:59:59Z`, the latest time RFC 3339 writes: the `resume_at` of a node that
/// waits for a signal without a timeout.
#[must_use]
pub fn latest_rfc3339() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes a reference
fn whole_seconds_opt<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => whole_seconds(at, serializer),
        None => serializer.serialize_none(),
    }
}

fn whole_seconds<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&ceil_to_second(*at).format("%Y-%m-%dT%H:%M:%SZ"))
}
