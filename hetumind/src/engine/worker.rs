//! One node run in an invocation of its own: `execute_node`, which an orchestrator sends for
//! each task of a `fan_out` answer.
//!
//! A worker reads only what its task needs: the task the coordinating invocation handed out
//! (the node's definition and its input, or one batch of it), which travels inline in the
//! request (`spec`) when small, and is otherwise read from `tasks/{node}/{part}.json`. It
//! claims the task (`claims/{node}/{part}.json`, create-only, with a lease until its deadline,
//! renewed while it runs, and when the node first started), runs the node exactly as an inline run would (retries, timeouts,
//! `on_error`, waits, idempotency keys), stores the output create-only
//! (`nodes/{node}/{attempt}.json`, or `parts/{node}/{batch}.json` for one batch), and releases
//! the claim: the stored output itself releases it when the node succeeded (it ends the task
//! for good: one store call fewer per task), else the claim is rewritten with how the run ended
//! (failed, parked until a time, cut off by the deadline). The coordinating invocation adopts
//! all of it when it next restores the execution; the worker never writes the execution's
//! state.
//!
//! Two workers on one task: the second finds the claim held and gets `StateConflict`, changing
//! nothing. A claim whose lease expired (its worker died) is taken over with the same attempt,
//! so the same idempotency key. A task already done is answered as done, and not run again.
//!
//! A node nobody handed out (`execute_node` sent on its own for a ready or waiting node) is
//! derived from the execution as a coordinating invocation would see it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::SubWorkflows;
use super::attempt::{ItemRetries, NodeRun, Outcome, Ran};
use super::budget::{Budget, lease_term};
use super::input::RunInput;
use super::journal::{from_json, to_json, write_history};
use super::lookup::Reads;
use super::{Engine, EngineError, NodeEvent, NodeOutcome};
use crate::expression::{ExecutionInfo, Parameters};
use crate::json_path::from_field;
use crate::model::{
    Batch, ExecuteNode, ExecutionStatus, ItemData, NextAction, NodeRunRecord, OnError, Response,
};
use crate::node::NodeRegistration;
use crate::retry::RetryPolicy;
use crate::store::{Condition, ExecutionKeys, Part, StateStore, StoreError, Version};

/// What a worker needs to run one task, as the coordinating invocation hands it out (inline in
/// the task, or stored at `tasks/{node}/{part}.json`), or derives it for a node nobody handed
/// out.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskSpec {
    /// The registered node and version.
    pub(super) kind: String,
    pub(super) version: u32,
    /// The parameters as written; their expressions are compiled again where the spec is read.
    pub(super) parameters: Arc<Parameters>,
    /// The execution's facts, for expressions and `Ctx` (absent from specs handed out before
    /// they were added: the worker then knows the execution's identifier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) execution: Option<Arc<ExecutionInfo>>,
    /// The retry policy in force.
    pub(super) retry: RetryPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) timeout_ms: Option<u64>,
    #[serde(default)]
    pub(super) on_error: OnError,
    /// The attempt a first claim runs with.
    pub(super) attempt: u32,
    /// When the node first started.
    pub(super) started_at: DateTime<Utc>,
    /// Its input (or this batch of it), all inputs end to end.
    pub(super) items: Arc<[ItemData]>,
    /// Where each input's items end, for a node of several inputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) input_ends: Vec<usize>,
    /// Where `items` start among all the node's items, for a batch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) first_item: usize,
    /// Retries of some items under way, from an earlier inline run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) retries: Option<ItemRetries>,
    /// The nodes whose outputs the parameters' expressions read (see `PlannedNode::reads`).
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub(super) reads: Arc<[Arc<str>]>,
    /// How deeply the execution is nested (see `ExecutionState::depth`).
    #[serde(default, skip_serializing_if = "is_zero_depth")]
    pub(super) depth: u32,
    /// Whether a request named the node to resume it (see `Ctx::resumed`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) resumed: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
