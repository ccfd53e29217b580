//! The run loop of one invocation: restore the schedule from the journal, claim the execution,
//! start ready nodes eagerly up to `max_concurrency` while the budget lasts, record each
//! outcome as it arrives, finish, and answer with the next action. The concerns it composes
//! live beside it: [`schedule`](super::schedule) (what can run), [`attempt`](super::attempt)
//! (how a node run goes), [`journal`](super::journal) (what is stored).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::attempt::{ItemRetries, NodeRun, Outcome};
use super::journal::Journal;
use super::schedule::{Schedule, WakeError};
use super::{EndOutput, Engine, EngineError, NodeEvent, NodeOutcome, Plan};
use crate::model::{ExecutionState, ExecutionStatus, ItemData, NextAction, NodeState, Response};
use crate::store::{ExecutionKeys, Version};

/// Which nodes an invocation may run.
pub(super) enum Scope {
    /// Every node that becomes ready.
    All,
    /// Every node, after resuming this waiting node now (with these items, if given).
    Resume {
        node: usize,
        input: Option<Vec<ItemData>>,
    },
    /// This one node only (it must be ready or waiting).
    Only {
        node: usize,
        input: Option<Vec<ItemData>>,
    },
}

/// A node run that ended: which node, its input (given back), and what it came to.
type Finished = (usize, Arc<[ItemData]>, Outcome, Duration);

/// One invocation advancing one execution.
pub(super) struct Run<'a> {
    engine: &'a Engine,
    schedule: Schedule<'a>,
    journal: Journal,
    /// Per-item retries under way, by node: its next run retries those items only.
    retries: HashMap<usize, ItemRetries>,
    /// No node starts after this instant.
    start_until: Option<Instant>,
    /// Running nodes are interrupted at this instant.
    hard_end: Option<Instant>,
    /// The execution's identifier, shared by every node run.
    execution_id: Arc<str>,
}

impl<'a> Run<'a> {
    /// An invocation of `engine` on the execution whose keys are `keys` and whose state was
    /// read as `state`, running `plan` until `deadline` (none: see
    /// [`EngineOptions::max_invocation`](super::EngineOptions::max_invocation)).
    pub(super) fn new(
        engine: &'a Engine,
        plan: &'a Plan,
        keys: ExecutionKeys,
        state: (ExecutionState, Version),
        deadline: Option<Instant>,
    ) -> Self {
        let now = Instant::now();
        let options = &engine.options;
        // A deadline already past (as some local emulators send) means "no deadline".
        let deadline = deadline.filter(|deadline| *deadline > now).or_else(|| {
            options
                .max_invocation
                .and_then(|budget| now.checked_add(budget)?.checked_add(options.safety_margin))
        });
        let start_until =
            deadline.map(|deadline| deadline.checked_sub(options.safety_margin).unwrap_or(now));
        let hard_end = deadline.map(|deadline| {
            deadline
                .checked_sub(options.safety_margin / 2)
                .unwrap_or(now)
        });
        let journal = Journal::new(
            Arc::clone(&engine.store),
            keys,
            state,
            Arc::clone(&engine.clock),
            options.lease,
            hard_end,
        );
        let execution_id = Arc::from(journal.state().execution_id.as_str());
        Self {
            engine,
            schedule: Schedule::new(plan),
            journal,
            retries: HashMap::new(),
            start_until,
            hard_end,
            execution_id,
        }
    }

    pub(super) async fn execute(
        mut self,
        scope: Scope,
        metadata: Map<String, Value>,
    ) -> Result<Response, EngineError> {
        let state = self.journal.state();
        if state.status.is_finished() {
            if let Scope::Resume { node, .. } | Scope::Only { node, .. } = scope {
                return Err(EngineError::InvalidRequest(format!(
                    "node `{}` cannot run: execution `{}` has already finished ({})",
                    self.schedule.plan().nodes()[node].name,
                    state.execution_id,
                    if state.status == ExecutionStatus::Success {
                        "succeeded"
                    } else {
                        "failed"
                    }
                )));
            }
            // Nothing to do: answer as the invocation that finished it did.
            let output = self.end_output(false).await?;
            return Ok(self.response(metadata, output));
        }
        // Reading and checking first, so that a request that cannot be carried out changes
        // nothing; the claim then fails if anyone else wrote the state meanwhile.
        self.retries = self.journal.restore(&mut self.schedule).await?;
        let only = match scope {
            Scope::All => None,
            Scope::Resume { node, input } => {
                self.wake(node, input)?;
                None
            }
            Scope::Only { node, input } => {
                self.wake(node, input)?;
                Some(node)
            }
        };
        self.journal.claim(&self.schedule).await?;
        self.run(only).await?;
        self.journal.finish(&self.schedule).await?;
        let output = self.end_output(true).await?;
        Ok(self.response(metadata, output))
    }

