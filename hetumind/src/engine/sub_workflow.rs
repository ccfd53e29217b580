//! Sub-workflows: an execution a node starts and waits for ([`Ctx::run_workflow`]). The child
//! runs in the invocation that runs the node, as far as its deadline allows; until it ends, the
//! node parks and the next invocation carries the child on, so whatever drives the parent
//! (the state machine, `run`, a test) drives the child too.
//!
//! [`Ctx::run_workflow`]: crate::Ctx::run_workflow

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Created, Drive, Engine, EngineError, Origin};
use crate::model::{ExecutionStatus, ItemData, NextAction, Workflow};
use crate::node::NodeError;
use crate::store::ExecutionKeys;
use crate::time::saturating_add;

/// How often a node whose sub-workflow waits for a signal looks in on it: the signal goes to
/// the child execution, which does not wake its parent.
const SIGNALLED_CHILD_POLL: std::time::Duration = std::time::Duration::from_secs(60);

/// Something that drives executions on, such as a Step Functions state machine: given to
/// [`Engine::with_launcher`], it takes the sub-workflows nodes start without waiting for them.
pub trait Launcher: Send + Sync + fmt::Debug {
    /// Has execution `execution_id` (created, not yet run) driven to its end. Called again for
    /// the same execution when the node that starts it runs again: launching one twice must
    /// start one driver.
    ///
    /// # Errors
    ///
    /// Why it could not: the node retries.
    fn launch<'a>(
        &'a self,
        execution_id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// A sub-workflow a node started without waiting for it ([`Ctx::start_workflow`]).
///
/// [`Ctx::start_workflow`]: crate::Ctx::start_workflow
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Started {
    /// Its execution.
    pub execution_id: String,
    /// Where it stands as the node goes on: `running` when a launcher drives it, else how far
    /// this invocation took it (`success`, `failed`, `waiting`, `running`).
    pub status: ExecutionStatus,
}

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
        let depth = self.check_depth()?;
        let stand = self
            .stand(source, &execution_id, input, depth, deadline)
            .await
            .map_err(|error| engine_error(&execution_id, &error))?;
        match stand {
            Stand::Completed(items) => Ok(items),
            Stand::Failed(error) => Err(NodeError::terminal(format!(
                "sub-workflow execution `{execution_id}` failed: {error}"
            ))),
            Stand::Later(at) => Err(NodeError::wait_until(at)),
        }
    }

    /// Starts `source` with `input` as execution `execution_id` (or finds it started) and
    /// hands it to the engine's launcher, or, without one, runs it as far as `deadline`
    /// allows; then answers where it stands.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), but never a wait: the node goes on.
    pub(crate) async fn start(
        &self,
        source: WorkflowSource,
        execution_id: String,
        input: Vec<ItemData>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Started, NodeError> {
        let depth = self.check_depth()?;
        let status = match &self.engine.launcher {
            None => {
                let status = self
                    .drive_here(source, &execution_id, input, depth, deadline)
                    .await
                    .map_err(|error| engine_error(&execution_id, &error))?
                    .status;
                if !status.is_finished() {
                    tracing::warn!(
                        execution_id,
                        "the sub-workflow waits for a driver (no launcher: see Engine::with_launcher); continue it with `resume {execution_id}`"
                    );
                }
                status
            }
            Some(launcher) => {
                match self.create(source, &execution_id, &input, depth).await {
                    // Created now or by an earlier run of this attempt.
                    Ok(_) | Err(EngineError::ExecutionExists { .. }) => {}
                    Err(error) => return Err(engine_error(&execution_id, &error)),
                }
                launcher.launch(&execution_id).await.map_err(|error| {
                    NodeError::retryable(format!(
                        "sub-workflow execution `{execution_id}`: cannot hand it on: {error}"
                    ))
                })?;
                ExecutionStatus::Running
            }
        };
        Ok(Started {
            execution_id,
            status,
        })
    }

    /// Creates the child (see [`Engine::create`]).
    async fn create(
        &self,
        source: WorkflowSource,
        execution_id: &str,
        input: &Vec<ItemData>,
        depth: u32,
    ) -> Result<(super::Plan, Created), EngineError> {
        let workflow = self.workflow(source).await?;
        let keys = ExecutionKeys::new(execution_id);
        let origin = Origin {
            depth,
            trigger: Some("sub_workflow".to_owned()),
            ..Origin::default()
        };
        self.engine
            .create(&workflow, &keys, execution_id.to_owned(), input, origin)
            .await
    }

    /// The sub-workflow's depth, if it may run that deep.
    fn check_depth(&self) -> Result<u32, NodeError> {
        let depth = self.depth + 1;
        let limit = self.engine.options.limits.workflow_depth;
        if depth > limit {
            return Err(NodeError::terminal(format!(
                "a sub-workflow here would run {depth} levels deep; the limit is {limit} (`workflow_depth`): does a workflow start itself?"
            )));
        }
        Ok(depth)
    }

    async fn workflow(&self, source: WorkflowSource) -> Result<Workflow, EngineError> {
        Ok(match source {
            WorkflowSource::Stored(id) => self.engine.stored_workflow(&id).await?,
            WorkflowSource::Inline(workflow) => *workflow,
        })
    }

    /// Runs the child here, as far as `deadline` allows: its start, or, when it was started
    /// before, its resume, then further invocations; answers the last one.
    async fn drive_here(
        &self,
        source: WorkflowSource,
        execution_id: &str,
        input: Vec<ItemData>,
        depth: u32,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<crate::model::Response, EngineError> {
        let engine = &self.engine;
        let created = self.create(source, execution_id, &input, depth).await;
        let first = match created {
            Ok((plan, Created::New(state, version))) => {
                let keys = ExecutionKeys::new(execution_id);
                super::run::Run::new(engine, &plan, keys, (*state, version), deadline)
                    .execute(super::run::Scope::Start { input }, serde_json::Map::new())
                    .await?
            }
            // Started by an earlier run of this attempt (with the same definition, or with the
            // stored workflow as it was then): carried on as it started.
            Ok((_, Created::Existing(_))) | Err(EngineError::ExecutionExists { .. }) => {
                engine
                    .advance(execution_id, None, None, serde_json::Map::new(), deadline)
                    .await?
            }
            Err(other) => return Err(other),
        };
        Ok(engine
            .drive_on(first, &Drive::until(deadline))
            .await?
            .response)
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
        let response = self
            .drive_here(source, execution_id, input, depth, deadline)
            .await?;
        Ok(match response.next_action {
            NextAction::Complete => Stand::Completed(match response.output_data {
                Some(items) => items,
                None => engine.final_output(execution_id).await?,
            }),
            NextAction::Failed { error } => Stand::Failed(error),
            NextAction::Wait { resume_at } => Stand::Later(resume_at),
            // The signal goes to the child; the parent looks in on it meanwhile.
            NextAction::AwaitSignal { resume_at, .. } => {
                let look_in = saturating_add(engine.clock.now(), SIGNALLED_CHILD_POLL);
                Stand::Later(resume_at.map_or(look_in, |at| at.min(look_in)))
            }
            NextAction::Continue { .. } | NextAction::FanOut { .. } => {
                Stand::Later(engine.clock.now())
            }
        })
    }
}

/// A node's error for an engine error about sub-workflow execution `execution_id`: retryable
/// when the store or the launcher may answer later, terminal otherwise.
fn engine_error(execution_id: &str, error: &EngineError) -> NodeError {
    let message = format!("sub-workflow execution `{execution_id}`: {error}");
    match error {
        EngineError::StoreUnavailable(_) | EngineError::StateConflict(_) => {
            NodeError::retryable(message)
        }
        _ => NodeError::terminal(message),
    }
}
