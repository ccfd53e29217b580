//! One invocation: claim the execution, run ready nodes eagerly within the budget, persist,
//! and answer with the next action.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::attempt::{ItemRetries, NodeRun, Outcome};
use super::clock::saturating_add;
use super::{EndOutput, Engine, EngineError, NodeEvent, NodeOutcome, Plan, to_json};
use crate::model::{
    ExecutionState, ExecutionStatus, ItemData, ItemSource, Lease, NextAction, NodeState, OnError,
    Response,
};
use crate::node::NodeOutput;
use crate::node::execute::failed_output;
use crate::store::{Condition, ExecutionKeys, StoreError, Version};

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

/// Where a node stands during an invocation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Waiting for incoming connections.
    Pending,
    /// All inputs resolved; queued to start.
    Ready,
    Running,
    /// Parked until a time.
    Waiting(DateTime<Utc>),
    /// Its output is stored (under the key of `attempts[index]`).
    Succeeded,
    /// No input carried items. Not stored: derived again from the outputs on every restore.
    Skipped,
    /// Failed for good.
    Failed,
}

impl Phase {
    const fn is_done(self) -> bool {
        matches!(self, Self::Succeeded | Self::Skipped | Self::Failed)
    }
}

/// A node run that ended: which node, its input (given back), and what it came to.
type Finished = (usize, Arc<[ItemData]>, Outcome, Duration);

pub(super) struct Invocation<'a> {
    engine: &'a Engine,
    plan: &'a Plan,
    keys: ExecutionKeys,
    state: ExecutionState,
    version: Version,
    /// No node starts after this instant.
    start_until: Option<Instant>,
    /// Running nodes are interrupted at this instant.
    hard_end: Option<Instant>,
    phases: Vec<Phase>,
    /// Unresolved incoming connections per node.
    unresolved: Vec<usize>,
    /// Items delivered, per node; kept while the node runs, so that a run that parks or is
    /// interrupted leaves them in place for the next one.
    inputs: Vec<Delivered>,
    /// Nodes whose input a request gave (in `inputs`), rather than their connections.
    given: BTreeSet<usize>,
    /// Per-item retries under way, by node: its next run retries those items only.
    retries: HashMap<usize, ItemRetries>,
    attempts: Vec<u32>,
    /// The execution's identifier, shared by every node run.
    execution_id: Arc<str>,
    /// This invocation's identity in leases.
    owner: String,
    /// When to renew the lease, for an invocation without a deadline.
    renew_at: Option<Instant>,
    /// When each node first started, once it has.
    started: Vec<Option<DateTime<Utc>>>,
    ready: VecDeque<usize>,
    failure: Option<String>,
    /// Whether skips are reported to the observer: not while restoring, which derives again
    /// skips reported before.
    reporting_skips: bool,
}

impl<'a> Invocation<'a> {
    pub(super) fn new(
        engine: &'a Engine,
        plan: &'a Plan,
        keys: ExecutionKeys,
        state: ExecutionState,
        version: Version,
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
        let count = plan.nodes().len();
        let execution_id = Arc::from(state.execution_id.as_str());
        Self {
            engine,
            plan,
            keys,
            state,
            version,
            start_until: deadline
                .map(|deadline| deadline.checked_sub(options.safety_margin).unwrap_or(now)),
            hard_end: deadline.map(|deadline| {
                deadline
                    .checked_sub(options.safety_margin / 2)
                    .unwrap_or(now)
            }),
            phases: vec![Phase::Pending; count],
            unresolved: plan.nodes().iter().map(|node| node.incoming).collect(),
            inputs: vec![Delivered::default(); count],
            given: BTreeSet::new(),
            retries: HashMap::new(),
            attempts: vec![1; count],
            execution_id,
            owner: uuid::Uuid::now_v7().to_string(),
            renew_at: None,
            started: vec![None; count],
            ready: VecDeque::new(),
            failure: None,
            reporting_skips: true,
        }
    }

