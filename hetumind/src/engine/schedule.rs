//! The schedule of one invocation: where each node stands, the items delivered to it, and which
//! nodes are ready. Pure and synchronous: no store, no clock, no async. The run loop tells it
//! what happened to a node (recorded in the store, started, succeeded, failed, parked); it
//! answers what can run next, and which nodes the deliveries skipped on the way.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Plan;
use crate::model::{ExecutionStatus, ItemData, ItemSource, NodeState};
use crate::node::NodeOutput;

/// Where a node stands during an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting for incoming connections.
    Pending,
    /// All inputs resolved; queued to start.
    Ready,
    Running,
    /// Parked until a time (with `signal`, until a signal, or that time, its limit).
    Waiting {
        until: DateTime<Utc>,
        signal: bool,
    },
    /// Running elsewhere: handed out to `execute_node` workers, or held by one. Not stored:
    /// derived again from the workers' claims on every restore.
    Away,
    /// Its output is stored (under the key of its attempt).
    Succeeded,
    /// No input carried items. Not stored: derived again from the outputs on every restore.
    Skipped,
    /// Failed for good.
    Failed,
}

impl Phase {
    pub(super) const fn is_done(self) -> bool {
        matches!(self, Self::Succeeded | Self::Skipped | Self::Failed)
    }
}

/// Why a node cannot be woken by a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WakeError {
    /// It succeeded, failed or was skipped.
    Finished,
    /// Some of its inputs are unresolved (or it runs).
    NotReady,
}

/// The schedule of one execution's nodes, by their index in the [`Plan`].
#[derive(Debug)]
pub(super) struct Schedule<'p> {
    plan: &'p Plan,
    phases: Vec<Phase>,
    /// Unresolved incoming connections per node.
    unresolved: Vec<usize>,
    /// Items delivered, per node; kept while the node runs, so that a run that parks or is
    /// interrupted leaves them in place for the next one.
    inputs: Vec<Delivered>,
    /// Nodes whose input a request gave (in `inputs`), rather than their connections.
    given: BTreeSet<usize>,
    /// Nodes a request named to resume them, until they are done or park again.
    woken: BTreeSet<usize>,
    attempts: Vec<u32>,
    /// When each node first started, once it has.
    started: Vec<Option<DateTime<Utc>>>,
    ready: VecDeque<usize>,
    /// Why the execution failed, once a node failed for good.
    failure: Option<String>,
    /// Nodes skipped since [`take_skipped`](Self::take_skipped) was last called.
    skipped: Vec<usize>,
}

impl<'p> Schedule<'p> {
    /// Every node of `plan` pending, at attempt 1.
    pub(super) fn new(plan: &'p Plan) -> Self {
        let count = plan.nodes().len();
        Self {
            plan,
            phases: vec![Phase::Pending; count],
            unresolved: plan.nodes().iter().map(|node| node.incoming).collect(),
            inputs: vec![Delivered::default(); count],
            given: BTreeSet::new(),
            woken: BTreeSet::new(),
            attempts: vec![1; count],
            started: vec![None; count],
            ready: VecDeque::new(),
            failure: None,
            skipped: Vec::new(),
        }
    }