const fn is_zero_depth(depth: &u32) -> bool {
    *depth == 0
}

fn is_zero(value: &usize) -> bool {
    *value == 0
}

/// A worker's claim on one task, at `claims/{node}/{part}.json`: held while `until` lies
/// ahead, then how the run ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Claim {
    /// The invocation holding (or last holding) it.
    pub(super) owner: String,
    /// The attempt it runs, or runs next.
    pub(super) attempt: u32,
    /// When the node first started, which waits are measured from: a task handed out again
    /// (its specification rebuilt by the coordinator) keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) started_at: Option<DateTime<Utc>>,
    /// Held until then; absent once released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) until: Option<DateTime<Utc>>,
    /// How the last run ended, once released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ended: Option<Ended>,
}

impl Claim {
    /// Whether a live worker holds it at `now`.
    pub(super) fn is_held(&self, now: DateTime<Utc>) -> bool {
        self.until.is_some_and(|until| until > now)
    }
}

/// How a worker's run of a task ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Ended {
    /// Its output is stored.
    Succeeded,
    /// It failed for good.
    Failed { error: String },
    /// It runs again at `resume_at` (a wait, or a retry beyond the budget), or, with `signal`,
    /// when a signal comes.
    Waiting {
        resume_at: DateTime<Utc>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        signal: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retries: Option<ItemRetries>,
    },
    /// The deadline cut it off: it runs again, same attempt.
    Interrupted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retries: Option<ItemRetries>,
    },
}

/// The output of one batch, at `parts/{node}/{batch}.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartOutput {
    /// The attempt that produced it.
    pub(super) attempt: u32,
    /// One list of items per output of the node.
    pub(super) outputs: Vec<Vec<ItemData>>,
}

/// Carries out `execute_node`.
pub(super) async fn execute(
    engine: &Engine,
    request: ExecuteNode,
    deadline: Option<Instant>,
) -> Result<Response, EngineError> {
    let ExecuteNode {
        execution_id,
        node_name,
        batch,
        spec,
        input_data,
        metadata,
    } = request;
    let keys = ExecutionKeys::new(&execution_id);
    let part = batch.map_or(Part::All, |Batch { index, .. }| Part::Batch(index));
    let store = &*engine.store;
    let task_key = keys.task(&node_name, part);
    let mut spec: TaskSpec = match spec {
        Some(spec) => from_field("spec", &spec).map_err(EngineError::InvalidRequest)?,
        None => match store.get(&task_key).await? {
            Some(stored) => from_json(&task_key, &stored.bytes)?,
            None if batch.is_some() => {
                return Err(EngineError::InvalidRequest(format!(
                    "batch {part} of node `{node_name}` was never handed out in execution `{execution_id}`"
                )));
            }
            None => engine.derive_task(&execution_id, &node_name).await?,
        },
    };
    if let Some(items) = input_data {
        spec.items = items.into();
        spec.input_ends = Vec::new();
        spec.first_item = 0;
        spec.retries = None;
    }
    let registration = engine
        .registry
        .resolve(&spec.kind, Some(spec.version))
        .ok_or_else(|| {
            EngineError::InvalidRequest(format!(
                "node `{node_name}` runs `{}` version {}, which this function does not have",
                spec.kind, spec.version
            ))
        })?;
    let budget = Budget::new(&engine.options, deadline);
    let worker = Worker {
        engine,
        execution_id,
        keys,
        part,
        name: Arc::from(node_name.as_str()),
        owner: uuid::Uuid::now_v7().to_string(),
        budget,
    };
    let (hold, resume) = match worker.take(&spec).await? {
        Taken::Run(hold, resume) => (hold, resume),
        Taken::Ended(ended) => return Ok(worker.response(&ended, metadata)),
    };
    let ended = worker.run(hold, registration, spec, resume).await?;
    Ok(worker.response(&ended, metadata))
}

