//! `core.execute_workflow`.

use hetumind::engine::WorkflowSource;
use hetumind::model::{ItemData, Workflow};
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::params::schema_of_params;

/// The parameters of `core.execute_workflow`: exactly one of `workflow_id` and `workflow`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExecuteWorkflowParams {
    /// The id of a stored workflow (`workflows/{id}.json` in the state store), read when the
    /// sub-workflow starts.
    #[serde(default)]
    workflow_id: Option<String>,
    /// A workflow definition, inline.
    #[serde(default)]
    workflow: Option<Box<Workflow>>,
    /// `wait` (the default): wait for the sub-workflow to end and output its end items;
    /// `start`: start it and go on, outputting one item `{"execution_id", "status"}`.
    #[serde(default)]
    mode: Mode,
}

/// Whether `core.execute_workflow` waits for the sub-workflow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// Wait for it to end; output its end items.
    #[default]
    Wait,
    /// Start it and go on; output its execution id.
    Start,
}

/// The parameters, checked: one workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ExecuteWorkflowParams")]
struct ExecuteWorkflowSpec {
    source: WorkflowSource,
    mode: Mode,
}

schema_of_params!(ExecuteWorkflowSpec => ExecuteWorkflowParams);

impl TryFrom<ExecuteWorkflowParams> for ExecuteWorkflowSpec {
    type Error = &'static str;

    fn try_from(params: ExecuteWorkflowParams) -> Result<Self, Self::Error> {
        let source = match (params.workflow_id, params.workflow) {
            (Some(id), None) if !id.is_empty() => WorkflowSource::Stored(id),
            (Some(_), None) => return Err("`workflow_id` cannot be empty"),
            (None, Some(workflow)) => WorkflowSource::Inline(workflow),
            (None, None) => return Err("give the workflow to run: `workflow_id` or `workflow`"),
            (Some(_), Some(_)) => return Err("give `workflow_id` or `workflow`, not both"),
        };
        Ok(Self {
            source,
            mode: params.mode,
        })
    }
}

/// Runs another workflow with all of this node's items as its input. Under `wait`, waits for it
/// to end (durably: the node parks while the sub-workflow waits or runs on in a later
/// invocation) and outputs its end items; the sub-workflow failing fails this node with its
/// error. Under `start`, starts it and goes on with one item, its execution id and status.
#[node(kind = "core.execute_workflow", nonblocking)]
async fn execute_workflow(
    Params(spec): Params<ExecuteWorkflowSpec>,
    Items(items): Items<Value>,
    ctx: Ctx,
) -> Result<Vec<Value>, NodeError> {
    let input = items.into_iter().map(ItemData::new).collect();
    match spec.mode {
        Mode::Wait => {
            let output = ctx.run_workflow(spec.source, input).await?;
            Ok(output.into_iter().map(|item| item.json).collect())
        }
        Mode::Start => {
            let started = ctx.start_workflow(spec.source, input).await?;
            let item = serde_json::to_value(started).map_err(NodeError::terminal)?;
            Ok(vec![item])
        }
    }
}