    pub(super) fn plan(&self) -> &'p Plan {
        self.plan
    }

    pub(super) fn phase(&self, index: usize) -> Phase {
        self.phases[index]
    }

    /// The attempt the node runs (or ran) with.
    pub(super) fn attempt(&self, index: usize) -> u32 {
        self.attempts[index]
    }

    /// When the node first started, if it has.
    pub(super) fn started(&self, index: usize) -> Option<DateTime<Utc>> {
        self.started[index]
    }

    /// The node started at `at` (by a worker's record), if not earlier.
    pub(super) fn started_at(&mut self, index: usize, at: DateTime<Utc>) {
        let started = &mut self.started[index];
        *started = Some(started.map_or(at, |known| known.min(at)));
    }

    /// Where the nodes stand, counted for the execution index.
    pub(super) fn counts(&self) -> crate::index::NodeCounts {
        use crate::index::Standing;
        let standings = self.phases.iter().filter_map(|phase| match phase {
            Phase::Pending | Phase::Ready => None,
            Phase::Running | Phase::Away => Some(Standing::Running),
            Phase::Waiting { .. } => Some(Standing::Waiting),
            Phase::Succeeded => Some(Standing::Succeeded),
            Phase::Skipped => Some(Standing::Skipped),
            Phase::Failed => Some(Standing::Failed),
        });
        crate::index::NodeCounts::tally(self.phases.len(), standings)
    }

    /// Why the execution failed, once a node failed for good.
    pub(super) fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// Whether the node runs on items a request gave it.
    pub(super) fn is_given(&self, index: usize) -> bool {
        self.given.contains(&index)
    }

    /// Takes a node's state as the store records it: its attempt, and whether it waits or
    /// failed. A node recorded running (its process died) runs again with the same attempt.
    pub(super) fn record(&mut self, index: usize, recorded: &NodeState) {
        match recorded {
            NodeState::Running { attempt, .. } => self.attempts[index] = *attempt,
            NodeState::Waiting {
                attempt,
                resume_at,
                signal,
                started_at,
                ..
            } => {
                self.attempts[index] = *attempt;
                self.started[index] = *started_at;
                self.phases[index] = Phase::Waiting {
                    until: *resume_at,
                    signal: *signal,
                };
            }
            NodeState::Success { attempt, .. } => self.adopt(index, *attempt),
            NodeState::Skipped {} => {}
            NodeState::Failed { error, .. } => {
                self.phases[index] = Phase::Failed;
                self.failure.get_or_insert_with(|| {
                    format!("node `{}` failed: {error}", self.plan.nodes()[index].name)
                });
            }
        }
    }

    /// A node whose output of `attempt` is stored has succeeded, whatever else was recorded.
    pub(super) fn adopt(&mut self, index: usize, attempt: u32) {
        self.attempts[index] = attempt;
        self.phases[index] = Phase::Succeeded;
    }

    /// Nodes that succeeded, in plan order.
    pub(super) fn succeeded(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.phases.len()).filter(|&index| self.phases[index] == Phase::Succeeded)
    }

    /// Whether any successor of `index` still has to run (or be skipped).
    pub(super) fn feeds_unfinished(&self, index: usize) -> bool {
        self.plan
            .successors(index)
            .iter()
            .any(|edge| !self.phases[edge.node].is_done())
    }

    /// Whether a start node has yet to receive the execution's input.
    pub(super) fn starts_unfed(&self) -> bool {
        self.plan
            .starts()
            .iter()
            .any(|&index| !self.phases[index].is_done())
    }

    /// Gives the execution's input to every start node not done yet.
    pub(super) fn feed_starts(&mut self, input: &Arc<[ItemData]>) {
        for &index in self.plan.starts() {
            if self.phases[index].is_done() {
                continue;
            }
            self.inputs[index] = Delivered::single(Arc::clone(input));
            if self.resolved(index) {
                self.resolve(index, None);
            }
        }
    }

    /// Replaces what a node's connections delivered with items a request gave it.
    pub(super) fn give(&mut self, index: usize, input: Arc<[ItemData]>) {
        self.inputs[index] = Delivered::single(input);
        self.given.insert(index);
    }

    /// Makes a waiting (or ready) node runnable first, optionally with items replacing its
    /// input.
    pub(super) fn wake(
        &mut self,
        index: usize,
        input: Option<Vec<ItemData>>,
    ) -> Result<(), WakeError> {
        match self.phases[index] {
            Phase::Waiting { .. } | Phase::Ready => {}
            Phase::Succeeded | Phase::Skipped | Phase::Failed => return Err(WakeError::Finished),
            Phase::Pending | Phase::Running | Phase::Away => return Err(WakeError::NotReady),
        }
        if let Some(input) = input {
            self.give(index, input.into());
        }
        if self.phases[index] != Phase::Ready {
            self.phases[index] = Phase::Ready;
            self.ready.push_front(index);
        }
        Ok(())
    }

    /// The next ready node, now running; a node a request gave no items is skipped on the way
    /// (the schedule skips such nodes on its own). `now` is when a node starts for the first
    /// time.
    pub(super) fn start_next(&mut self, now: impl FnOnce() -> DateTime<Utc>) -> Option<usize> {
        loop {
            let index = self.ready.pop_front()?;
            if self.inputs[index].is_empty() {
                self.skip(index);
                self.resolve(index, None);
                continue;
            }
            self.phases[index] = Phase::Running;
            self.started[index].get_or_insert_with(now);
            return Some(index);
        }
    }

    /// The items of all a node's inputs end to end, and where each input's items end (empty
    /// for one input).
    pub(super) fn input(&self, index: usize) -> (Arc<[ItemData]>, Vec<usize>) {
        self.inputs[index].items()
    }

    /// The input of a node starting to run here, as [`input`](Self::input) gives it, handed
    /// over: the schedule lets go of items delivered to this node alone, so that the run can
    /// lend them to the node (see `RunInput`), and takes them back with
    /// [`give_back`](Self::give_back) if the node is to run again.
    pub(super) fn take_input(&mut self, index: usize) -> (Arc<[ItemData]>, Vec<usize>) {
        let input = self.inputs[index].items();
        if self.inputs[index].is_single() {
            self.inputs[index] = Delivered::default();
        }
        input
    }

    /// The input a node's run took (see [`take_input`](Self::take_input)), back before the
    /// node runs again.
    pub(super) fn give_back(&mut self, index: usize, items: Arc<[ItemData]>) {
        if self.inputs[index].0.is_empty() {
            self.inputs[index] = Delivered::single(items);
        }
    }

    /// A node's run succeeded with `output` (stored under `attempt`): it delivers.
    pub(super) fn succeed(&mut self, index: usize, attempt: u32, output: NodeOutput) {
        self.done_with(index);
        self.adopt(index, attempt);
        self.resolve(index, Some(output));
    }

    /// A node failed for good: the execution fails.
    pub(super) fn fail(&mut self, index: usize, error: &impl std::fmt::Display) {
        self.done_with(index);
        self.phases[index] = Phase::Failed;
        self.failure = Some(format!(
            "node `{}` failed: {error}",
            self.plan.nodes()[index].name
        ));
    }

    /// A node parked until `until` (or, with `signal`, until a signal or `until`), to run with
    /// `attempt` then.
    pub(super) fn park(&mut self, index: usize, attempt: u32, until: DateTime<Utc>, signal: bool) {
        self.attempts[index] = attempt;
        self.phases[index] = Phase::Waiting { until, signal };
        self.woken.remove(&index);
    }

    /// Whether a request named the node to resume it (see [`woke`](Self::woke)) since it last
    /// parked.
    pub(super) fn is_woken(&self, index: usize) -> bool {
        self.woken.contains(&index)
    }

    /// The node's next run counts as woken by a request naming it: it does not wait again for
    /// what it waited for (see `Ctx::resumed`).
    pub(super) fn woke(&mut self, index: usize) {
        self.woken.insert(index);
    }

    /// The nodes waiting for a signal, in plan order.
    pub(super) fn awaiting_signal(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.phases.len())
            .filter(|&index| matches!(self.phases[index], Phase::Waiting { signal: true, .. }))
    }

    /// The deadline stopped a node: it is ready again, same attempt.
    pub(super) fn interrupt(&mut self, index: usize, attempt: u32) {
        self.attempts[index] = attempt;
        self.phases[index] = Phase::Ready;
        self.ready.push_back(index);
    }

    /// A node is handed out to workers (it started, see [`start_next`](Self::start_next)), or
    /// found held by one (it was ready): it runs elsewhere.
    pub(super) fn away(&mut self, index: usize) {
        if self.phases[index] == Phase::Ready {
            self.ready.retain(|&ready| ready != index);
        }
        self.phases[index] = Phase::Away;
    }

    /// A waiting node whose time has come is ready.
    pub(super) fn due(&mut self, index: usize) {
        self.phases[index] = Phase::Ready;
        self.ready.push_back(index);
    }

    /// The waiting node whose time comes first, and its time.
    pub(super) fn earliest_wait(&self) -> Option<(usize, DateTime<Utc>)> {
        self.phases
            .iter()
            .enumerate()
            .filter_map(|(index, phase)| match phase {
                Phase::Waiting { until, .. } => Some((index, *until)),
                _ => None,
            })
            .min_by_key(|(_, until)| *until)
    }

    /// Nodes running now.
    pub(super) fn running(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.phases.len()).filter(|&index| self.phases[index] == Phase::Running)
    }

    /// Nodes ready to start, in the order they would.
    pub(super) fn ready(&self) -> impl Iterator<Item = usize> + '_ {
        self.ready.iter().copied()
    }

    /// The nodes skipped since the last call, in the order they were.
    pub(super) fn take_skipped(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.skipped)
    }

    /// Where the execution stands: failed once a node failed, a success once every node is
    /// done, waiting when nothing can run before a waiting node's time, else running.
    pub(super) fn status(&self) -> ExecutionStatus {
        let waiting = self
            .phases
            .iter()
            .any(|phase| matches!(phase, Phase::Waiting { .. }));
        let unfinished = self.phases.iter().any(|phase| !phase.is_done());
        if self.failure.is_some() {
            ExecutionStatus::Failed
        } else if !unfinished {
            ExecutionStatus::Success
        } else if self.ready.is_empty() && waiting {
            ExecutionStatus::Waiting
        } else {
            ExecutionStatus::Running
        }
    }

    /// A node is done: its input is no longer needed.
    fn done_with(&mut self, index: usize) {
        self.inputs[index] = Delivered::default();
        self.given.remove(&index);
        self.woken.remove(&index);
    }

    fn skip(&mut self, index: usize) {
        self.phases[index] = Phase::Skipped;
        self.skipped.push(index);
    }

    /// Resolves every connection leaving `index`, delivering `output`'s items (stamped with
    /// their origin). A target whose inputs are all resolved becomes ready, or is skipped at
    /// once when none carried items, and so on down the graph.
    pub(super) fn resolve(&mut self, index: usize, output: Option<NodeOutput>) {
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
}

