//! Sub-workflows: an execution a node starts and waits for ([`Ctx::run_workflow`]). The child
//! runs in the invocation that runs the node, as far as its deadline allows; until it ends, the
//! node parks and the next invocation carries the child on, so whatever drives the parent
//! (the state machine, `run`, a test) drives the child too.
//!
//! [`Ctx::run_workflow`]: crate::Ctx::run_workflow

use std::fmt;

use chrono::{DateTime, Utc};

use super::{Created, Drive, Engine, EngineError, Origin};
use crate::model::{ItemData, NextAction, Workflow};
use crate::node::NodeError;
use crate::store::ExecutionKeys;

/// Which workflow a sub-workflow runs.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkflowSource {
    /// The stored workflow of this id (as it is when the child starts).
    Stored(String),
    /// This definition.
    Inline(Box<Workflow>),
}

/// What a node's run needs to start sub-workflows: the engine of its invocation, and how
/// deeply its execution is nested. Given to nodes by the engine; absent under
/// [`NodeTest`](crate::testing::NodeTest).
#[derive(Clone)]
pub struct SubWorkflows {
    engine: Engine,
    depth: u32,
}

impl fmt::Debug for SubWorkflows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubWorkflows")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

/// Where a child stands once this invocation has taken it as far as it can.
enum Stand {
    Completed(Vec<ItemData>),
    Failed(String),
    /// Carry on at this time (a wait of the child's, or now: the invocation ran out of time).
    Later(DateTime<Utc>),
}

impl SubWorkflows {
    pub(super) fn new(engine: &Engine, depth: u32) -> Self {
        Self {
            engine: engine.clone(),
            depth,
        }
    }

    /// Runs `source` with `input` as execution `execution_id` (started the first time, carried
    /// on after), as far as `deadline` allows, and answers its end items once it completed.
    ///
    /// # Errors
    ///
    /// A terminal error when it failed, cannot start (no such stored workflow, an invalid
    /// one, too deep) or is refused; a wait while it runs on; a retryable error when the store
    /// is unavailable.
    pub(crate) async fn run(
        &self,
        source: WorkflowSource,
        execution_id: String,
        input: Vec<ItemData>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Vec<ItemData>, NodeError> {
        let depth = self.depth + 1;
        let limit = self.engine.options.limits.workflow_depth;
        if depth > limit {
            return Err(NodeError::terminal(format!(
                "a sub-workflow here would run {depth} levels deep; the limit is {limit} (`workflow_depth`): does a workflow start itself?"
            )));
        }
        let stand = self
            .stand(source, &execution_id, input, depth, deadline)
            .await
            .map_err(|error| {
                let message = format!("sub-workflow execution `{execution_id}`: {error}");
                match error {
                    EngineError::StoreUnavailable(_) | EngineError::StateConflict(_) => {
                        NodeError::retryable(message)
                    }
                    _ => NodeError::terminal(message),
                }
            })?;
        match stand {
            Stand::Completed(items) => Ok(items),
            Stand::Failed(error) => Err(NodeError::terminal(format!(
                "sub-workflow execution `{execution_id}` failed: {error}"
            ))),
            Stand::Later(at) => Err(NodeError::wait_until(at)),
        }
    }

    async fn stand(
        &self,
        source: WorkflowSource,
        execution_id: &str,
        input: Vec<ItemData>,
        depth: u32,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Stand, EngineError> {
        let engine = &self.engine;
        let workflow = match source {
            WorkflowSource::Stored(id) => engine.stored_workflow(&id).await?,
            WorkflowSource::Inline(workflow) => *workflow,
        };
        let keys = ExecutionKeys::new(execution_id);
        let origin = Origin {
            error_of: None,
            depth,
        };
        let created = engine
            .create(&workflow, &keys, execution_id.to_owned(), &input, origin)
            .await;
        let first = match created {
            Ok((plan, Created::New(state, version))) => {
                super::run::Run::new(engine, &plan, keys, (*state, version), deadline)
                    .execute(super::run::Scope::Start { input }, serde_json::Map::new())
                    .await?
            }
            // Started by an earlier run of this attempt (with the same definition, or with the
            // stored workflow as it was then): carried on as it started.
            Ok((_, Created::Existing(_))) | Err(EngineError::ExecutionExists { .. }) => {
                engine
                    .advance(execution_id, None, serde_json::Map::new(), deadline)
                    .await?
            }
            Err(other) => return Err(other),
        };
        let driven = engine.drive_on(first, &Drive::until(deadline)).await?;
        let response = driven.response;
        Ok(match response.next_action {
            NextAction::Complete => Stand::Completed(match response.output_data {
                Some(items) => items,
                None => engine.final_output(execution_id).await?,
            }),
            NextAction::Failed { error } => Stand::Failed(error),
            NextAction::Wait { resume_at } => Stand::Later(resume_at),
            NextAction::Continue { .. } | NextAction::FanOut { .. } => {
                Stand::Later(engine.clock.now())
            }
        })
    }
}