    pub(super) async fn execute(
        mut self,
        scope: Scope,
        metadata: Map<String, Value>,
    ) -> Result<Response, EngineError> {
        if self.state.status.is_finished() {
            if let Scope::Resume { node, .. } | Scope::Only { node, .. } = scope {
                return Err(EngineError::InvalidRequest(format!(
                    "node `{}` cannot run: execution `{}` has already finished ({})",
                    self.plan.nodes()[node].name,
                    self.state.execution_id,
                    if self.state.status == ExecutionStatus::Success {
                        "succeeded"
                    } else {
                        "failed"
                    }
                )));
            }
            // Nothing to do: answer as the invocation that finished it did.
            let output = self.output(false).await?;
            return Ok(self.response(metadata, output));
        }
        // Reading and checking first, so that a request that cannot be carried out changes
        // nothing; the claim then fails if anyone else wrote the state meanwhile.
        self.restore().await?;
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
        self.claim().await?;
        self.run(only).await?;
        self.finish().await?;
        let output = self.output(true).await?;
        Ok(self.response(metadata, output))
    }

    /// Marks the execution as being advanced by this invocation, so that a racing invocation
    /// loses before running anything.
    ///
    /// A lease held by another live invocation is a conflict too: that invocation is advancing
    /// the execution now, and would lose its work if this one went ahead.
    async fn claim(&mut self) -> Result<(), EngineError> {
        let now = self.engine.clock.now();
        if let Some(lease) = self.state.lease.as_ref().filter(|lease| lease.until > now) {
            return Err(EngineError::StateConflict(format!(
                "execution `{}` is being advanced by invocation {} until {}",
                self.state.execution_id, lease.owner, lease.until
            )));
        }
        self.state.status = ExecutionStatus::Running;
        self.renew_lease();
        self.persist_state().await
    }

    /// Extends this invocation's lease: to the hard end when there is a deadline, else by
    /// `options.lease` from now (renewed as the invocation goes on).
    fn renew_lease(&mut self) {
        let now = self.engine.clock.now();
        let hold = match self.hard_end {
            Some(end) => end.saturating_duration_since(Instant::now()),
            None => self.engine.options.lease,
        };
        self.state.lease = Some(Lease {
            owner: self.owner.clone(),
            until: saturating_add(now, hold),
        });
        // A lease too long to renew within the clock's range never needs renewing.
        self.renew_at = self
            .hard_end
            .is_none()
            .then(|| Instant::now().checked_add(self.engine.options.lease / 3))
            .flatten();
    }

    /// Writes the state object: the header, and the states of the nodes in flight or failed
    /// (succeeded nodes are recorded by their outputs, skips are derived from them).
    async fn persist_state(&mut self) -> Result<(), EngineError> {
        let now = self.engine.clock.now();
        self.state.updated_at = now;
        let running: Vec<usize> = (0..self.phases.len())
            .filter(|&index| self.phases[index] == Phase::Running)
            .collect();
        let bytes = if running.is_empty() {
            to_json(&self.state)?
        } else {
            // Mid-run (a lease renewal): which nodes run, and with which attempt.
            let mut state = self.state.clone();
            for index in running {
                state.nodes.insert(
                    self.plan.nodes()[index].name.to_string(),
                    NodeState::Running {
                        attempt: self.attempts[index],
                        started_at: self.started[index].unwrap_or(now),
                    },
                );
            }
            to_json(&state)?
        };
        let condition = Condition::Match(self.version.clone());
        self.version = self
            .engine
            .store
            .put(&self.keys.state(), bytes, condition)
            .await
            .map_err(|error| match error {
                StoreError::Missing { .. } => {
                    EngineError::StateConflict(format!("`{}` disappeared", self.keys.state()))
                }
                other => other.into(),
            })?;
        Ok(())
    }

