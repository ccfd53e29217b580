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
}

/// The parameters, checked: one workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ExecuteWorkflowParams")]
struct ExecuteWorkflowSpec(WorkflowSource);

schema_of_params!(ExecuteWorkflowSpec => ExecuteWorkflowParams);

impl TryFrom<ExecuteWorkflowParams> for ExecuteWorkflowSpec {
    type Error = &'static str;

    fn try_from(params: ExecuteWorkflowParams) -> Result<Self, Self::Error> {
        match (params.workflow_id, params.workflow) {
            (Some(id), None) if !id.is_empty() => Ok(Self(WorkflowSource::Stored(id))),
            (Some(_), None) => Err("`workflow_id` cannot be empty"),
            (None, Some(workflow)) => Ok(Self(WorkflowSource::Inline(workflow))),
            (None, None) => Err("give the workflow to run: `workflow_id` or `workflow`"),
            (Some(_), Some(_)) => Err("give `workflow_id` or `workflow`, not both"),
        }
    }
}

/// Runs another workflow with all of this node's items as its input, waits for it to end
/// (durably: the node parks while the sub-workflow waits or runs on in a later invocation),
/// and outputs its end items. The sub-workflow failing fails this node with its error.
#[node(kind = "core.execute_workflow", nonblocking)]
async fn execute_workflow(
    Params(spec): Params<ExecuteWorkflowSpec>,
    Items(items): Items<Value>,
    ctx: Ctx,
) -> Result<Vec<Value>, NodeError> {
    let input = items.into_iter().map(ItemData::new).collect();
    let output = ctx.run_workflow(spec.0, input).await?;
    Ok(output.into_iter().map(|item| item.json).collect())
}
