//! The journal of an execution: what the store records about it, and every read and write of
//! it. Claiming the execution and keeping its lease, restoring the schedule from what is
//! stored, recording node outputs, waits, failures and progress, persisting `state.json`,
//! finishing, and the assembled view of every node's state.
//!
//! The layout, under `executions/{id}/` (see [`ExecutionKeys`]): `workflow.json` and
//! `input.json` written once at the start; `nodes/{node}/{attempt}.json`, each node's output,
//! written once and its success record; `state.json`, the header and the states of the nodes
//! in flight or failed; `progress/{node}.json` for a parked node whose next run starts from
//! something its connections cannot give it again.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::attempt::ItemRetries;
use super::budget::lease_term;
use super::schedule::{Phase, Schedule};
use super::{EndOutput, EngineError, Plan};
use crate::model::{
    ExecutionState, ExecutionStatus, InvocationRecord, ItemData, Lease, NodeRunRecord, NodeState,
    OutputRef,
};
use crate::node::NodeOutput;
use crate::store::{Condition, ExecutionKeys, StateStore, StoreError, Version};
use crate::time::Clock;

/// How many store calls an invocation keeps in flight at once when it reads or writes many
/// objects (outputs to restore, tasks to hand out, claims to survey): an object store answers
/// each in a round trip, so one at a time would add up to one round trip per object.
pub(super) const IN_FLIGHT: usize = 16;

/// One invocation's hold on an execution's records.
pub(super) struct Journal {
    store: Arc<dyn StateStore>,
    keys: ExecutionKeys,
    state: ExecutionState,
    version: Version,
    clock: Arc<dyn Clock>,
    /// This invocation's identity in leases.
    owner: String,
    /// How long a lease lasts without a hard end.
    lease: Duration,
    /// The invocation's hard end: the lease lasts until then.
    hard_end: Option<Instant>,
    /// When to renew the lease, for an invocation without a deadline.
    renew_at: Option<Instant>,
    /// The node runs this invocation made, for the execution's history.
    history: Vec<NodeRunRecord>,
}

impl Journal {
    /// The records of the execution whose state is `state` (read at `version`).
    pub(super) fn new(
        store: Arc<dyn StateStore>,
        keys: ExecutionKeys,
        (state, version): (ExecutionState, Version),
        clock: Arc<dyn Clock>,
        lease: Duration,
        hard_end: Option<Instant>,
    ) -> Self {
        Self {
            store,
            keys,
            state,
            version,
            clock,
            owner: uuid::Uuid::now_v7().to_string(),
            lease,
            hard_end,
            renew_at: None,
            history: Vec::new(),
        }
    }

    /// The execution's state as this invocation sees it.
    pub(super) fn state(&self) -> &ExecutionState {
        &self.state
    }

    pub(super) fn keys(&self) -> &ExecutionKeys {
        &self.keys
    }

    /// When the lease needs renewing, if ever.
    pub(super) fn renew_at(&self) -> Option<Instant> {
        self.renew_at
    }