/// One `execute_node` invocation's work on its task.
struct Worker<'a> {
    engine: &'a Engine,
    execution_id: String,
    keys: ExecutionKeys,
    part: Part,
    name: Arc<str>,
    /// This invocation's identity in claims.
    owner: String,
    budget: Budget,
}

/// What claiming a task came to.
enum Taken {
    /// This invocation holds it: run it (with the item retries an earlier run left).
    Run(Hold, Option<ItemRetries>),
    /// It is done already.
    Ended(Ended),
}

/// This invocation's hold on a claim: the version it last wrote, and the run it holds.
struct Hold {
    version: Version,
    attempt: u32,
    started_at: DateTime<Utc>,
}

impl Worker<'_> {
    fn store(&self) -> &dyn StateStore {
        &*self.engine.store
    }

    fn claim_key(&self) -> String {
        self.keys.claim(&self.name, self.part)
    }

    /// The claim this invocation writes to hold the task for a run until its lease ends.
    fn held(&self, attempt: u32, started_at: DateTime<Utc>) -> Claim {
        Claim {
            owner: self.owner.clone(),
            attempt,
            started_at: Some(started_at),
            until: Some(self.lease_term().0),
            ended: None,
        }
    }

    /// Until when a claim written now holds, and when to renew it (see [`lease_term`]).
    fn lease_term(&self) -> (DateTime<Utc>, Option<Instant>) {
        lease_term(
            self.budget.hard_end,
            self.engine.options.lease,
            self.engine.clock.now(),
        )
    }

    /// When the lease needs renewing, if ever (never under a deadline: it lasts until then).
    fn renew_at(&self) -> Option<Instant> {
        self.lease_term().1
    }

    /// Claims the task: a fresh claim, or one whose worker ended without finishing it (parked,
    /// cut off, or died with its lease run out), taken over with its attempt.
    async fn take(&self, spec: &TaskSpec) -> Result<Taken, EngineError> {
        let key = self.claim_key();
        let fresh = to_json(&self.held(spec.attempt, spec.started_at))?;
        match self.store().put(&key, fresh, Condition::Create).await {
            Ok(version) => {
                return Ok(Taken::Run(
                    Hold {
                        version,
                        attempt: spec.attempt,
                        started_at: spec.started_at,
                    },
                    spec.retries.clone(),
                ));
            }
            Err(StoreError::Conflict { .. }) => {}
            Err(error) => return Err(error.into()),
        }
        let stored = self.store().get(&key).await?.ok_or_else(|| {
            EngineError::StateConflict(format!("`{key}` disappeared while it was claimed"))
        })?;
        let previous: Claim = from_json(&key, &stored.bytes)?;
        // A claim not released with how its run ended (still held, or its worker died) may
        // belong to a run whose stored output ended the task (see the module docs).
        if previous.ended.is_none() && self.output_stored().await? {
            return Ok(Taken::Ended(Ended::Succeeded));
        }
        if previous.is_held(self.engine.clock.now()) {
            return Err(EngineError::StateConflict(format!(
                "node `{}`{} is being run by invocation {} until {}",
                self.name,
                self.batch_label(),
                previous.owner,
                previous.until.unwrap_or_default()
            )));
        }
        let resume = match previous.ended {
            Some(ended @ (Ended::Succeeded | Ended::Failed { .. })) => {
                return Ok(Taken::Ended(ended));
            }
            Some(Ended::Waiting { retries, .. } | Ended::Interrupted { retries }) => retries,
            // Its worker died before storing anything: taken over with the same attempt.
            None => None,
        };
        // The earlier run's attempt, start and item retries stand over those of the task as
        // it was handed out again.
        let started_at = previous.started_at.unwrap_or(spec.started_at);
        let claim = to_json(&self.held(previous.attempt, started_at))?;
        let version = self
            .store()
            .put(&key, claim, Condition::Match(stored.version))
            .await
            .map_err(|error| self.lost(error))?;
        let hold = Hold {
            version,
            attempt: previous.attempt,
            started_at,
        };
        Ok(Taken::Run(hold, resume))
    }

    /// Whether the task's output is in the store.
    async fn output_stored(&self) -> Result<bool, EngineError> {
        Ok(match self.part {
            Part::All => !self
                .store()
                .list(&self.keys.node_outputs(&self.name))
                .await?
                .is_empty(),
            Part::Batch(index) => self
                .store()
                .get(&self.keys.part(&self.name, index))
                .await?
                .is_some(),
        })
    }

    /// A conditional write of the claim failed: another invocation took the task over.
    fn lost(&self, error: StoreError) -> EngineError {
        match error {
            StoreError::Conflict { .. } | StoreError::Missing { .. } => {
                EngineError::StateConflict(format!(
                    "node `{}`{} was taken over by another invocation",
                    self.name,
                    self.batch_label()
                ))
            }
            other => other.into(),
        }
    }

    fn batch_label(&self) -> String {
        match self.part {
            Part::All => String::new(),
            Part::Batch(index) => format!(" (batch {index})"),
        }
    }

    /// Writes the claim as released, with how the run ended.
    async fn release(&self, hold: Hold, ended: &Ended) -> Result<(), EngineError> {
        let claim = Claim {
            owner: self.owner.clone(),
            attempt: hold.attempt,
            started_at: Some(hold.started_at),
            until: None,
            ended: Some(ended.clone()),
        };
        self.store()
            .put(
                &self.claim_key(),
                to_json(&claim)?,
                Condition::Match(hold.version),
            )
            .await
            .map(drop)
            .map_err(|error| self.lost(error))
    }

    /// Runs the node on the task's items, keeping the claim's lease, and records the outcome.
    async fn run(
        &self,
        mut hold: Hold,
        registration: &'static NodeRegistration,
        spec: TaskSpec,
        resume: Option<ItemRetries>,
    ) -> Result<Ended, EngineError> {
        let engine = self.engine;
        let on_error = spec.on_error;
        let reads = Reads::new(
            &engine.store,
            &self.keys,
            &spec.reads,
            &spec.parameters,
            &engine.secrets,
        );
        let run = NodeRun {
            registration,
            name: Arc::clone(&self.name),
            execution: {
                let mut execution = spec
                    .execution
                    .unwrap_or_else(|| Arc::new(ExecutionInfo::new(self.execution_id.as_str())));
                Arc::make_mut(&mut execution).public_url = Arc::clone(&engine.options.public_url);
                execution
            },
            parameters: spec.parameters,
            items: RunInput::new(spec.items),
            input_ends: spec.input_ends,
            first_item: spec.first_item,
            retry: spec.retry,
            timeout: spec.timeout_ms.map(Duration::from_millis),
            on_error,
            started_at: hold.started_at,
            clock: Arc::clone(&engine.clock),
            random: Arc::clone(&engine.random),
            start_until: self.budget.start_until,
            hard_end: self.budget.hard_end,
            own_threads: engine.options.node_threads,
            limits: engine.options.limits,
            resume,
            reads,
            sub_workflows: SubWorkflows::new(engine, spec.depth),
            resumed: spec.resumed,
            observer: engine.observer.clone(),
        };
        let workflow_id = Arc::clone(&run.execution.workflow_id);
        let timer = Instant::now();
        let span = crate::telemetry::execution_span(&run.execution);
        let running = tracing::Instrument::instrument(run.run(hold.attempt), span);
        tokio::pin!(running);
        let Ran {
            items,
            items_in,
            outcome,
        } = loop {
            let renewal = async {
                match self.renew_at() {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                finished = &mut running => break finished,
                () = renewal => {
                    let claim = to_json(&self.held(hold.attempt, hold.started_at))?;
                    hold.version = self
                        .store()
                        .put(&self.claim_key(), claim, Condition::Match(hold.version.clone()))
                        .await
                        .map_err(|error| self.lost(error))?;
                }
            }
        };
        let (attempt, what) = outcome.reported();
        let elapsed = timer.elapsed();
        self.report(registration, &workflow_id, attempt, what, elapsed);
        let mut history = outcome.history(
            &self.name,
            registration.kind,
            items_in,
            engine.clock.now(),
            elapsed,
        );
        if let Part::Batch(index) = self.part {
            history.batch = Some(index);
        }
        hold.attempt = attempt;
        let ended = match outcome.or_passed_on(&items, on_error, registration.outputs) {
            Outcome::Succeeded { attempt, output } => {
                // The stored output is the release.
                self.store_output(attempt, output.outputs).await?;
                self.write_history(history).await;
                return Ok(Ended::Succeeded);
            }
            Outcome::Failed { error, .. } => Ended::Failed {
                error: error.to_string(),
            },
            Outcome::Parked {
                until,
                signal,
                error,
                retries,
                ..
            } => Ended::Waiting {
                resume_at: until,
                signal,
                error,
                retries,
            },
            Outcome::Interrupted { retries, .. } => Ended::Interrupted { retries },
        };
        self.release(hold, &ended).await?;
        self.write_history(history).await;
        Ok(ended)
    }

    /// Writes the task's run to the execution's history, under an invocation id of its own.
    async fn write_history(&self, run: NodeRunRecord) {
        let invocation = uuid::Uuid::now_v7().to_string();
        write_history(self.store(), &self.keys, &invocation, vec![run]).await;
    }

    /// Stores the task's output, create-only: a taken-over run may have stored it first.
    async fn store_output(
        &self,
        attempt: u32,
        outputs: Vec<Vec<ItemData>>,
    ) -> Result<(), EngineError> {
        let (key, bytes) = match self.part {
            Part::All => (self.keys.output(&self.name, attempt), to_json(&outputs)?),
            Part::Batch(index) => (
                self.keys.part(&self.name, index),
                to_json(&PartOutput { attempt, outputs })?,
            ),
        };
        match self.store().put(&key, bytes, Condition::Create).await {
            Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    fn report(
        &self,
        registration: &NodeRegistration,
        workflow_id: &str,
        attempt: u32,
        outcome: NodeOutcome,
        duration: Duration,
    ) {
        if let Some(observer) = &self.engine.observer {
            observer.node_finished(&NodeEvent {
                execution_id: &self.execution_id,
                workflow_id,
                node: &self.name,
                kind: registration.kind,
                attempt,
                outcome,
                duration,
            });
        }
    }

    /// The answer of a worker: the execution goes on with `resume_execution` (which adopts
    /// this task's outcome), unless the node failed or waits.
    fn response(&self, ended: &Ended, metadata: Map<String, Value>) -> Response {
        let (status, next_action, error) = match ended {
            Ended::Succeeded | Ended::Interrupted { .. } => (
                ExecutionStatus::Running,
                NextAction::Continue {
                    next_nodes: Vec::new(),
                },
                None,
            ),
            Ended::Failed { error } => {
                let error = format!("node `{}` failed: {error}", self.name);
                (
                    ExecutionStatus::Failed,
                    NextAction::Failed {
                        error: error.clone(),
                    },
                    Some(error),
                )
            }
            Ended::Waiting { resume_at, .. } => (
                ExecutionStatus::Waiting,
                NextAction::Wait {
                    resume_at: *resume_at,
                },
                None,
            ),
        };
        Response {
            success: status != ExecutionStatus::Failed,
            execution_id: self.execution_id.clone(),
            status,
            next_action,
            state_key: self.keys.state(),
            output_data: None,
            output_ref: None,
            error,
            metadata,
            error_workflow: None,
            task_tokens: Vec::new(),
        }
    }
}