    /// Rebuilds the in-memory schedule from what is stored: every stored output is a node that
    /// succeeded, and delivers its items to the nodes still to run; the state object's
    /// per-node states say which nodes wait, failed, or were running when their process died
    /// (those run again with the same attempt); skips are derived again as outputs resolve.
    async fn restore(&mut self) -> Result<(), EngineError> {
        let plan = self.plan;
        for (name, recorded) in &self.state.nodes {
            let index = plan.index_of(name).ok_or_else(|| {
                EngineError::Store(format!(
                    "`{}` records node `{name}`, which the execution's workflow does not have",
                    self.keys.state()
                ))
            })?;
            match recorded {
                NodeState::Running { attempt, .. } => self.attempts[index] = *attempt,
                NodeState::Waiting {
                    attempt,
                    resume_at,
                    started_at,
                    ..
                } => {
                    self.attempts[index] = *attempt;
                    self.started[index] = *started_at;
                    self.phases[index] = Phase::Waiting(*resume_at);
                }
                NodeState::Success { attempt, .. } => {
                    self.attempts[index] = *attempt;
                    self.phases[index] = Phase::Succeeded;
                }
                NodeState::Skipped {} => {}
                NodeState::Failed { .. } => self.phases[index] = Phase::Failed,
            }
        }
        // Only nodes still in flight or failed keep a per-node state.
        self.state.nodes.retain(|_, recorded| {
            matches!(
                recorded,
                NodeState::Running { .. } | NodeState::Waiting { .. } | NodeState::Failed { .. }
            )
        });
        self.adopt_outputs().await?;
        self.failure = self
            .state
            .nodes
            .iter()
            .find_map(|(name, recorded)| match recorded {
                NodeState::Failed { error, .. } => Some(format!("node `{name}` failed: {error}")),
                _ => None,
            });
        // Every finished node is done before any delivers: a delivery must never make a
        // finished successor ready again.
        self.reporting_skips = false;
        for index in 0..plan.nodes().len() {
            if self.phases[index] != Phase::Succeeded {
                continue;
            }
            let output = if self.feeds_unfinished(index) {
                let key = self
                    .keys
                    .output(&plan.nodes()[index].name, self.attempts[index]);
                Some(NodeOutput::new(self.engine.read_recorded(&key).await?))
            } else {
                None
            };
            self.resolve_outputs(index, output);
        }
        let starts_to_feed: Vec<usize> = plan
            .starts()
            .iter()
            .copied()
            .filter(|&index| !self.phases[index].is_done())
            .collect();
        if !starts_to_feed.is_empty() {
            let input: Vec<ItemData> = self.engine.read_recorded(&self.keys.input()).await?;
            let input: Arc<[ItemData]> = input.into();
            for index in starts_to_feed {
                self.inputs[index] = Delivered::single(Arc::clone(&input));
                if self.resolved(index) {
                    self.resolve_outputs(index, None);
                }
            }
        }
        self.restore_progress().await?;
        self.reporting_skips = true;
        Ok(())
    }

    /// Puts back what parked nodes' next runs start from (see [`Progress`]), once deliveries
    /// are done: items a request gave replace what the connections delivered.
    async fn restore_progress(&mut self) -> Result<(), EngineError> {
        for name in std::mem::take(&mut self.state.progress) {
            let Some(index) = self.plan.index_of(&name) else {
                return Err(EngineError::Store(format!(
                    "`{}` records the progress of node `{name}`, which the execution's workflow does not have",
                    self.keys.state()
                )));
            };
            if self.phases[index].is_done() {
                continue;
            }
            let key = self.keys.progress(&name);
            // Missing: the process died between the object and the state that lists it.
            let Some(stored) = self.engine.store.get(&key).await? else {
                continue;
            };
            let progress: Progress<'static> = super::from_json(&key, &stored.bytes)?;
            if let Some(input) = progress.input {
                self.inputs[index] = Delivered::single(input.into_owned().into());
                self.given.insert(index);
            }
            if let Some(retries) = progress.retries {
                self.retries.insert(index, retries.into_owned());
            }
            self.state.progress.insert(name);
        }
        Ok(())
    }

