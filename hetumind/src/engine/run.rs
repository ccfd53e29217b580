//! The run loop of one invocation: restore the schedule from the journal, claim the execution,
//! start ready nodes eagerly up to `max_concurrency` while the budget lasts, record each
//! outcome as it arrives, finish, and answer with the next action. The concerns it composes
//! live beside it: [`schedule`](super::schedule) (what can run), [`attempt`](super::attempt)
//! (how a node run goes), [`journal`](super::journal) (what is stored).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::SubWorkflows;
use super::attempt::{ItemRetries, NodeRun, Outcome, Ran};
use super::budget::Budget;
use super::dispatch::{self, Parked, Tasks, Workers};
use super::input::RunInput;
use super::journal::{EndOutputs, Journal};
use super::journal::{read_all_recorded, to_json};
use super::lookup::Reads;
use super::schedule::{Schedule, WakeError};
use super::worker::{PartOutput, TaskSpec};
use super::{EndOutput, Engine, EngineError, NodeEvent, NodeOutcome, Plan};
use crate::expression::ExecutionInfo;
use crate::index::ExecutionRecord;
use crate::model::{
    Batch, Dispatch, ErrorWorkflowStart, ExecutionState, ExecutionStatus, ItemData, NextAction,
    NodeState, Response, Task, latest_rfc3339,
};
use crate::node::{NodeError, NodeOutput};
use crate::store::{ExecutionKeys, Part, Version};

/// Which nodes an invocation may run.
pub(super) enum Scope {
    /// A new execution, whose input (already stored) its start nodes take: every node that
    /// becomes ready.
    Start { input: Vec<ItemData> },
    /// Every node that becomes ready.
    All,
    /// Every node, after resuming this waiting node now (with these items, if given).
    Resume {
        node: usize,
        input: Option<Vec<ItemData>>,
    },
}

/// A node run ended: the node, what [`NodeRun::run`] came to, and how long it took.
struct Finished {
    index: usize,
    ran: Ran,
    duration: Duration,
}