    /// Rebuilds `schedule` from what is stored: every stored output is a node that succeeded,
    /// and delivers its items to the nodes still to run; the per-node states say which nodes
    /// wait, failed, or were running when their process died (those run again with the same
    /// attempt); skips are derived again as outputs resolve; stored progress is put back.
    /// Answers the item retries under way, by node.
    ///
    /// `input`: the execution's input when the caller has it (the start that just stored it),
    /// so that it is not read back; else it is read from the store if a start node needs it.
    pub(super) async fn restore(
        &mut self,
        schedule: &mut Schedule<'_>,
        input: Option<Vec<ItemData>>,
    ) -> Result<HashMap<usize, ItemRetries>, EngineError> {
        let plan = schedule.plan();
        self.adopt_outputs(schedule).await?;
        for (name, recorded) in &self.state.nodes {
            let index = plan.index_of(name).ok_or_else(|| {
                EngineError::Store(format!(
                    "`{}` records node `{name}`, which the execution's workflow does not have",
                    self.keys.state()
                ))
            })?;
            schedule.record(index, recorded);
        }
        // Only nodes still in flight or failed keep a per-node state.
        self.state.nodes.retain(|_, recorded| {
            matches!(
                recorded,
                NodeState::Running { .. } | NodeState::Waiting { .. } | NodeState::Failed { .. }
            )
        });
        // Every finished node is done before any delivers: a delivery must never make a
        // finished successor ready again.
        // The outputs they deliver are read together first (a resolve only ever finishes
        // nodes, so the outputs needed before it are a superset of those needed after).
        let succeeded: Vec<usize> = (0..plan.nodes().len())
            .filter(|&index| schedule.phase(index) == Phase::Succeeded)
            .collect();
        let delivering: Vec<usize> = succeeded
            .iter()
            .copied()
            .filter(|&index| schedule.feeds_unfinished(index))
            .collect();
        let keys: Vec<String> = delivering
            .iter()
            .map(|&index| {
                self.keys
                    .output(&plan.nodes()[index].name, schedule.attempt(index))
            })
            .collect();
        let mut outputs: HashMap<usize, Vec<Vec<ItemData>>> = delivering
            .iter()
            .copied()
            .zip(read_all_recorded(&*self.store, keys).await?)
            .collect();
        for index in succeeded {
            let output = outputs.remove(&index).map(NodeOutput::new);
            schedule.resolve(index, output);
        }
        if schedule.starts_unfed() {
            let input = match input {
                Some(input) => input,
                None => read_recorded(&*self.store, &self.keys.input()).await?,
            };
            schedule.feed_starts(&input.into());
        }
        let retries = self.restore_progress(schedule).await?;
        // Skips derived again were reported when they first happened.
        for index in schedule.take_skipped() {
            self.forget(&plan.nodes()[index].name);
        }
        Ok(retries)
    }

    /// Marks every node with a stored output as succeeded, whether or not the state recorded
    /// it: a node whose result is durably stored never runs again.
    async fn adopt_outputs(&mut self, schedule: &mut Schedule<'_>) -> Result<(), EngineError> {
        let listed = self.store.list(&self.keys.outputs()).await?;
        let mut latest = self.keys.latest_outputs(listed);
        // Names are encoded to find their outputs (a long name's key segment cannot be
        // decoded), until every output is matched.
        for (index, node) in schedule.plan().nodes().iter().enumerate() {
            if latest.is_empty() {
                break;
            }
            let Some((attempt, _)) = latest.take(&node.name) else {
                continue;
            };
            schedule.adopt(index, attempt);
            self.state.nodes.remove(&*node.name);
        }
        Ok(())
    }

    /// Puts back what parked nodes' next runs start from (see [`Progress`]), once deliveries
    /// are done: items a request gave replace what the connections delivered.
    async fn restore_progress(
        &mut self,
        schedule: &mut Schedule<'_>,
    ) -> Result<HashMap<usize, ItemRetries>, EngineError> {
        let mut retries = HashMap::new();
        for name in std::mem::take(&mut self.state.progress) {
            let Some(index) = schedule.plan().index_of(&name) else {
                return Err(EngineError::Store(format!(
                    "`{}` records the progress of node `{name}`, which the execution's workflow does not have",
                    self.keys.state()
                )));
            };
            if schedule.phase(index).is_done() {
                continue;
            }
            let key = self.keys.progress(&name);
            // Missing: the process died between the object and the state that lists it.
            let Some(stored) = self.store.get(&key).await? else {
                continue;
            };
            let progress: Progress<'static> = from_json(&key, &stored.bytes)?;
            if let Some(input) = progress.input {
                schedule.give(index, input.into_owned().into());
            }
            if let Some(node_retries) = progress.retries {
                retries.insert(index, node_retries.into_owned());
            }
            if progress.resumed {
                schedule.woke(index);
            }
            self.state.progress.insert(name);
        }
        Ok(retries)
    }

