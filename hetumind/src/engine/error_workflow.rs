//! Error workflows: when an execution fails, the workflow its `settings.error_workflow` names
//! starts, once, with the failure as its one input item. The failed execution's invocation
//! only creates that execution; whoever drives executions (the state machine, `run`,
//! [`Engine::drive`]) carries it on.

use serde_json::json;

use super::{Engine, EngineError, Origin};
use crate::model::{ErrorWorkflowStart, ExecutionState, ItemData, MAX_NAME_CHARS, NodeState};
use crate::store::ExecutionKeys;

/// The suffix of an error workflow's execution id: `{failed execution id}.error`.
const SUFFIX: &str = ".error";

/// The id of the execution that reports the failure of execution `failed`: derived from it, so
/// that starting it again finds it started. An id too long to take the suffix is shortened,
/// with a digest of the whole id in place of its end.
pub(super) fn error_execution_id(failed: &str) -> String {
    if failed.chars().count() + SUFFIX.len() <= MAX_NAME_CHARS {
        return format!("{failed}{SUFFIX}");
    }
    use sha2::Digest;
    let digest = hex_prefix(&sha2::Sha256::digest(failed.as_bytes()));
    let kept: String = failed
        .chars()
        .take(MAX_NAME_CHARS - SUFFIX.len() - digest.len() - 1)
        .collect();
    format!("{kept}~{digest}{SUFFIX}")
}

/// The first 16 bytes of `digest`, in hex.
fn hex_prefix(digest: &[u8]) -> String {
    digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The error workflow's one input item: which execution failed, running which workflow, at
/// which node, why, and when. Made of the stored state only, so that it is the same bytes
/// whenever it is made.
fn failure_item(state: &ExecutionState, workflow_name: &str) -> ItemData {
    let failed_node = state.nodes.iter().find_map(|(name, node)| match node {
        NodeState::Failed { attempt, .. } => Some(json!({ "name": name, "attempt": attempt })),
        _ => None,
    });
    ItemData::new(json!({
        "execution_id": state.execution_id,
        "workflow": { "id": state.workflow_id, "name": workflow_name },
        "failed_node": failed_node,
        "error": state.error,
        "started_at": state.created_at,
        "failed_at": state.updated_at,
    }))
}

impl Engine {
    /// Starts stored workflow `workflow_id` for the failed execution `state` (of the workflow
    /// named `workflow_name`), or finds it started. Never fails the failed execution's
    /// invocation: a start that cannot be made says why, and is logged.
    pub(super) async fn start_error_workflow(
        &self,
        workflow_id: &str,
        workflow_name: &str,
        state: &ExecutionState,
    ) -> ErrorWorkflowStart {
        let execution_id = error_execution_id(&state.execution_id);
        let started = self
            .create_error_execution(workflow_id, &execution_id, state, workflow_name)
            .await;
        match started {
            // Started before, if need be with another definition of the error workflow: the
            // first start stands.
            Ok(()) | Err(EngineError::ExecutionExists { .. }) => ErrorWorkflowStart {
                workflow_id: workflow_id.to_owned(),
                execution_id: Some(execution_id),
                error: None,
            },
            Err(error) => {
                tracing::error!(
                    execution_id = state.execution_id,
                    error_workflow = workflow_id,
                    "the error workflow did not start: {error}"
                );
                ErrorWorkflowStart {
                    workflow_id: workflow_id.to_owned(),
                    execution_id: None,
                    error: Some(error.to_string()),
                }
            }
        }
    }

    async fn create_error_execution(
        &self,
        workflow_id: &str,
        execution_id: &str,
        state: &ExecutionState,
        workflow_name: &str,
    ) -> Result<(), EngineError> {
        let workflow = self.stored_workflow(workflow_id).await?;
        let input = vec![failure_item(state, workflow_name)];
        let origin = Origin {
            error_of: Some(state.execution_id.clone()),
            depth: state.depth,
            trigger: Some("error_workflow".to_owned()),
            ..Origin::default()
        };
        let keys = ExecutionKeys::new(execution_id);
        // Created or found: either way it exists, for its driver.
        self.create(&workflow, &keys, execution_id.to_owned(), &input, origin)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_execution_id_derives_from_the_failed_one_within_the_limit() {
        assert_eq!(error_execution_id("abc"), "abc.error");
        let long = "é".repeat(MAX_NAME_CHARS);
        let derived = error_execution_id(&long);
        assert_eq!(derived.chars().count(), MAX_NAME_CHARS);
        assert!(derived.ends_with(SUFFIX));
        let other = format!("{}x", "é".repeat(MAX_NAME_CHARS - 1));
        assert_ne!(error_execution_id(&other), derived);
    }
}
