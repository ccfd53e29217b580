//! The data model: workflows, items and execution state, with their JSON formats.

mod connections;
mod execution;
mod item;
mod request;
mod webhook;
mod workflow;

pub use connections::NodeConnections;
pub use execution::{
    ExecutionState, ExecutionStatus, ExecutionTrace, InvocationRecord, Lease, NodeRunRecord,
    NodeState,
};
pub use item::{BinaryRef, ItemData, ItemSource};
pub use request::{
    Batch, ErrorWorkflowStart, ExecuteNode, ExecuteWorkflow, NextAction, OutputRef, Request,
    Response, ResumeExecution, Task, ceil_to_second, latest_rfc3339,
};
pub(crate) use webhook::AuthFailure;
pub use webhook::{
    ApiKeyAuth, HmacAuth, HttpMethod, HttpMethods, HttpRequest, HttpTriggerChecks,
    HttpTriggerOutput, SecretRef, WebhookAuth, WebhookResponse,
};
/// The longest node name, workflow id or execution id accepted, in characters (Unicode scalar
/// values); validation rejects longer ones, naming the field and this limit.
pub const MAX_NAME_CHARS: usize = 512;

pub use workflow::{
    Connection, Dispatch, NodeInstance, OnError, RetryOverride, Workflow, WorkflowSettings,
};