/// One invocation advancing one execution.
pub(super) struct Run<'a> {
    engine: &'a Engine,
    schedule: Schedule<'a>,
    journal: Journal,
    /// Per-item retries under way, by node: its next run retries those items only.
    retries: HashMap<usize, ItemRetries>,
    /// When nodes stop starting, and running ones are interrupted.
    budget: Budget,
    /// The execution's facts, shared by every node run.
    execution: Arc<ExecutionInfo>,
    /// What the execution's workers did with the nodes handed out, by node.
    workers: HashMap<usize, Workers>,
    /// The tasks handed out in this invocation's answer.
    tasks: Tasks,
    /// When the earliest lease of a live worker ends, while some hold nodes.
    held_until: Option<DateTime<Utc>>,
    /// End nodes' outputs kept for this invocation's answer.
    end_outputs: EndOutputs,
    /// The task token the request carried (see `ResumeExecution::task_token`).
    task_token: Option<String>,
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
        let budget = Budget::new(&engine.options, deadline);
        let journal = Journal::new(
            Arc::clone(&engine.store),
            keys,
            state,
            Arc::clone(&engine.clock),
            engine.options.lease,
            budget.hard_end,
        );
        let state = journal.state();
        let execution = Arc::new(ExecutionInfo {
            id: Arc::from(state.execution_id.as_str()),
            started_at: state.created_at,
            workflow_id: Arc::clone(plan.workflow_id()),
            workflow_name: Arc::clone(plan.workflow_name()),
            resume_key: state.resume_key.as_deref().map(Arc::from),
            public_url: Arc::clone(&engine.options.public_url),
            trace: state.trace.clone(),
        });
        Self {
            engine,
            schedule: Schedule::new(plan),
            journal,
            retries: HashMap::new(),
            budget,
            execution,
            workers: HashMap::new(),
            tasks: Tasks::default(),
            held_until: None,
            end_outputs: EndOutputs::default(),
            task_token: None,
        }
    }

    /// This invocation, for a request carrying an orchestrator's task token.
    pub(super) fn with_task_token(self, task_token: Option<String>) -> Self {
        Self { task_token, ..self }
    }

    pub(super) async fn execute(
        self,
        scope: Scope,
        metadata: Map<String, Value>,
    ) -> Result<Response, EngineError> {
        let span = crate::telemetry::execution_span(&self.execution);
        tracing::Instrument::instrument(self.advance(scope, metadata), span).await
    }

    /// [`Self::execute`], in the execution's span.
    async fn advance(
        mut self,
        scope: Scope,
        metadata: Map<String, Value>,
    ) -> Result<Response, EngineError> {
        if self.journal.state().status.is_finished() {
            if let Scope::Resume { node, .. } = scope {
                return Err(self.finished(node));
            }
            // Nothing to do: answer as the invocation that finished it did (starting the error
            // workflow, in case that invocation ended before it could).
            let output = self.end_output(false).await?;
            let mut response = self.response(metadata, output);
            response.error_workflow = self.error_workflow().await;
            response.task_tokens.extend(self.task_token.take());
            return Ok(response);
        }
        // Reading and checking first, so that a request that cannot be carried out changes
        // nothing; the claim then fails if anyone else wrote the state meanwhile.
        let (given, resume) = match scope {
            Scope::Start { input } => (Some(input), None),
            Scope::All => (None, None),
            Scope::Resume { node, input } => (None, Some((node, input))),
        };
        self.retries = self.journal.restore(&mut self.schedule, given).await?;
        if let Some((node, input)) = resume {
            self.wake(node, input)?;
            self.schedule.woke(node);
        }
        self.journal.claim(&self.schedule).await?;
        // Listed once this invocation holds the execution, so that a worker claiming a node
        // meanwhile either is seen here or sees this invocation's lease.
        if self.schedule.plan().fans_out() {
            self.workers = dispatch::survey(
                &*self.engine.store,
                self.journal.keys(),
                &self.schedule,
                self.engine.clock.now(),
            )
            .await?;
        }
        self.run().await?;
        // A run paused until a signal goes on with this invocation's answer: its token leaves
        // the state with the final write (kept until then, so that an invocation that fails
        // before leaves it to the next). The request's own run pauses until a signal if nothing
        // else can move the execution on; otherwise it goes on with this answer too.
        let mut task_tokens: Vec<String> = self.journal.take_task_token().into_iter().collect();
        if let Some(token) = self.task_token.take() {
            if self.awaits_signal() {
                task_tokens.retain(|held| *held != token);
                self.journal.keep_task_token(token);
            } else if !task_tokens.contains(&token) {
                task_tokens.push(token);
            }
        }
        self.journal.finish(&self.schedule).await?;
        if self.engine.index.is_some() {
            let record = ExecutionRecord::new(self.journal.state(), self.schedule.counts());
            self.engine.index_record(record, self.budget.hard_end).await;
        }
        let output = self.end_output(true).await?;
        let mut response = self.response(metadata, output);
        response.error_workflow = self.error_workflow().await;
        response.task_tokens = task_tokens;
        Ok(response)
    }

    /// Starts the workflow's error workflow when the execution failed, unless the execution
    /// reports another's failure itself.
    async fn error_workflow(&self) -> Option<ErrorWorkflowStart> {
        let state = self.journal.state();
        let plan = self.schedule.plan();
        let workflow_id = plan.error_workflow()?;
        if state.status != ExecutionStatus::Failed || state.error_of.is_some() {
            return None;
        }
        Some(
            self.engine
                .start_error_workflow(workflow_id, plan.workflow_name(), state)
                .await,
        )
    }

    /// What `execute_node` runs for node `node` when nobody handed it out: its input and
    /// attempt as this execution stands, if it is ready or waiting and no invocation is
    /// advancing the execution now.
    pub(super) async fn task(mut self, node: usize) -> Result<TaskSpec, EngineError> {
        if self.journal.state().status.is_finished() {
            return Err(self.finished(node));
        }
        self.journal.check_lease()?;
        self.retries = self.journal.restore(&mut self.schedule, None).await?;
        self.wake(node, None)?;
        let input = self.schedule.input(node);
        Ok(self.spec(node, input, 0))
    }

    /// The error for a request naming node `node` of a finished execution.
    fn finished(&self, node: usize) -> EngineError {
        let state = self.journal.state();
        EngineError::InvalidRequest(format!(
            "node `{}` cannot run: execution `{}` has already finished ({})",
            self.schedule.plan().nodes()[node].name,
            state.execution_id,
            if state.status == ExecutionStatus::Success {
                "succeeded"
            } else {
                "failed"
            }
        ))
    }

    /// What a worker needs to run node `index` on `items` (with its inputs' `input_ends`),
    /// the node's items from `first_item` on.
    fn spec(
        &mut self,
        index: usize,
        (items, input_ends): (Arc<[ItemData]>, Vec<usize>),
        first_item: usize,
    ) -> TaskSpec {
        let plan = self.schedule.plan();
        let node = &plan.nodes()[index];
        TaskSpec {
            kind: node.registration.kind.to_owned(),
            version: node.registration.version,
            parameters: Arc::clone(&node.parameters),
            execution: Some(Arc::clone(&self.execution)),
            retry: node.retry,
            timeout_ms: node
                .timeout
                .map(|timeout| u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
            on_error: node.on_error,
            attempt: self.schedule.attempt(index),
            started_at: self
                .schedule
                .started(index)
                .unwrap_or_else(|| self.engine.clock.now()),
            items,
            input_ends,
            first_item,
            retries: self.retries.remove(&index),
            reads: Arc::clone(&node.reads),
            depth: self.journal.state().depth,
            resumed: self.schedule.is_woken(index),
        }
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
    async fn run(&mut self) -> Result<(), EngineError> {
        let plan = self.schedule.plan();
        let max_concurrency = usize::try_from(plan.max_concurrency()).unwrap_or(usize::MAX);
        // Node runs are held inline by the set (one allocation per run).
        let mut running = FuturesUnordered::new();
        // One timer for the lease renewal, moved only when the renewal time changes: a timer
        // made afresh on every turn would register with the runtime's clock, and wake its
        // driver through a system call, for every node that finishes.
        let renewal =
            tokio::time::sleep_until(self.journal.renew_at().unwrap_or_else(Instant::now));
        tokio::pin!(renewal);
        loop {
            while running.len() < max_concurrency
                && self.schedule.failure().is_none()
                && self.budget.may_start()
                && self.may_start_next()
            {
                let next = self.schedule.start_next(|| self.engine.clock.now());
                self.report_skips();
                let Some(index) = next else {
                    break;
                };
                if self.hands_out(index) {
                    self.hand_out(index).await?;
                    self.report_skips();
                } else {
                    running.push(self.start(index));
                }
            }
            let renew_at = self.journal.renew_at();
            if let Some(at) = renew_at
                && renewal.deadline() != at
            {
                renewal.as_mut().reset(at);
            }
            let finished = tokio::select! {
                finished = running.next() => finished,
                () = &mut renewal, if renew_at.is_some() => {
                    self.journal.renew(&self.schedule).await?;
                    continue;
                }
            };
            if let Some(finished) = finished {
                self.settle(finished).await?;
                continue;
            }
            // Nothing runs. A waiting node whose time comes soon is slept for, unless workers
            // wait for this invocation's answer.
            if !self.tasks.list.is_empty() {
                break;
            }
            let Some((index, until)) = self.schedule.earliest_wait() else {
                break;
            };
            let delay = (until - self.engine.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            let fits = self
                .budget
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
        // Every task of the answer is stored before the answer is.
        self.tasks.write(&*self.engine.store).await
    }

    /// Whether node `index` runs elsewhere: handed out to workers rather than run here.
    fn hands_out(&self, index: usize) -> bool {
        self.schedule.plan().nodes()[index].dispatch == Dispatch::FanOut
            && !self.schedule.is_given(index)
    }

    /// Whether the next ready node may start. Once tasks are handed out, only more hand-outs
    /// do (while the answer has room): the workers wait for this invocation's answer, which no
    /// inline node should hold up.
    fn may_start_next(&self) -> bool {
        self.tasks.list.is_empty()
            || (self.tasks.has_room()
                && self
                    .schedule
                    .ready()
                    .next()
                    .is_some_and(|index| self.hands_out(index)))
    }

    /// Hands a fan-out node out to workers: a task for it (or one per batch of its input not
    /// stored yet), unless a live worker holds it, or it waits, or it failed; a batched node
    /// whose batches are all stored is assembled instead.
    async fn hand_out(&mut self, index: usize) -> Result<(), EngineError> {
        let plan = self.schedule.plan();
        let node = &plan.nodes()[index];
        let name = Arc::clone(&node.name);
        let workers = self.workers.remove(&index).unwrap_or_default();
        if let Some(at) = workers.started {
            self.schedule.started_at(index, at);
        }
        if let Some((attempt, error)) = workers.failed {
            self.journal.record_failure(&name, attempt, error.clone());
            self.schedule.fail(index, &error);
            return Ok(());
        }
        let (items, input_ends) = self.schedule.input(index);
        let (count, size) = match node.batch_size {
            None => (None, items.len()),
            Some(size) => (
                Some(dispatch::batch_count(items.len(), size)),
                usize::try_from(size).unwrap_or(usize::MAX),
            ),
        };
        let parts: Vec<Part> = match count {
            None => vec![Part::All],
            Some(count) => (0..count).map(Part::Batch).collect(),
        };
        if let Some(count) = count
            && parts.iter().all(|part| workers.done.contains(part))
        {
            return self.assemble(index, count).await;
        }
        let now = self.engine.clock.now();
        let mut away = false;
        let mut wait: Option<Parked> = None;
        // A node a request woke runs now, whatever its workers parked it for.
        let woken = self.schedule.is_woken(index);
        for part in parts {
            if workers.done.contains(&part) {
                continue;
            }
            if let Some(until) = workers.held.get(&part) {
                self.held_until = Some(self.held_until.map_or(*until, |held| held.min(*until)));
                away = true;
                continue;
            }
            if let Some(parked) = workers
                .waiting
                .get(&part)
                .filter(|parked| parked.until > now && !woken)
            {
                if wait.as_ref().is_none_or(|wait| parked.until < wait.until) {
                    wait = Some(parked.clone());
                }
                continue;
            }
            if !self.tasks.has_room() {
                // The rest are handed out in the next round.
                away = true;
                break;
            }
            let (input, first_item, batch) = match (part, count) {
                (Part::Batch(batch), Some(count)) => {
                    let start = usize::try_from(batch)
                        .unwrap_or(usize::MAX)
                        .saturating_mul(size);
                    let range = start.min(items.len())..start.saturating_add(size).min(items.len());
                    let ends = input_ends
                        .iter()
                        .map(|end| end.clamp(&range.start, &range.end) - range.start)
                        .collect();
                    let first_item = range.start;
                    (
                        (items[range].into(), ends),
                        first_item,
                        Some(Batch {
                            index: batch,
                            count,
                        }),
                    )
                }
                _ => ((Arc::clone(&items), input_ends.clone()), 0, None),
            };
            let spec = self.spec(index, input, first_item);
            let key = self.journal.keys().task(&name, part);
            self.tasks
                .push(
                    Task {
                        node_name: name.to_string(),
                        batch,
                        spec: None,
                    },
                    key,
                    to_json(&spec)?,
                    &*self.engine.store,
                )
                .await?;
            away = true;
        }
        if away {
            self.journal.forget(&name);
            self.schedule.away(index);
        } else if let Some(parked) = wait {
            self.park(index, parked);
        }
        Ok(())
    }

    /// Parks node `index` as `parked` says: recorded for the state.
    fn park(&mut self, index: usize, parked: Parked) {
        let Parked {
            until,
            attempt,
            error,
            signal,
        } = parked;
        self.journal.record_wait(
            &self.schedule.plan().nodes()[index].name,
            NodeState::Waiting {
                attempt,
                resume_at: until,
                signal,
                last_error: error,
                started_at: self.schedule.started(index),
            },
        );
        self.schedule.park(index, attempt, until, signal);
    }

    /// A batched node whose `count` batches are all stored: their outputs, end to end, are its
    /// output (stored under the highest attempt any batch took), unless they make more items
    /// than a node may output.
    async fn assemble(&mut self, index: usize, count: u32) -> Result<(), EngineError> {
        let name = Arc::clone(&self.schedule.plan().nodes()[index].name);
        let mut outputs: Vec<Vec<ItemData>> = Vec::new();
        let mut attempt = 1;
        let keys: Vec<String> = (0..count)
            .map(|batch| self.journal.keys().part(&name, batch))
            .collect();
        let parts: Vec<PartOutput> = read_all_recorded(&*self.engine.store, keys).await?;
        for part in parts {
            attempt = attempt.max(part.attempt);
            if outputs.len() < part.outputs.len() {
                outputs.resize_with(part.outputs.len(), Vec::new);
            }
            for (all, items) in outputs.iter_mut().zip(part.outputs) {
                all.extend(items);
            }
        }
        let count = outputs.iter().map(Vec::len).sum();
        if let Err(problem) = self.engine.options.limits.check_output_count(count) {
            // Together over the limit: the node's failure, taken as its `on_error` says.
            let error = NodeError::terminal(problem);
            let (items, _) = self.schedule.input(index);
            let failed = Outcome::Failed { attempt, error };
            let ran = Ran {
                items_in: items.len(),
                items,
                outcome: failed,
            };
            let finished = Finished {
                index,
                ran,
                duration: Duration::ZERO,
            };
            return self.settle(finished).await;
        }
        let output = NodeOutput::new(outputs);
        self.journal.record_output(&name, attempt, &output).await?;
        self.schedule.succeed(index, attempt, output);
        self.report_skips();
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

    /// The future of one node run (see [`NodeRun`]).
    fn start(&mut self, index: usize) -> impl Future<Output = Finished> + Send + 'static {
        let plan = self.schedule.plan();
        let node = &plan.nodes()[index];
        let (items, input_ends) = self.schedule.take_input(index);
        let run = NodeRun {
            registration: node.registration,
            name: Arc::clone(&node.name),
            execution: Arc::clone(&self.execution),
            parameters: Arc::clone(&node.parameters),
            items: RunInput::new(items),
            input_ends,
            first_item: 0,
            retry: node.retry,
            timeout: node.timeout,
            on_error: node.on_error,
            started_at: self
                .schedule
                .started(index)
                .unwrap_or_else(|| self.engine.clock.now()),
            clock: Arc::clone(&self.engine.clock),
            random: Arc::clone(&self.engine.random),
            start_until: self.budget.start_until,
            hard_end: self.budget.hard_end,
            own_threads: self.engine.options.node_threads,
            limits: self.engine.options.limits,
            resume: self.retries.remove(&index),
            reads: Reads::new(
                &self.engine.store,
                self.journal.keys(),
                &node.reads,
                &node.parameters,
                &self.engine.secrets,
            ),
            sub_workflows: SubWorkflows::new(self.engine, self.journal.state().depth),
            resumed: self.schedule.is_woken(index),
            observer: self.engine.observer.clone(),
        };
        // Mapped rather than awaited in an `async` block, which would hold the run beside the
        // future it moves into: a node run's future is copied into the set of running ones.
        let timer = Instant::now();
        run.run(self.schedule.attempt(index))
            .map(move |ran| Finished {
                index,
                ran,
                duration: timer.elapsed(),
            })
    }

    /// Records what a node run came to; a success is written to the store before it counts.
    async fn settle(
        &mut self,
        Finished {
            index,
            ran:
                Ran {
                    items,
                    items_in,
                    outcome,
                },
            duration,
        }: Finished,
    ) -> Result<(), EngineError> {
        let plan = self.schedule.plan();
        let node = &plan.nodes()[index];
        let name = &*node.name;
        let (attempt, what) = outcome.reported();
        self.report(index, attempt, what, duration);
        self.journal.remember(outcome.history(
            name,
            node.registration.kind,
            items_in,
            self.engine.clock.now(),
            duration,
        ));
        match outcome.or_passed_on(&items, node.on_error, node.registration.outputs) {
            Outcome::Succeeded {
                attempt,
                mut output,
            } => {
                self.journal.record_output(name, attempt, &output).await?;
                if plan.successors(index).is_empty() {
                    let limit = self.engine.options.max_inline_output;
                    self.end_outputs.keep(index, &mut output, limit);
                }
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
                signal,
                error,
                retries,
            } => {
                self.journal.forget(name);
                // A node parking again is no longer woken.
                self.keep_progress(index, &items, retries, false).await?;
                self.park(
                    index,
                    Parked {
                        until,
                        attempt,
                        error,
                        signal,
                    },
                );
            }
            Outcome::Interrupted { attempt, retries } => {
                // Not an attempt of the node: it runs again with the same attempt number (and
                // idempotency key) in the next invocation.
                self.journal.forget(name);
                let woken = self.schedule.is_woken(index);
                self.keep_progress(index, &items, retries, woken).await?;
                self.schedule.interrupt(index, attempt);
            }
        }
        Ok(())
    }

    /// Keeps what a parked or interrupted node's next run starts from: in the store when its
    /// connections cannot give it again, and here for a run later in this invocation (the
    /// input its run took back in the schedule).
    async fn keep_progress(
        &mut self,
        index: usize,
        items: &Arc<[ItemData]>,
        retries: Option<ItemRetries>,
        woken: bool,
    ) -> Result<(), EngineError> {
        self.schedule.give_back(index, Arc::clone(items));
        let name = &self.schedule.plan().nodes()[index].name;
        let input = self.schedule.is_given(index).then_some(&items[..]);
        self.journal
            .keep_progress(name, input, retries.as_ref(), woken)
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
                execution_id: &self.execution.id,
                workflow_id: &self.execution.workflow_id,
                node: &node.name,
                kind: node.registration.kind,
                attempt,
                outcome,
                duration,
            });
        }
    }

    async fn end_output(&mut self, restored: bool) -> Result<Option<EndOutput>, EngineError> {
        self.journal
            .end_output(
                &self.schedule,
                restored,
                self.engine.options.max_inline_output,
                std::mem::take(&mut self.end_outputs),
            )
            .await
    }

    /// Whether the execution, as this invocation leaves it, waits for a signal: nothing runs
    /// and no task is handed out, and a node waits for one.
    fn awaits_signal(&self) -> bool {
        self.schedule.status() == ExecutionStatus::Waiting
            && self.tasks.list.is_empty()
            && self.schedule.awaiting_signal().next().is_some()
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
            _ if !self.tasks.list.is_empty() => NextAction::FanOut {
                tasks: self.tasks.list.clone(),
            },
            ExecutionStatus::Waiting => {
                let resume_at = self
                    .schedule
                    .earliest_wait()
                    .map(|(_, until)| until)
                    .into_iter()
                    .chain(self.held_until)
                    .min();
                let signalled: Vec<String> = self
                    .schedule
                    .awaiting_signal()
                    .map(|index| self.schedule.plan().nodes()[index].name.to_string())
                    .collect();
                if signalled.is_empty() {
                    NextAction::Wait {
                        resume_at: resume_at.unwrap_or_else(|| self.engine.clock.now()),
                    }
                } else {
                    NextAction::await_signal(
                        signalled,
                        resume_at.filter(|at| *at < latest_rfc3339()),
                        self.engine.clock.now(),
                    )
                }
            }
            // Nothing to run here while live workers hold nodes: come back when their
            // leases end (their work is adopted as soon as it is stored).
            ExecutionStatus::Running
                if self.schedule.ready().next().is_none() && self.held_until.is_some() =>
            {
                NextAction::Wait {
                    resume_at: self.held_until.unwrap_or_else(|| self.engine.clock.now()),
                }
            }
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
            error_workflow: None,
            task_tokens: Vec::new(),
        }
    }
}