    /// Marks every node with a stored output as succeeded, whether or not the state recorded
    /// it: a node whose result is durably stored never runs again.
    async fn adopt_outputs(&mut self) -> Result<(), EngineError> {
        let listed = self.engine.store.list(&self.keys.outputs()).await?;
        let mut latest = self.keys.latest_outputs(listed);
        // Names are encoded to find their outputs (a long name's key segment cannot be
        // decoded), until every output is matched.
        for (index, node) in self.plan.nodes().iter().enumerate() {
            if latest.is_empty() {
                break;
            }
            let Some((attempt, _)) = latest.take(&node.name) else {
                continue;
            };
            self.phases[index] = Phase::Succeeded;
            self.attempts[index] = attempt;
            self.state.nodes.remove(&*node.name);
        }
        Ok(())
    }

    /// Whether any successor of `index` still has to run (or be skipped).
    fn feeds_unfinished(&self, index: usize) -> bool {
        self.plan
            .successors(index)
            .iter()
            .any(|edge| !self.phases[edge.node].is_done())
    }

    /// Makes a waiting (or ready) node runnable now, optionally with new input.
    fn wake(&mut self, index: usize, input: Option<Vec<ItemData>>) -> Result<(), EngineError> {
        let name = &self.plan.nodes()[index].name;
        match self.phases[index] {
            Phase::Waiting(_) | Phase::Ready => {}
            Phase::Succeeded | Phase::Skipped | Phase::Failed => {
                return Err(EngineError::InvalidRequest(format!(
                    "node `{name}` has already finished"
                )));
            }
            Phase::Pending | Phase::Running => {
                return Err(EngineError::InvalidRequest(format!(
                    "node `{name}` is not ready: some of its inputs are unresolved"
                )));
            }
        }
        if let Some(input) = input {
            // Kept with the node's progress if it parks again, so never dropped; retries of
            // some of the old items no longer apply.
            self.inputs[index] = Delivered::single(input.into());
            self.given.insert(index);
            self.retries.remove(&index);
        }
        if self.phases[index] != Phase::Ready {
            self.phases[index] = Phase::Ready;
            self.ready.push_front(index);
        }
        Ok(())
    }