    /// Marks the execution as being advanced by this invocation, so that a racing invocation
    /// loses before running anything.
    ///
    /// A lease held by another live invocation is a conflict too: that invocation is advancing
    /// the execution now, and would lose its work if this one went ahead.
    pub(super) async fn claim(&mut self, schedule: &Schedule<'_>) -> Result<(), EngineError> {
        self.check_lease()?;
        self.state.status = ExecutionStatus::Running;
        self.renew(schedule).await
    }

    /// Takes the task token of the orchestrator run paused until a signal, if any, for this
    /// invocation to complete (cleared with the next write).
    pub(super) fn take_task_token(&mut self) -> Option<String> {
        self.state.task_token.take()
    }

    /// Keeps `token` with the execution (written with the next write): the orchestrator run it
    /// belongs to pauses until a signal moves the execution on.
    pub(super) fn keep_task_token(&mut self, token: String) {
        self.state.task_token = Some(token);
    }

    /// A conflict while another invocation's lease on the execution lasts.
    pub(super) fn check_lease(&self) -> Result<(), EngineError> {
        let now = self.clock.now();
        match self.state.lease.as_ref().filter(|lease| lease.until > now) {
            Some(lease) => Err(EngineError::StateConflict(format!(
                "execution `{}` is being advanced by invocation {} until {}",
                self.state.execution_id, lease.owner, lease.until
            ))),
            None => Ok(()),
        }
    }

    /// Extends this invocation's lease (to the hard end when there is one, else by the lease
    /// length from now) and persists the state: a long invocation keeps its hold, and its
    /// progress so far becomes durable.
    pub(super) async fn renew(&mut self, schedule: &Schedule<'_>) -> Result<(), EngineError> {
        let (until, renew_at) = lease_term(self.hard_end, self.lease, self.clock.now());
        self.state.lease = Some(Lease {
            owner: self.owner.clone(),
            until,
        });
        self.renew_at = renew_at;
        self.persist(schedule).await
    }

