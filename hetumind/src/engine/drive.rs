//! Driving an execution as an orchestrator would: invoke, invoke again on `continue`, sleep
//! through waits up to a limit, and stop at the end, at a longer wait, or at a deadline. The
//! command line's `run` and `resume`, [`WorkflowTest`](crate::testing::WorkflowTest) and the
//! Lambda handler's triggers all drive this way; on AWS, the state machine does it instead.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::{Engine, EngineError};
use crate::model::{ExecuteNode, NextAction, Request, Response, Task};

/// How [`Engine::drive`] goes on from one invocation to the next.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Drive {
    /// The longest wait slept through; at a longer one the drive stops with its `wait` answer.
    pub max_sleep: Duration,
    /// The most invocations; `None`: as many as it takes.
    pub max_invocations: Option<u32>,
    /// Every invocation's deadline; no invocation starts within the engine's safety margin of
    /// it.
    pub deadline: Option<Instant>,
    /// Whether a failed execution's error workflow is left to another driver (a state
    /// machine it is handed to) instead of driven on here.
    pub leave_error_workflow: bool,
    /// Whether the drive stops at `await_signal` even when a time limit follows that it could
    /// sleep through: for a driver with a signal to send first.
    pub stop_at_signals: bool,
}

impl Drive {
    /// Sleeping through waits up to `max_sleep`, without a deadline.
    #[must_use]
    pub fn sleeping_up_to(max_sleep: Duration) -> Self {
        Self {
            max_sleep,
            ..Self::default()
        }
    }

    /// Continuing until `deadline`, sleeping through no wait (the engine itself sleeps through
    /// short ones, see [`EngineOptions::max_inline_wait`](super::EngineOptions::max_inline_wait)).
    #[must_use]
    pub fn until(deadline: Option<Instant>) -> Self {
        Self {
            deadline,
            ..Self::default()
        }
    }

    /// This drive, leaving the error workflow a failed execution starts to another driver.
    #[must_use]
    pub fn leaving_error_workflow(mut self) -> Self {
        self.leave_error_workflow = true;
        self
    }

    /// This drive, stopping at every `await_signal` (see [`Drive::stop_at_signals`]).
    #[must_use]
    pub fn stopping_at_signals(mut self) -> Self {
        self.stop_at_signals = true;
        self
    }

    /// This drive, stopping after `max` invocations.
    #[must_use]
    pub fn at_most(mut self, max: u32) -> Self {
        self.max_invocations = Some(max);
        self
    }
}

/// Where a drive stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Driven {
    /// The last invocation's answer: `complete` or `failed` at the end, `wait` at a wait
    /// longer than [`Drive::max_sleep`], `continue` at the deadline or the invocation limit.
    pub response: Response,
    /// The invocations made.
    pub invocations: u32,
    /// The waits slept through, in order.
    pub waits: Vec<DateTime<Utc>>,
    /// When the execution failed and started its error workflow: the drive of that
    /// execution, under the same [`Drive`] (an error that stopped it is logged).
    pub error_run: Option<Box<Driven>>,
}

