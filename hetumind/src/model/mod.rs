//! The data model: workflows, items and execution state, with their JSON formats.

mod execution;
mod item;
mod request;
mod webhook;
mod workflow;

pub use execution::{ExecutionState, ExecutionStatus, Lease, NodeState};
pub use item::{BinaryRef, ItemData, ItemSource};
pub use request::{
    ExecuteNode, ExecuteWorkflow, NextAction, Request, Response, ResumeExecution, ceil_to_second,
};
pub use webhook::WebhookResponse;
pub use workflow::{Connection, NodeInstance, OnError, RetryOverride, Workflow, WorkflowSettings};