    /// The scheduling loop: starts ready nodes eagerly up to `max_concurrency` while the budget
    /// lasts, and handles each outcome as it arrives.
    async fn run(&mut self, only: Option<usize>) -> Result<(), EngineError> {
        let max_concurrency = usize::try_from(self.plan.max_concurrency()).unwrap_or(usize::MAX);
        // Node runs are held inline by the set (one allocation per run).
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < max_concurrency && self.failure.is_none() && self.may_start() {
                let Some(index) = self.next_ready(only) else {
                    break;
                };
                if self.inputs[index].is_empty() {
                    // Given no items by a request (the schedule skips such nodes on its own).
                    self.skip(index);
                    self.resolve_outputs(index, None);
                    continue;
                }
                self.phases[index] = Phase::Running;
                running.push(self.start(index));
            }
            let renewal = async {
                match self.renew_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let finished = tokio::select! {
                finished = running.next() => finished,
                () = renewal => {
                    // A long invocation without a deadline keeps its hold, and its progress
                    // so far becomes durable.
                    self.renew_lease();
                    self.persist_state().await?;
                    continue;
                }
            };
            if let Some(finished) = finished {
                self.settle(finished).await?;
                continue;
            }
            // Nothing runs. A waiting node whose time comes soon is slept for.
            let Some((index, until)) = self.earliest_wait(only) else {
                break;
            };
            let delay = (until - self.engine.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            let fits = self
                .start_until
                .is_none_or(|end| Instant::now() + delay < end);
            if self.failure.is_some() || delay > self.engine.options.max_inline_wait || !fits {
                break;
            }
            self.sleep_inline(delay).await?;
            self.phases[index] = Phase::Ready;
            self.ready.push_back(index);
        }
        Ok(())
    }

    /// Sleeps through a short wait, holding the execution. The wait is persisted first, with
    /// when the node started: a process that dies while sleeping leaves it to the next
    /// invocation to finish, instead of starting it again from zero.
    async fn sleep_inline(&mut self, delay: Duration) -> Result<(), EngineError> {
        let wake = Instant::now() + delay;
        loop {
            self.renew_lease();
            self.persist_state().await?;
            match self.renew_at.filter(|renewal| *renewal < wake) {
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

    fn next_ready(&mut self, only: Option<usize>) -> Option<usize> {
        match only {
            None => self.ready.pop_front(),
            Some(node) => {
                let position = self.ready.iter().position(|&ready| ready == node)?;
                self.ready.remove(position)
            }
        }
    }

    fn earliest_wait(&self, only: Option<usize>) -> Option<(usize, DateTime<Utc>)> {
        self.phases
            .iter()
            .enumerate()
            .filter(|(index, _)| only.is_none_or(|node| node == *index))
            .filter_map(|(index, phase)| match phase {
                Phase::Waiting(until) => Some((index, *until)),
                _ => None,
            })
            .min_by_key(|(_, until)| *until)
    }

    /// The future of one node run (see [`NodeRun`]).
    fn start(&mut self, index: usize) -> impl Future<Output = Finished> + Send + 'static {
        let node = &self.plan.nodes()[index];
        let (items, input_ends) = self.inputs[index].items();
        let run = NodeRun {
            registration: node.registration,
            name: Arc::clone(&node.name),
            execution_id: Arc::clone(&self.execution_id),
            parameters: Arc::clone(&self.plan.parameters()[index]),
            items,
            input_ends,
            retry: node.retry,
            timeout: node.timeout,
            on_error: node.on_error,
            started_at: *self.started[index].get_or_insert_with(|| self.engine.clock.now()),
            clock: Arc::clone(&self.engine.clock),
            random: Arc::clone(&self.engine.random),
            start_until: self.start_until,
            hard_end: self.hard_end,
            own_threads: self.engine.options.node_threads,
            resume: self.retries.remove(&index),
        };
        let attempt = self.attempts[index];
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
        let node = &self.plan.nodes()[index];
        let name = node.name.clone();
        if let Some(observer) = &self.engine.observer {
            let (attempt, what) = match &outcome {
                Outcome::Succeeded { attempt, .. } => (*attempt, NodeOutcome::Succeeded),
                Outcome::Failed { attempt, .. } => (*attempt, NodeOutcome::Failed),
                Outcome::Parked { attempt, .. } => (*attempt, NodeOutcome::Waiting),
                Outcome::Interrupted { attempt, .. } => (*attempt, NodeOutcome::Interrupted),
            };
            observer.node_finished(&NodeEvent {
                execution_id: &self.state.execution_id,
                node: &name,
                kind: node.registration.kind,
                attempt,
                outcome: what,
                duration,
            });
        }
        match outcome {
            Outcome::Succeeded { attempt, output } => self.succeed(index, attempt, output).await?,
            Outcome::Failed { attempt, error } if node.on_error != OnError::Stop => {
                // `continue` and `error_output` apply to the whole node too (a timeout, a panic,
                // a failure outside the per-item loop): every input item passes on with it.
                let output =
                    failed_output(&items, node.on_error, node.registration.outputs, &error);
                self.succeed(index, attempt, output).await?;
            }
            Outcome::Failed { attempt, error } => {
                self.phases[index] = Phase::Failed;
                self.inputs[index] = Delivered::default();
                self.forget_progress(index);
                self.failure = Some(format!("node `{name}` failed: {error}"));
                self.state.nodes.insert(
                    name.to_string(),
                    NodeState::Failed {
                        attempt,
                        error: error.to_string(),
                    },
                );
            }
            Outcome::Parked {
                attempt,
                until,
                error,
                retries,
            } => {
                self.keep_progress(index, &items, retries).await?;
                self.attempts[index] = attempt;
                self.phases[index] = Phase::Waiting(until);
                let started_at = self.started[index];
                self.state.nodes.insert(
                    name.to_string(),
                    NodeState::Waiting {
                        attempt,
                        resume_at: until,
                        last_error: error,
                        started_at,
                    },
                );
            }
            Outcome::Interrupted { attempt, retries } => {
                // Not an attempt of the node: it runs again with the same attempt number (and
                // idempotency key) in the next invocation.
                self.keep_progress(index, &items, retries).await?;
                self.attempts[index] = attempt;
                self.phases[index] = Phase::Ready;
                self.ready.push_back(index);
                self.state.nodes.remove(&*name);
            }
        }
        Ok(())
    }

    async fn succeed(
        &mut self,
        index: usize,
        attempt: u32,
        output: NodeOutput,
    ) -> Result<(), EngineError> {
        // The stored output is the node's record: nothing else is written for a success.
        let name = &self.plan.nodes()[index].name;
        let key = self.keys.output(name, attempt);
        let bytes = to_json(&output.outputs)?;
        self.engine
            .store
            .put(&key, bytes, Condition::Create)
            .await?;
        self.state.nodes.remove(&**name);
        self.inputs[index] = Delivered::default();
        self.forget_progress(index);
        self.attempts[index] = attempt;
        self.phases[index] = Phase::Succeeded;
        self.resolve_outputs(index, Some(output));
        Ok(())
    }

    /// Stores what the next run of a node that parked or was cut off starts from, when its
    /// connections alone cannot tell: the items a request gave it, its item `retries` under
    /// way. The state lists it when next persisted; until then the request has not been
    /// answered, so a process that dies in between loses nothing its caller will not send again.
    async fn keep_progress(
        &mut self,
        index: usize,
        input: &[ItemData],
        retries: Option<ItemRetries>,
    ) -> Result<(), EngineError> {
        let given = self.given.contains(&index);
        if !given && retries.is_none() {
            return Ok(());
        }
        let name = &self.plan.nodes()[index].name;
        let progress = Progress {
            input: given.then_some(Cow::Borrowed(input)),
            retries: retries.as_ref().map(Cow::Borrowed),
        };
        let key = self.keys.progress(name);
        // Only this invocation writes it while it holds the lease.
        let condition = match self.engine.store.get(&key).await? {
            Some(stored) => Condition::Match(stored.version),
            None => Condition::Create,
        };
        self.engine
            .store
            .put(&key, to_json(&progress)?, condition)
            .await?;
        self.state.progress.insert(name.to_string());
        if let Some(retries) = retries {
            self.retries.insert(index, retries);
        }
        Ok(())
    }

    /// A node finished: any stored progress of its no longer applies.
    fn forget_progress(&mut self, index: usize) {
        self.given.remove(&index);
        if !self.state.progress.is_empty() {
            self.state.progress.remove(&*self.plan.nodes()[index].name);
        }
    }

    /// Marks a node whose inputs carried no items as skipped; its own outputs resolve empty.
    fn skip(&mut self, index: usize) {
        let node = &self.plan.nodes()[index];
        if let Some(observer) = self
            .engine
            .observer
            .as_ref()
            .filter(|_| self.reporting_skips)
        {
            observer.node_finished(&NodeEvent {
                execution_id: &self.state.execution_id,
                node: &node.name,
                kind: node.registration.kind,
                attempt: self.attempts[index],
                outcome: NodeOutcome::Skipped,
                duration: Duration::ZERO,
            });
        }
        self.state.nodes.remove(&*node.name);
        self.phases[index] = Phase::Skipped;
    }

    /// Resolves every connection leaving `index`, delivering `output`'s items (stamped with
    /// their origin). A target whose inputs are all resolved becomes ready, or is skipped at
    /// once when none carried items, and so on down the graph.
    fn resolve_outputs(&mut self, index: usize, output: Option<NodeOutput>) {
        let mut skipped = Vec::new();
        self.deliver(index, output, &mut skipped);
        while let Some(index) = skipped.pop() {
            self.deliver(index, None, &mut skipped);
        }
    }

    /// Delivers one node's outputs; targets skipped on the way are pushed onto `skipped`.
    fn deliver(&mut self, index: usize, output: Option<NodeOutput>, skipped: &mut Vec<usize>) {
        let plan = self.plan;
        let node = &plan.nodes()[index];
        let mut outputs = output.map(|output| output.outputs).unwrap_or_default();
        for (output_index, edges) in plan.outputs(index).enumerate() {
            if edges.is_empty() {
                continue;
            }
            let mut items = outputs
                .get_mut(output_index)
                .map(std::mem::take)
                .unwrap_or_default();
            for (position, item) in items.iter_mut().enumerate() {
                item.source = Some(ItemSource {
                    node: Arc::clone(&node.name),
                    output_index: count(output_index),
                    item_index: count(position),
                });
            }
            // One copy, shared by every target.
            let items: Arc<[ItemData]> = items.into();
            for edge in edges {
                let target = edge.node;
                if !self.phases[target].is_done() {
                    let input = usize::try_from(edge.input).unwrap_or(usize::MAX);
                    self.inputs[target].push(input, &items);
                }
                self.unresolved[target] = self.unresolved[target].saturating_sub(1);
                if self.unresolved[target] == 0 && self.resolved(target) {
                    skipped.push(target);
                }
            }
        }
    }

    /// A pending node whose incoming connections are all resolved: it becomes ready, or is
    /// skipped when no input carried items (returning `true`: its outputs resolve next).
    fn resolved(&mut self, index: usize) -> bool {
        if self.phases[index] != Phase::Pending {
            return false;
        }
        if self.inputs[index].is_empty() {
            self.skip(index);
            true
        } else {
            self.phases[index] = Phase::Ready;
            self.ready.push_back(index);
            false
        }
    }

    /// Sets the final status and persists the state.
    async fn finish(&mut self) -> Result<(), EngineError> {
        let waiting = self
            .phases
            .iter()
            .any(|phase| matches!(phase, Phase::Waiting(_)));
        let unfinished = self.phases.iter().any(|phase| !phase.is_done());
        self.state.status = if self.failure.is_some() {
            ExecutionStatus::Failed
        } else if !unfinished {
            ExecutionStatus::Success
        } else if self.ready.is_empty() && waiting {
            ExecutionStatus::Waiting
        } else {
            ExecutionStatus::Running
        };
        self.state.error.clone_from(&self.failure);
        self.state.lease = None;
        self.persist_state().await
    }

    /// The output of a completed execution (the end nodes' items), as a response carries it;
    /// `None` unless it completed. Unless the schedule was `restored` (the execution had
    /// finished before this invocation), the end nodes' results are found by listing them.
    async fn output(&self, restored: bool) -> Result<Option<EndOutput>, EngineError> {
        if self.state.status != ExecutionStatus::Success {
            return Ok(None);
        }
        let end_keys = if restored {
            self.plan
                .nodes()
                .iter()
                .enumerate()
                .filter(|&(index, _)| {
                    self.phases[index] == Phase::Succeeded && self.plan.successors(index).is_empty()
                })
                .map(|(index, node)| self.keys.output(&node.name, self.attempts[index]))
                .collect()
        } else {
            self.engine.end_output_keys(self.plan, &self.keys).await?
        };
        self.engine
            .read_end_output(&end_keys, self.engine.options.max_inline_output)
            .await
            .map(Some)
    }

    /// The execution as it stands, with every node's state: the stored per-node states, a
    /// success for every stored output, and the skips they imply.
    pub(super) async fn view(mut self) -> Result<ExecutionState, EngineError> {
        self.restore().await?;
        let mut state = self.state;
        for (index, node) in self.plan.nodes().iter().enumerate() {
            let derived = match self.phases[index] {
                Phase::Succeeded => NodeState::Success {
                    attempt: self.attempts[index],
                    output_key: self.keys.output(&node.name, self.attempts[index]),
                },
                Phase::Skipped => NodeState::Skipped {},
                _ => continue,
            };
            state.nodes.insert(node.name.to_string(), derived);
        }
        Ok(state)
    }

    fn response(&self, metadata: Map<String, Value>, output: Option<EndOutput>) -> Response {
        let next_action = match self.state.status {
            ExecutionStatus::Success => NextAction::Complete,
            ExecutionStatus::Failed => NextAction::Failed {
                error: self
                    .state
                    .error
                    .clone()
                    .unwrap_or_else(|| "the execution failed".to_owned()),
            },
            ExecutionStatus::Waiting => NextAction::Wait {
                resume_at: self
                    .earliest_wait(None)
                    .map_or_else(|| self.engine.clock.now(), |(_, until)| until),
            },
            ExecutionStatus::Running => NextAction::Continue {
                next_nodes: self
                    .ready
                    .iter()
                    .map(|&index| self.plan.nodes()[index].name.to_string())
                    .collect(),
            },
        };
        let (output_data, output_ref) = match output {
            None => (None, None),
            Some(EndOutput::Inline(items)) => (Some(items), None),
            Some(EndOutput::Stored(reference)) => (None, Some(reference)),
        };
        Response {
            success: self.state.status != ExecutionStatus::Failed,
            execution_id: self.state.execution_id.clone(),
            status: self.state.status,
            next_action,
            state_key: self.keys.state(),
            output_data,
            output_ref,
            error: self.state.error.clone(),
            metadata,
        }
    }
}

fn count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// What a parked node's next run starts from, stored at `progress/{node}.json` when its
/// connections alone cannot tell (listed in [`ExecutionState::progress`]).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Progress<'a> {
    /// Items a request gave the node, in place of what its connections deliver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input: Option<Cow<'a, [ItemData]>>,
    /// Retries of some of its items under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retries: Option<Cow<'a, ItemRetries>>,
}

/// The items delivered to a node, per input index. Each input holds the outputs delivered to it
/// as they were, shared with every other node they were delivered to: a fan-out copies no
/// item, and a node fed by one output runs on that output itself.
#[derive(Debug, Clone, Default)]
struct Delivered(Vec<Vec<Arc<[ItemData]>>>);

impl Delivered {
    /// `items` on input 0.
    fn single(items: Arc<[ItemData]>) -> Self {
        Self(vec![vec![items]])
    }

    /// Adds `items` to input `input`.
    fn push(&mut self, input: usize, items: &Arc<[ItemData]>) {
        if self.0.len() <= input {
            self.0.resize_with(input + 1, Vec::new);
        }
        if !items.is_empty() {
            self.0[input].push(Arc::clone(items));
        }
    }

    /// Whether no input carries an item.
    fn is_empty(&self) -> bool {
        self.0.iter().flatten().all(|items| items.is_empty())
    }

    /// The items of all inputs end to end, and where each input's items end (empty for one
    /// input).
    fn items(&self) -> (Arc<[ItemData]>, Vec<usize>) {
        let ends = crate::node::input_ends(
            self.0
                .iter()
                .map(|input| input.iter().map(|items| items.len()).sum()),
        );
        let mut chunks = self.0.iter().flatten();
        let items = match (chunks.next(), chunks.next()) {
            (Some(only), None) => Arc::clone(only),
            _ => self
                .0
                .iter()
                .flatten()
                .flat_map(|items| items.iter().cloned())
                .collect(),
        };
        (items, ends)
    }
}