impl Engine {
    /// Carries out `request`, then goes on as `drive` says (see [`Drive`]).
    ///
    /// ```rust,standalone_crate
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use hetumind::engine::{Drive, Engine, EngineOptions};
    /// use hetumind::model::{ExecuteWorkflow, NextAction, Request};
    /// use hetumind::prelude::*;
    /// use hetumind::store::MemStore;
    ///
    /// /// Waits a second (durably), then passes its item on.
    /// #[node(kind = "doc.pause")]
    /// async fn pause(Item(v): Item<serde_json::Value>, ctx: Ctx) -> Result<serde_json::Value, NodeError> {
    ///     ctx.wait_for(Duration::from_secs(1))?;
    ///     Ok(v)
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let workflow = serde_json::from_value(serde_json::json!({
    ///     "id": "pause", "nodes": [{ "name": "P", "kind": "doc.pause" }]
    /// }))?;
    /// // The engine answers `wait` instead of sleeping itself; the drive sleeps through it.
    /// let engine = Engine::new(hetumind::Registry::global()?, Arc::new(MemStore::new()))
    ///     .with_options(EngineOptions { max_inline_wait: Duration::ZERO, ..Default::default() });
    /// let request = Request::ExecuteWorkflow(ExecuteWorkflow {
    ///     workflow_id: None,
    ///     workflow: Some(Box::new(workflow)),
    ///     execution_id: None,
    ///     input_data: None,
    ///     trigger: None,
    ///     metadata: Default::default(),
    /// });
    /// let driven = engine.drive(request, &Drive::sleeping_up_to(Duration::from_secs(5))).await?;
    /// assert_eq!(driven.response.next_action, NextAction::Complete);
    /// assert_eq!((driven.invocations, driven.waits.len()), (2, 1));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The first invocation's error (see [`Engine::handle`]).
    pub async fn drive(&self, request: Request, drive: &Drive) -> Result<Driven, EngineError> {
        let response = self.handle(request, drive.deadline).await?;
        self.drive_on(response, drive).await
    }

    /// Goes on from an invocation that answered `response`, as `drive` says.
    ///
    /// # Errors
    ///
    /// The first error of a later invocation.
    pub async fn drive_on(&self, response: Response, drive: &Drive) -> Result<Driven, EngineError> {
        let mut driven = Driven {
            response,
            invocations: 1,
            waits: Vec::new(),
            error_run: None,
        };
        loop {
            if drive
                .max_invocations
                .is_some_and(|max| driven.invocations >= max)
            {
                break;
            }
            match driven.response.next_action {
                NextAction::Complete | NextAction::Failed { .. } => break,
                NextAction::Continue { .. } => {
                    if self.no_time(drive) {
                        break;
                    }
                }
                NextAction::FanOut { ref tasks } => {
                    if self.no_time(drive) {
                        break;
                    }
                    self.run_tasks(&driven.response.execution_id, tasks, drive.deadline)
                        .await?;
                }
                // Only a signal moves it on (or, first, one the driver has to send).
                NextAction::AwaitSignal {
                    resume_at: None, ..
                } => break,
                NextAction::AwaitSignal { .. } if drive.stop_at_signals => break,
                NextAction::Wait { resume_at }
                | NextAction::AwaitSignal {
                    resume_at: Some(resume_at),
                    ..
                } => {
                    let delay = (resume_at - self.clock.now())
                        .to_std()
                        .unwrap_or(Duration::ZERO);
                    let past_deadline = drive
                        .deadline
                        .is_some_and(|deadline| Instant::now() + delay >= deadline);
                    if delay > drive.max_sleep || past_deadline {
                        break;
                    }
                    if let Some(observer) = &self.observer {
                        observer.waiting(&driven.response.execution_id, resume_at);
                    }
                    self.clock.sleep_until(resume_at).await;
                    driven.waits.push(resume_at);
                }
            }
            let resume = Request::resume(driven.response.execution_id.clone());
            // Task tokens to complete are completed with the drive's last answer.
            let task_tokens = std::mem::take(&mut driven.response.task_tokens);
            driven.response = self.handle(resume, drive.deadline).await?;
            driven.response.task_tokens.splice(0..0, task_tokens);
            driven.invocations += 1;
        }
        if let Some(execution_id) = driven
            .response
            .error_workflow
            .as_ref()
            .and_then(|started| started.execution_id.clone())
            .filter(|_| !drive.leave_error_workflow)
        {
            // Boxed: a drive within a drive. The error execution starts no error workflow of
            // its own, so this goes one level deep.
            let error_run = Box::pin(self.drive(Request::resume(execution_id.clone()), drive));
            match error_run.await {
                Ok(error_run) => driven.error_run = Some(Box::new(error_run)),
                Err(error) => {
                    tracing::error!(execution_id, "driving the error workflow failed: {error}");
                }
            }
        }
        Ok(driven)
    }

    /// Whether the drive's deadline leaves no room for another invocation.
    fn no_time(&self, drive: &Drive) -> bool {
        drive
            .deadline
            .is_some_and(|deadline| Instant::now() + self.options.safety_margin >= deadline)
    }

    /// Runs the tasks of a `fan_out` answer concurrently, each as the `execute_node`
    /// invocation an orchestrator would send. A task another invocation holds is left to it
    /// (the resume that follows adopts its work); a node that failed or waits is reported by
    /// that resume too.
    async fn run_tasks(
        &self,
        execution_id: &str,
        tasks: &[Task],
        deadline: Option<Instant>,
    ) -> Result<(), EngineError> {
        let runs = tasks.iter().map(|task| {
            self.handle(
                Request::ExecuteNode(ExecuteNode {
                    execution_id: execution_id.to_owned(),
                    node_name: task.node_name.clone(),
                    batch: task.batch,
                    spec: task.spec.clone(),
                    input_data: None,
                    metadata: serde_json::Map::new(),
                }),
                deadline,
            )
        });
        for outcome in futures_util::future::join_all(runs).await {
            match outcome {
                Ok(_) | Err(EngineError::StateConflict(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}