fn count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
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

    /// Whether the items came in one delivery, on input 0: [`items`](Self::items) is then
    /// that delivery itself.
    fn is_single(&self) -> bool {
        matches!(self.0.as_slice(), [only] if only.len() == 1)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};

    use super::*;
    use crate::model::Workflow;
    use crate::prelude::*;

    /// Passes its item on (never called: the schedule is told what nodes output).
    #[node(kind = "schedule_test.pass")]
    async fn pass(Item(value): Item<Value>) -> Result<Value, NodeError> {
        Ok(value)
    }

    /// Two outputs (never called).
    #[node(kind = "schedule_test.route", outputs("yes", "no"))]
    async fn route(Item(value): Item<Value>) -> Result<crate::Routed<Value>, NodeError> {
        Ok(crate::Routed::to("yes", value))
    }

    fn plan(workflow: Value) -> Plan {
        let workflow: Workflow = serde_json::from_value(workflow).unwrap();
        Plan::new(&workflow, crate::Registry::global().unwrap()).unwrap()
    }

    fn index(plan: &Plan, name: &str) -> usize {
        plan.index_of(name).unwrap()
    }

    fn items(values: &[i64]) -> Vec<ItemData> {
        values.iter().map(|value| json!(value).into()).collect()
    }

    fn output(ports: &[&[i64]]) -> NodeOutput {
        NodeOutput::new(ports.iter().map(|port| items(port)).collect())
    }

    fn now() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH
    }

    fn names(plan: &Plan, indices: impl IntoIterator<Item = usize>) -> Vec<String> {
        indices
            .into_iter()
            .map(|index| plan.nodes()[index].name.to_string())
            .collect()
    }

    fn json_of(input: &[ItemData]) -> Vec<Value> {
        input.iter().map(|item| item.json.clone()).collect()
    }

    #[test]
    fn a_chain_runs_node_by_node_and_stamps_lineage() {
        let plan = plan(json!({ "id": "c", "nodes": [
            { "name": "A", "kind": "schedule_test.pass" },
            { "name": "B", "kind": "schedule_test.pass" }
        ], "connections": { "A": { "main": [[{ "node": "B" }]] } } }));
        let mut schedule = Schedule::new(&plan);
        assert!(schedule.starts_unfed());
        schedule.feed_starts(&items(&[1, 2]).into());
        assert_eq!(schedule.status(), ExecutionStatus::Running);
        let a = schedule.start_next(now).unwrap();
        assert_eq!(a, index(&plan, "A"));
        assert_eq!(schedule.phase(a), Phase::Running);
        assert_eq!(schedule.start_next(now), None, "B waits for A");
        schedule.succeed(a, 1, output(&[&[2, 3]]));
        let b = schedule.start_next(now).unwrap();
        let (input, ends) = schedule.input(b);
        assert_eq!(json_of(&input), [json!(2), json!(3)]);
        assert!(ends.is_empty());
        let source = input[1].source.as_ref().unwrap();
        assert_eq!((&*source.node, source.item_index), ("A", 1));
        schedule.succeed(b, 1, output(&[&[4]]));
        assert_eq!(schedule.status(), ExecutionStatus::Success);
        assert!(!schedule.starts_unfed());
    }

    #[test]
    fn a_branch_not_taken_is_skipped_down_the_graph() {
        let plan = plan(json!({ "id": "r", "nodes": [
            { "name": "R", "kind": "schedule_test.route" },
            { "name": "Yes", "kind": "schedule_test.pass" },
            { "name": "No", "kind": "schedule_test.pass" },
            { "name": "AfterNo", "kind": "schedule_test.pass" }
        ], "connections": {
            "R": { "main": [[{ "node": "Yes" }], [{ "node": "No" }]] },
            "No": { "main": [[{ "node": "AfterNo" }]] }
        } }));
        let mut schedule = Schedule::new(&plan);
        schedule.feed_starts(&items(&[1]).into());
        let r = schedule.start_next(now).unwrap();
        schedule.succeed(r, 1, output(&[&[1], &[]]));
        assert_eq!(names(&plan, schedule.take_skipped()), ["No", "AfterNo"]);
        assert!(schedule.take_skipped().is_empty(), "taken once");
        assert_eq!(names(&plan, schedule.ready()), ["Yes"]);
        let yes = schedule.start_next(now).unwrap();
        schedule.succeed(yes, 1, output(&[&[1]]));
        assert_eq!(schedule.status(), ExecutionStatus::Success);
    }

    #[test]
    fn a_join_waits_for_every_input_and_takes_them_in_order() {
        let plan = plan(json!({ "id": "d", "nodes": [
            { "name": "A", "kind": "schedule_test.pass" },
            { "name": "B", "kind": "schedule_test.pass" },
            { "name": "C", "kind": "schedule_test.pass" },
            { "name": "D", "kind": "schedule_test.pass" }
        ], "connections": {
            "A": { "main": [[{ "node": "B" }, { "node": "C" }]] },
            "B": { "main": [[{ "node": "D" }]] },
            "C": { "main": [[{ "node": "D" }]] }
        } }));
        let mut schedule = Schedule::new(&plan);
        schedule.feed_starts(&items(&[0]).into());
        let a = schedule.start_next(now).unwrap();
        schedule.succeed(a, 1, output(&[&[0]]));
        let b = schedule.start_next(now).unwrap();
        let c = schedule.start_next(now).unwrap();
        assert_eq!(names(&plan, [b, c]), ["B", "C"], "both ready at once");
        schedule.succeed(c, 1, output(&[&[3]]));
        assert_eq!(schedule.start_next(now), None, "D waits for B");
        schedule.succeed(b, 1, output(&[&[2]]));
        let d = schedule.start_next(now).unwrap();
        let (input, _) = schedule.input(d);
        assert_eq!(json_of(&input), [json!(3), json!(2)], "in delivery order");
    }

    #[test]
    fn waits_wakes_and_failures_decide_the_status() {
        let plan = plan(json!({ "id": "w", "nodes": [
            { "name": "A", "kind": "schedule_test.pass" },
            { "name": "B", "kind": "schedule_test.pass" }
        ], "connections": { "A": { "main": [[{ "node": "B" }]] } } }));
        let (a, b) = (index(&plan, "A"), index(&plan, "B"));
        let mut schedule = Schedule::new(&plan);
        schedule.feed_starts(&items(&[1]).into());
        assert_eq!(schedule.wake(b, None), Err(WakeError::NotReady));
        let started = schedule.start_next(now).unwrap();
        let later = now() + chrono::TimeDelta::hours(1);
        schedule.park(started, 2, later, false);
        assert_eq!(schedule.status(), ExecutionStatus::Waiting);
        assert_eq!(schedule.earliest_wait(), Some((a, later)));
        // Woken early with other items: they replace what A was delivered.
        schedule.wake(a, Some(items(&[7]))).unwrap();
        assert!(schedule.is_given(a));
        assert_eq!(schedule.status(), ExecutionStatus::Running);
        let again = schedule.start_next(now).unwrap();
        assert_eq!(schedule.attempt(again), 2);
        assert_eq!(schedule.started(again), Some(now()), "first start kept");
        assert_eq!(json_of(&schedule.input(again).0), [json!(7)]);
        schedule.fail(again, &"boom");
        assert_eq!(schedule.status(), ExecutionStatus::Failed);
        assert_eq!(schedule.failure(), Some("node `A` failed: boom"));
        assert_eq!(schedule.wake(a, None), Err(WakeError::Finished));
        assert!(!schedule.is_given(a));
    }

    #[test]
    fn restored_records_put_nodes_back_where_they_stood() {
        let plan = plan(json!({ "id": "s", "nodes": [
            { "name": "A", "kind": "schedule_test.pass" },
            { "name": "B", "kind": "schedule_test.pass" },
            { "name": "C", "kind": "schedule_test.pass" }
        ], "connections": { "A": { "main": [[{ "node": "B" }]] } } }));
        let (a, b, c) = (index(&plan, "A"), index(&plan, "B"), index(&plan, "C"));
        let mut schedule = Schedule::new(&plan);
        schedule.adopt(a, 3);
        schedule.record(
            c,
            &NodeState::Running {
                attempt: 2,
                started_at: now(),
            },
        );
        assert!(schedule.feeds_unfinished(a));
        schedule.resolve(a, Some(output(&[&[5]])));
        schedule.feed_starts(&items(&[1]).into());
        assert_eq!(names(&plan, schedule.ready()), ["B", "C"]);
        assert_eq!((schedule.attempt(a), schedule.attempt(c)), (3, 2));
        let started = schedule.start_next(now).unwrap();
        assert_eq!(started, b);
        schedule.interrupt(started, 1);
        assert_eq!(names(&plan, schedule.ready()), ["C", "B"], "B again, last");
        assert_eq!(names(&plan, schedule.succeeded()), ["A"]);
        assert_eq!(schedule.phase(b), Phase::Ready);
    }
}