    /// Writes the state object: the header, and the states of the nodes in flight or failed
    /// (succeeded nodes are recorded by their outputs, skips are derived from them).
    async fn persist(&mut self, schedule: &Schedule<'_>) -> Result<(), EngineError> {
        let now = self.clock.now();
        self.state.updated_at = now;
        let mut running = schedule.running().peekable();
        let bytes = if running.peek().is_none() {
            to_json(&self.state)?
        } else {
            // Mid-run (a lease renewal): which nodes run, and with which attempt.
            let mut state = self.state.clone();
            for index in running {
                state.nodes.insert(
                    schedule.plan().nodes()[index].name.to_string(),
                    NodeState::Running {
                        attempt: schedule.attempt(index),
                        started_at: schedule.started(index).unwrap_or(now),
                    },
                );
            }
            to_json(&state)?
        };
        let condition = Condition::Match(self.version.clone());
        self.version = self
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

    /// Stores a node's output, written once: the node's success record.
    pub(super) async fn record_output(
        &mut self,
        name: &str,
        attempt: u32,
        output: &NodeOutput,
    ) -> Result<(), EngineError> {
        let key = self.keys.output(name, attempt);
        self.store
            .put(
                &key,
                to_json_sized(&output.outputs, output.json_len)?,
                Condition::Create,
            )
            .await?;
        self.forget(name);
        Ok(())
    }

    /// A node failed for good (persisted with the state).
    pub(super) fn record_failure(&mut self, name: &str, attempt: u32, error: String) {
        self.forget(name);
        self.state
            .nodes
            .insert(name.to_owned(), NodeState::Failed { attempt, error });
    }

    /// A node parked until its time (persisted with the state).
    pub(super) fn record_wait(&mut self, name: &str, wait: NodeState) {
        self.state.nodes.insert(name.to_owned(), wait);
    }

    /// A node is done or runs again from its inputs: nothing recorded of it applies.
    pub(super) fn forget(&mut self, name: &str) {
        self.state.nodes.remove(name);
        if !self.state.progress.is_empty() {
            self.state.progress.remove(name);
        }
    }

    /// Stores what the next run of a node that parked or was cut off starts from, when its
    /// connections alone cannot tell: the items a request gave it (`input`), its item
    /// `retries` under way. The state lists it when next persisted; until then the request
    /// has not been answered, so a process that dies in between loses nothing its caller will
    /// not send again.
    pub(super) async fn keep_progress(
        &mut self,
        name: &str,
        input: Option<&[ItemData]>,
        retries: Option<&ItemRetries>,
        resumed: bool,
    ) -> Result<(), EngineError> {
        if input.is_none() && retries.is_none() && !resumed {
            return Ok(());
        }
        let progress = Progress {
            input: input.map(Cow::Borrowed),
            retries: retries.map(Cow::Borrowed),
            resumed,
        };
        let key = self.keys.progress(name);
        // Only this invocation writes it while it holds the lease.
        let condition = match self.store.get(&key).await? {
            Some(stored) => Condition::Match(stored.version),
            None => Condition::Create,
        };
        self.store.put(&key, to_json(&progress)?, condition).await?;
        self.state.progress.insert(name.to_owned());
        Ok(())
    }

    /// Keeps a node run for the execution's history (written by [`finish`](Self::finish)).
    pub(super) fn remember(&mut self, run: NodeRunRecord) {
        self.history.push(run);
    }

    /// Sets the final status (from `schedule`), releases the lease and persists the state,
    /// with the history of the node runs this invocation made beside it.
    pub(super) async fn finish(&mut self, schedule: &Schedule<'_>) -> Result<(), EngineError> {
        self.state.status = schedule.status();
        self.state.error = schedule.failure().map(str::to_owned);
        self.state.lease = None;
        let history = std::mem::take(&mut self.history);
        let (store, keys, owner) = (
            Arc::clone(&self.store),
            self.keys.clone(),
            self.owner.clone(),
        );
        let (persisted, ()) = tokio::join!(
            self.persist(schedule),
            write_history(&*store, &keys, &owner, history)
        );
        persisted
    }

    /// The output of a completed execution (its end nodes' items), as a response carries it;
    /// `None` unless it completed. Unless `schedule` was restored from a finished execution,
    /// the end nodes' results are found by listing them. The end outputs this invocation
    /// `kept` are taken from there instead of the store.
    pub(super) async fn end_output(
        &self,
        schedule: &Schedule<'_>,
        restored: bool,
        inline_limit: usize,
        mut kept: EndOutputs,
    ) -> Result<Option<EndOutput>, EngineError> {
        if self.state.status != ExecutionStatus::Success {
            return Ok(None);
        }
        let plan = schedule.plan();
        let (end_keys, mut kept): (Vec<String>, Vec<Option<Kept>>) = if restored {
            schedule
                .succeeded()
                .filter(|&index| plan.successors(index).is_empty())
                .map(|index| {
                    let key = self
                        .keys
                        .output(&plan.nodes()[index].name, schedule.attempt(index));
                    (key, kept.outputs.remove(&index))
                })
                .unzip()
        } else {
            (
                end_output_keys(&*self.store, plan, &self.keys).await?,
                Vec::new(),
            )
        };
        read_end_output(&*self.store, &end_keys, inline_limit, &mut kept)
            .await
            .map(Some)
    }

    /// The execution as it stands, with every node's state: the stored per-node states, a
    /// success for every stored output, and the skips they imply.
    pub(super) async fn view(
        mut self,
        schedule: &mut Schedule<'_>,
    ) -> Result<ExecutionState, EngineError> {
        self.restore(schedule, None).await?;
        let mut state = self.state;
        for (index, node) in schedule.plan().nodes().iter().enumerate() {
            let derived = match schedule.phase(index) {
                Phase::Succeeded => NodeState::Success {
                    attempt: schedule.attempt(index),
                    output_key: self.keys.output(&node.name, schedule.attempt(index)),
                },
                Phase::Skipped => NodeState::Skipped {},
                _ => continue,
            };
            state.nodes.insert(node.name.to_string(), derived);
        }
        Ok(state)
    }
}

/// Writes the node runs `invocation` made to the execution's history: best effort, as the
/// history is a record for people (`executions show`), never read to run the execution; a
/// failed write is logged.
pub(super) async fn write_history(
    store: &dyn StateStore,
    keys: &ExecutionKeys,
    invocation: &str,
    runs: Vec<NodeRunRecord>,
) {
    if runs.is_empty() {
        return;
    }
    let record = InvocationRecord { runs };
    let written = match to_json(&record) {
        Ok(bytes) => store
            .put(&keys.run(invocation), bytes, Condition::Create)
            .await
            .map(drop)
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = written {
        tracing::warn!(%error, key = %keys.run(invocation), "the execution's history was not written");
    }
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
    /// Whether a request named the node to resume it before its run was cut off.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    resumed: bool,
}

/// Reads and parses the object at `key`, with its version; `missing` is the error when there
/// is none.
pub(super) async fn read<T: serde::de::DeserializeOwned>(
    store: &dyn StateStore,
    key: &str,
    missing: impl FnOnce() -> EngineError,
) -> Result<(T, Version), EngineError> {
    let stored = store.get(key).await?.ok_or_else(missing)?;
    Ok((from_json(key, &stored.bytes)?, stored.version))
}

/// Reads an object the execution's state records, such as a node's output: its absence is a
/// broken store.
pub(super) async fn read_recorded<T: serde::de::DeserializeOwned>(
    store: &dyn StateStore,
    key: &str,
) -> Result<T, EngineError> {
    let (value, _) = read(store, key, || {
        EngineError::Store(format!("`{key}` is recorded but missing"))
    })
    .await?;
    Ok(value)
}

/// Reads the objects at `keys`, each recorded by the execution's state, several at once; in
/// the order of `keys`.
pub(super) async fn read_all_recorded<T: serde::de::DeserializeOwned>(
    store: &dyn StateStore,
    keys: impl IntoIterator<Item = String>,
) -> Result<Vec<T>, EngineError> {
    stream::iter(keys)
        .map(|key| async move { read_recorded(store, &key).await })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

/// Writes `value` at `key` once, as `bytes` (its JSON); the same bytes again are fine (a
/// repeated start). Returns whether `key` already held other bytes (and was left alone).
pub(super) async fn create_once(
    store: &dyn StateStore,
    key: &str,
    bytes: Vec<u8>,
    value: &impl Serialize,
) -> Result<bool, EngineError> {
    match store.put(key, bytes, Condition::Create).await {
        Ok(_) => Ok(false),
        // Serialized again on this rare path rather than copied on every start.
        Err(StoreError::Conflict { .. }) => match store.get(key).await? {
            Some(stored) => Ok(stored.bytes != to_json(value)?),
            // Deleted meanwhile (a cleanup): nothing to compare with, so nothing differs.
            None => Ok(false),
        },
        Err(error) => Err(error.into()),
    }
}

/// A node's stored result (its latest attempt's output), for an execution known to exist.
pub(super) async fn stored_output(
    store: &dyn StateStore,
    keys: &ExecutionKeys,
    node_name: &str,
) -> Result<Option<Vec<Vec<ItemData>>>, EngineError> {
    let listed = store.list(&keys.node_outputs(node_name)).await?;
    match keys.latest_outputs(listed).take(node_name) {
        Some((_, key)) => read_recorded(store, &key).await.map(Some),
        None => Ok(None),
    }
}

/// The keys of the stored results of `plan`'s end nodes (those without outgoing connections),
/// in workflow order.
pub(super) async fn end_output_keys(
    store: &dyn StateStore,
    plan: &Plan,
    keys: &ExecutionKeys,
) -> Result<Vec<String>, EngineError> {
    let mut latest = keys.latest_outputs(store.list(&keys.outputs()).await?);
    Ok(plan
        .nodes()
        .iter()
        .enumerate()
        .filter(|&(index, _)| plan.successors(index).is_empty())
        .filter_map(|(_, node)| latest.take(&node.name).map(|(_, key)| key))
        .collect())
}

/// End nodes' outputs stored in this invocation, kept for its answer while they fit in it, so
/// that the answer does not read back what was just written (an execution of many end nodes,
/// such as a fan-out, would read and parse every one).
#[derive(Debug, Default)]
pub(super) struct EndOutputs {
    /// By node index.
    outputs: HashMap<usize, Kept>,
    /// Their size as stored, in all.
    bytes: usize,
}

/// A kept end output: its size as stored and its items.
type Kept = (usize, Vec<Vec<ItemData>>);

impl EndOutputs {
    /// Keeps the output node `index` just stored (taking its items: an end node delivers them
    /// nowhere), unless the outputs kept would no longer fit in `inline_limit` bytes.
    pub(super) fn keep(&mut self, index: usize, output: &mut NodeOutput, inline_limit: usize) {
        let bytes = self.bytes.saturating_add(output.json_len);
        // The size is unknown (0) only for outputs the limits did not measure.
        if output.json_len == 0 || bytes > inline_limit {
            return;
        }
        self.bytes = bytes;
        self.outputs.insert(
            index,
            (output.json_len, std::mem::take(&mut output.outputs)),
        );
    }
}

/// Reads the stored outputs at `end_keys` (end nodes' results) as a response carries them:
/// their items when they take `inline_limit` bytes or fewer, else where they are. An output in
/// `kept` at a key's position is taken from there instead of the store.
pub(super) async fn read_end_output(
    store: &dyn StateStore,
    end_keys: &[String],
    inline_limit: usize,
    kept: &mut [Option<Kept>],
) -> Result<EndOutput, EngineError> {
    /// An end output, kept or as stored.
    enum Found {
        Kept(Vec<Vec<ItemData>>),
        Stored(Vec<u8>),
    }
    let mut items = Some(Vec::new());
    let (mut item_count, mut bytes) = (0, 0_usize);
    for (position, key) in end_keys.iter().enumerate() {
        let (len, found) = match kept.get_mut(position).and_then(Option::take) {
            Some((len, outputs)) => (len, Found::Kept(outputs)),
            None => {
                let stored = store.get(key).await?.ok_or_else(|| {
                    EngineError::Store(format!("`{key}` is recorded but missing"))
                })?;
                (stored.bytes.len(), Found::Stored(stored.bytes))
            }
        };
        bytes = bytes.saturating_add(len);
        if bytes > inline_limit {
            items = None;
        }
        match (&mut items, found) {
            (Some(items), found) => {
                let outputs: Vec<Vec<ItemData>> = match found {
                    Found::Kept(outputs) => outputs,
                    Found::Stored(stored) => from_json(key, &stored)?,
                };
                items.extend(outputs.into_iter().flatten());
                item_count = items.len();
            }
            (None, Found::Kept(outputs)) => {
                item_count += outputs.iter().map(Vec::len).sum::<usize>();
            }
            // Counted without building the items: the output may be far bigger than what a
            // response holds.
            (None, Found::Stored(stored)) => {
                let outputs: Vec<Vec<serde::de::IgnoredAny>> = from_json(key, &stored)?;
                item_count += outputs.iter().map(Vec::len).sum::<usize>();
            }
        }
    }
    Ok(match items {
        Some(items) => EndOutput::Inline(items),
        None => EndOutput::Stored(OutputRef {
            item_count,
            bytes,
            locations: end_keys.iter().map(|key| store.locate(key)).collect(),
        }),
    })
}

pub(super) fn to_json(value: &impl Serialize) -> Result<Vec<u8>, EngineError> {
    to_json_sized(value, 0)
}

/// [`to_json`], into a buffer of exactly `len` bytes when that is known (not 0): a large
/// value is written without regrowing the buffer, and a small one (most node outputs) keeps
/// no spare room in the store.
fn to_json_sized(value: &impl Serialize, len: usize) -> Result<Vec<u8>, EngineError> {
    let mut bytes = Vec::with_capacity(if len == 0 { 256 } else { len });
    serde_json::to_writer(&mut bytes, value)
        .map(|()| bytes)
        .map_err(|error| EngineError::Store(format!("cannot serialize state: {error}")))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<T, EngineError> {
    crate::json_path::from_slice(bytes)
        .map_err(|problem| EngineError::Store(format!("`{key}` does not parse: {problem}")))
}