    /// The execution as it stands, with every node's state.
    pub(super) async fn view(mut self) -> Result<ExecutionState, EngineError> {
        self.journal.view(&mut self.schedule).await
    }

    /// Makes a waiting (or ready) node runnable now, optionally with new input.
    fn wake(&mut self, index: usize, input: Option<Vec<ItemData>>) -> Result<(), EngineError> {
        let given = input.is_some();
        self.schedule.wake(index, input).map_err(|error| {
            let name = &self.schedule.plan().nodes()[index].name;
            EngineError::InvalidRequest(match error {
                WakeError::Finished => format!("node `{name}` has already finished"),
                WakeError::NotReady => {
                    format!("node `{name}` is not ready: some of its inputs are unresolved")
                }
            })
        })?;
        // Retries of some of the old items no longer apply to new ones.
        if given {
            self.retries.remove(&index);
        }
        Ok(())
    }

    /// The scheduling loop: starts ready nodes eagerly up to `max_concurrency` while the budget
    /// lasts, and handles each outcome as it arrives.
    async fn run(&mut self, only: Option<usize>) -> Result<(), EngineError> {
        let plan = self.schedule.plan();
        let max_concurrency = usize::try_from(plan.max_concurrency()).unwrap_or(usize::MAX);
        // Node runs are held inline by the set (one allocation per run).
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < max_concurrency
                && self.schedule.failure().is_none()
                && self.may_start()
            {
                let next = self.schedule.start_next(only, || self.engine.clock.now());
                self.report_skips();
                let Some(index) = next else {
                    break;
                };
                running.push(self.start(index));
            }
            let renewal = async {
                match self.journal.renew_at() {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let finished = tokio::select! {
                finished = running.next() => finished,
                () = renewal => {
                    self.journal.renew(&self.schedule).await?;
                    continue;
                }
            };
            if let Some(finished) = finished {
                self.settle(finished).await?;
                continue;
            }
            // Nothing runs. A waiting node whose time comes soon is slept for.
            let Some((index, until)) = self.schedule.earliest_wait(only) else {
                break;
            };
            let delay = (until - self.engine.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            let fits = self
                .start_until
                .is_none_or(|end| Instant::now() + delay < end);
            if self.schedule.failure().is_some()
                || delay > self.engine.options.max_inline_wait
                || !fits
            {
                break;
            }
            self.sleep_inline(delay).await?;
            self.schedule.due(index);
        }
        Ok(())
    }

    /// Sleeps through a short wait, holding the execution. The wait is persisted first, with
    /// when the node started: a process that dies while sleeping leaves it to the next
    /// invocation to finish, instead of starting it again from zero.
    async fn sleep_inline(&mut self, delay: Duration) -> Result<(), EngineError> {
        let wake = Instant::now() + delay;
        loop {
            self.journal.renew(&self.schedule).await?;
            match self.journal.renew_at().filter(|renewal| *renewal < wake) {
                Some(renewal) => tokio::time::sleep_until(renewal).await,
                None => {
                    tokio::time::sleep_until(wake).await;
                    return Ok(());
                }
            }
        }
    }

    fn may_start(&self) -> bool {
        self.start_until.is_none_or(|end| Instant::now() < end)
    }

    /// The future of one node run (see [`NodeRun`]).
    fn start(&mut self, index: usize) -> impl Future<Output = Finished> + Send + 'static {
        let plan = self.schedule.plan();
        let node = &plan.nodes()[index];
        let (items, input_ends) = self.schedule.input(index);
        let run = NodeRun {
            registration: node.registration,
            name: Arc::clone(&node.name),
            execution_id: Arc::clone(&self.execution_id),
            parameters: Arc::clone(&plan.parameters()[index]),
            items,
            input_ends,
            retry: node.retry,
            timeout: node.timeout,
            on_error: node.on_error,
            started_at: self
                .schedule
                .started(index)
                .unwrap_or_else(|| self.engine.clock.now()),
            clock: Arc::clone(&self.engine.clock),
            random: Arc::clone(&self.engine.random),
            start_until: self.start_until,
            hard_end: self.hard_end,
            own_threads: self.engine.options.node_threads,
            resume: self.retries.remove(&index),
        };
        let attempt = self.schedule.attempt(index);
        async move {
            let timer = Instant::now();
            let (items, outcome) = run.run(attempt).await;
            (index, items, outcome, timer.elapsed())
        }
    }

    /// Records what a node run came to; a success is written to the store before it counts.
    async fn settle(
        &mut self,
        (index, items, outcome, duration): Finished,
    ) -> Result<(), EngineError> {
        let plan = self.schedule.plan();
        let node = &plan.nodes()[index];
        let name = &*node.name;
        let (attempt, what) = match &outcome {
            Outcome::Succeeded { attempt, .. } => (*attempt, NodeOutcome::Succeeded),
            Outcome::Failed { attempt, .. } => (*attempt, NodeOutcome::Failed),
            Outcome::Parked { attempt, .. } => (*attempt, NodeOutcome::Waiting),
            Outcome::Interrupted { attempt, .. } => (*attempt, NodeOutcome::Interrupted),
        };
        self.report(index, attempt, what, duration);
        match outcome.or_passed_on(&items, node.on_error, node.registration.outputs) {
            Outcome::Succeeded { attempt, output } => {
                self.journal
                    .record_output(name, attempt, &output.outputs)
                    .await?;
                self.schedule.succeed(index, attempt, output);
                self.report_skips();
            }
            Outcome::Failed { attempt, error } => {
                self.journal
                    .record_failure(name, attempt, error.to_string());
                self.schedule.fail(index, &error);
            }
            Outcome::Parked {
                attempt,
                until,
                error,
                retries,
            } => {
                self.journal.forget(name);
                self.keep_progress(index, &items, retries).await?;
                self.journal.record_wait(
                    name,
                    NodeState::Waiting {
                        attempt,
                        resume_at: until,
                        last_error: error,
                        started_at: self.schedule.started(index),
                    },
                );
                self.schedule.park(index, attempt, until);
            }
            Outcome::Interrupted { attempt, retries } => {
                // Not an attempt of the node: it runs again with the same attempt number (and
                // idempotency key) in the next invocation.
                self.journal.forget(name);
                self.keep_progress(index, &items, retries).await?;
                self.schedule.interrupt(index, attempt);
            }
        }
        Ok(())
    }

    /// Keeps what a parked or interrupted node's next run starts from: in the store when its
    /// connections cannot give it again, and here for a run later in this invocation.
    async fn keep_progress(
        &mut self,
        index: usize,
        items: &[ItemData],
        retries: Option<ItemRetries>,
    ) -> Result<(), EngineError> {
        let name = &self.schedule.plan().nodes()[index].name;
        let input = self.schedule.is_given(index).then_some(items);
        self.journal
            .keep_progress(name, input, retries.as_ref())
            .await?;
        if let Some(retries) = retries {
            self.retries.insert(index, retries);
        }
        Ok(())
    }

    /// Reports the nodes the schedule skipped since last asked, and forgets their records.
    fn report_skips(&mut self) {
        for index in self.schedule.take_skipped() {
            self.journal
                .forget(&self.schedule.plan().nodes()[index].name);
            self.report(
                index,
                self.schedule.attempt(index),
                NodeOutcome::Skipped,
                Duration::ZERO,
            );
        }
    }

    fn report(&self, index: usize, attempt: u32, outcome: NodeOutcome, duration: Duration) {
        if let Some(observer) = &self.engine.observer {
            let node = &self.schedule.plan().nodes()[index];
            observer.node_finished(&NodeEvent {
                execution_id: &self.execution_id,
                node: &node.name,
                kind: node.registration.kind,
                attempt,
                outcome,
                duration,
            });
        }
    }

    async fn end_output(&self, restored: bool) -> Result<Option<EndOutput>, EngineError> {
        self.journal
            .end_output(
                &self.schedule,
                restored,
                self.engine.options.max_inline_output,
            )
            .await
    }

    fn response(&self, metadata: Map<String, Value>, output: Option<EndOutput>) -> Response {
        let state = self.journal.state();
        let next_action = match state.status {
            ExecutionStatus::Success => NextAction::Complete,
            ExecutionStatus::Failed => NextAction::Failed {
                error: state
                    .error
                    .clone()
                    .unwrap_or_else(|| "the execution failed".to_owned()),
            },
            ExecutionStatus::Waiting => NextAction::Wait {
                resume_at: self
                    .schedule
                    .earliest_wait(None)
                    .map_or_else(|| self.engine.clock.now(), |(_, until)| until),
            },
            ExecutionStatus::Running => NextAction::Continue {
                next_nodes: self
                    .schedule
                    .ready()
                    .map(|index| self.schedule.plan().nodes()[index].name.to_string())
                    .collect(),
            },
        };
        let (output_data, output_ref) = match output {
            None => (None, None),
            Some(EndOutput::Inline(items)) => (Some(items), None),
            Some(EndOutput::Stored(reference)) => (None, Some(reference)),
        };
        Response {
            success: state.status != ExecutionStatus::Failed,
            execution_id: state.execution_id.clone(),
            status: state.status,
            next_action,
            state_key: self.journal.keys().state(),
            output_data,
            output_ref,
            error: state.error.clone(),
            metadata,
        }
    }
}
