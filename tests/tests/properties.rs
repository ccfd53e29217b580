//! Property tests of the scheduler and the journal: random workflow graphs whose nodes pass,
//! filter everything out, fail and then succeed, fail for good, wait, panic or run past the
//! invocation's deadline, inline or fanned out to workers, checked against a model of what
//! must happen:
//!
//! - the execution ends as the model says, and every node ends in exactly the final state the
//!   model gives it (succeeded with the model's output, skipped, or failed);
//! - a node runs only after every node feeding it finished;
//! - skips propagate exactly: a node whose inputs all came empty is skipped, no other;
//! - no node's output is stored twice;
//! - a crash at any store call (before or after the call takes effect) loses nothing: resuming
//!   gives the same final states and outputs as the uninterrupted run, and no node whose output
//!   was stored when the process died runs again.
//!
//! Time is tokio's paused clock, so waits, retry delays and deadlines are exact and instant.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use hetumind::BoxFuture;
use hetumind::engine::{Engine, EngineError, EngineOptions};
use hetumind::model::{
    ExecuteNode, ExecuteWorkflow, ExecutionStatus, NextAction, NodeState, Request, Response,
    Workflow,
};
use hetumind::prelude::*;
use hetumind::store::{Condition, MemStore, StateStore, StoreError, Stored, Version};
use hetumind::time::{Clock, FixedRandom, TokioClock};
use proptest::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

/// What a node does when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Outcome {
    /// One item: its name and how many items it was given.
    Pass,
    /// No items: the nodes it alone feeds are skipped.
    Filter,
    /// Fails retryably this many times (fewer than its attempts), then passes.
    Flaky(u32),
    /// Fails for good.
    Terminal,
    /// Waits this many seconds (durably, from when it first started), then passes.
    Wait(u64),
    /// Panics.
    Panic,
    /// Takes this many milliseconds, then passes: past the deadline, it is cut off and run
    /// again in the next invocation.
    Slow(u64),
}

#[derive(Debug, Deserialize, JsonSchema)]
struct Script {
    /// The case (runs of all cases share one log).
    case: u64,
    node: String,
    outcome: Outcome,
}

/// One event of the log: which case, which node, started or finished, in what order.
#[derive(Debug, Clone)]
struct Event {
    case: u64,
    node: String,
    finished: bool,
    at: u64,
}

static LOG: Mutex<Vec<Event>> = Mutex::new(Vec::new());
static ORDER: AtomicU64 = AtomicU64::new(0);
static CASES: AtomicU64 = AtomicU64::new(0);

fn log(case: u64, node: &str, finished: bool) {
    let at = ORDER.fetch_add(1, Ordering::SeqCst);
    LOG.lock().unwrap().push(Event {
        case,
        node: node.to_owned(),
        finished,
        at,
    });
}

/// The events of `case`, in order.
fn events(case: u64) -> Vec<Event> {
    let mut events: Vec<Event> = LOG
        .lock()
        .unwrap()
        .iter()
        .filter(|event| event.case == case)
        .cloned()
        .collect();
    events.sort_by_key(|event| event.at);
    events
}

/// Does what its script says, logging its start and (when it passes) its end.
#[node(
    kind = "prop.step",
    retry(max_attempts = 3, initial = "1s", max = "4s", jitter = "none")
)]
async fn step(
    Params(script): Params<Script>,
    Items(items): Items<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    log(script.case, &script.node, false);
    let passed = json!({ "node": script.node, "given": items.len() });
    let result = match script.outcome {
        Outcome::Pass => Ok(vec![passed]),
        Outcome::Filter => Ok(Vec::new()),
        Outcome::Flaky(failures) if ctx.attempt() <= failures => Err(NodeError::retryable(
            format!("flaky, attempt {}", ctx.attempt()),
        )),
        Outcome::Flaky(_) => Ok(vec![passed]),
        Outcome::Terminal => Err(NodeError::terminal("fails for good")),
        Outcome::Wait(seconds) => {
            ctx.wait_for(Duration::from_secs(seconds))?;
            Ok(vec![passed])
        }
        Outcome::Panic => panic!("node {} panics", script.node),
        Outcome::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(vec![passed])
        }
    };
    if result.is_ok() {
        log(script.case, &script.node, true);
    }
    result
}

/// A generated workflow: node `i` has `outcome[i]`, edges go from lower to higher indexes.
#[derive(Debug, Clone)]
struct Graph {
    outcomes: Vec<Outcome>,
    edges: BTreeSet<(usize, usize)>,
    fan_out: bool,
}

fn name(index: usize) -> String {
    format!("N{index}")
}

impl Graph {
    fn predecessors(&self, node: usize) -> impl Iterator<Item = usize> + '_ {
        self.edges
            .iter()
            .filter(move |(_, to)| *to == node)
            .map(|(from, _)| *from)
    }

    fn workflow(&self, case: u64) -> Workflow {
        let nodes: Vec<Value> = self
            .outcomes
            .iter()
            .enumerate()
            .map(|(index, outcome)| {
                json!({ "name": name(index), "kind": "prop.step",
                        "parameters": { "case": case, "node": name(index), "outcome": outcome } })
            })
            .collect();
        let mut connections = serde_json::Map::new();
        for (from, to) in &self.edges {
            let entry = connections
                .entry(name(*from))
                .or_insert_with(|| json!({ "main": [[]] }));
            entry["main"][0]
                .as_array_mut()
                .unwrap()
                .push(json!({ "node": name(*to) }));
        }
        let dispatch = if self.fan_out { "fan_out" } else { "inline" };
        serde_json::from_value(json!({
            "id": "prop",
            "settings": { "dispatch": dispatch },
            "nodes": nodes,
            "connections": connections,
        }))
        .unwrap()
    }

    /// What must happen: each node's final state (its output's item count when it passes),
    /// and whether the execution fails.
    fn model(&self) -> (Vec<Expected>, bool) {
        let mut expected: Vec<Expected> = Vec::with_capacity(self.outcomes.len());
        for (index, outcome) in self.outcomes.iter().enumerate() {
            let preds: Vec<usize> = self.predecessors(index).collect();
            let given: usize = preds
                .iter()
                .map(|&pred| match expected[pred] {
                    Expected::Passed(items) => items,
                    _ => 0,
                })
                .sum();
            // A start node receives the execution's one item.
            let given = if preds.is_empty() { 1 } else { given };
            let state = if given == 0 {
                Expected::Skipped
            } else {
                match outcome {
                    Outcome::Filter => Expected::Passed(0),
                    Outcome::Terminal | Outcome::Panic => Expected::Failed,
                    _ => Expected::Passed(1),
                }
            };
            expected.push(state);
        }
        let fails = expected.contains(&Expected::Failed);
        (expected, fails)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expected {
    Passed(usize),
    Skipped,
    Failed,
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        6 => Just(Outcome::Pass),
        2 => Just(Outcome::Filter),
        2 => (1u32..=2).prop_map(Outcome::Flaky),
        1 => Just(Outcome::Terminal),
        2 => (1u64..=40).prop_map(Outcome::Wait),
        1 => Just(Outcome::Panic),
        2 => (100u64..=3_000).prop_map(Outcome::Slow),
    ]
}

fn graph() -> impl Strategy<Value = Graph> {
    (1usize..=9)
        .prop_flat_map(|nodes| {
            let pairs: Vec<(usize, usize)> = (0..nodes)
                .flat_map(|from| (from + 1..nodes).map(move |to| (from, to)))
                .collect();
            (
                proptest::collection::vec(outcome(), nodes),
                proptest::sample::subsequence(pairs.clone(), 0..=pairs.len()),
                any::<bool>(),
            )
        })
        .prop_map(|(outcomes, edges, fan_out)| Graph {
            outcomes,
            edges: edges.into_iter().collect(),
            fan_out,
        })
}

/// A store that dies: after `budget` calls every call fails (the call at the budget takes
/// effect first when `after` is set, as when a process dies between a write and its answer).
/// It counts the successful writes of node outputs by node.
#[derive(Debug)]
struct Dying {
    inner: Arc<MemStore>,
    budget: AtomicI64,
    after: bool,
    outputs: Arc<Mutex<HashMap<String, u32>>>,
}

impl Dying {
    fn new(inner: Arc<MemStore>, budget: i64, after: bool) -> Self {
        Self {
            inner,
            budget: AtomicI64::new(budget),
            after,
            outputs: Arc::default(),
        }
    }

    /// Whether this call may go ahead (and whether it is the last one).
    fn spend(&self) -> Result<bool, StoreError> {
        let left = self.budget.fetch_sub(1, Ordering::SeqCst);
        match left {
            ..0 => Err(StoreError::Unavailable("the process died".to_owned())),
            0 if !self.after => Err(StoreError::Unavailable("the process died".to_owned())),
            0 => Ok(true),
            _ => Ok(false),
        }
    }
}

fn died<T>(last: bool, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if last {
        Err(StoreError::Unavailable("the process died".to_owned()))
    } else {
        result
    }
}

impl StateStore for Dying {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(async move {
            let last = self.spend()?;
            died(last, self.inner.get(key).await)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        Box::pin(async move {
            let last = self.spend()?;
            let result = self.inner.put(key, bytes, condition).await;
            if result.is_ok()
                && let Some(node) = output_node(key)
            {
                *self.outputs.lock().unwrap().entry(node).or_default() += 1;
            }
            died(last, result)
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            let last = self.spend()?;
            died(last, self.inner.list(prefix).await)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let last = self.spend()?;
            died(last, self.inner.delete(key).await)
        })
    }

    fn locate(&self, key: &str) -> String {
        self.inner.locate(key)
    }
}

/// The node whose output `key` is (`executions/{id}/nodes/{node}/{attempt}.json`).
fn output_node(key: &str) -> Option<String> {
    let mut segments = key.split('/');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some("executions"), Some(_), Some("nodes"), Some(node)) => Some(node.to_owned()),
        _ => None,
    }
}

const EXECUTION: &str = "prop-exec";
/// Every invocation's budget.
const BUDGET: Duration = Duration::from_secs(5);

/// An engine on `store` reading `clock` (one clock for every process of a case: time goes on
/// across a crash).
fn engine(store: Arc<dyn StateStore>, clock: &Arc<TokioClock>) -> Engine {
    Engine::new(hetumind::Registry::global().unwrap(), store)
        .with_options(EngineOptions {
            node_threads: false,
            max_inline_wait: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            ..EngineOptions::default()
        })
        .with_clock(Arc::clone(clock) as Arc<dyn Clock>)
        .with_random(Arc::new(FixedRandom(0.5)))
}

fn start(workflow: &Workflow) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow.clone())),
        execution_id: Some(EXECUTION.to_owned()),
        input_data: None,
        trigger: None,
        metadata: serde_json::Map::new(),
    })
}

/// One invocation, with its own deadline.
async fn invoke(engine: &Engine, request: Request) -> Result<Response, EngineError> {
    engine.handle(request, Some(Instant::now() + BUDGET)).await
}

/// Carries out `request`, then goes on as the state machine would (every invocation with its
/// own deadline, a fan-out's tasks concurrently, waits slept on the paused clock) until the
/// execution ends. `Err` when an invocation fails (when the process died).
async fn drive(
    engine: &Engine,
    clock: &TokioClock,
    request: Request,
) -> Result<Response, EngineError> {
    let mut response = invoke(engine, request).await?;
    for _ in 0..1_000 {
        match &response.next_action {
            NextAction::Complete | NextAction::Failed { .. } => return Ok(response),
            NextAction::Wait { resume_at } => clock.sleep_until(*resume_at).await,
            NextAction::FanOut { tasks } => {
                let mut runs = tokio::task::JoinSet::new();
                for task in tasks {
                    let engine = engine.clone();
                    let request = Request::ExecuteNode(ExecuteNode {
                        execution_id: EXECUTION.to_owned(),
                        node_name: task.node_name.clone(),
                        batch: task.batch,
                        spec: task.spec.clone(),
                        input_data: None,
                        metadata: serde_json::Map::new(),
                    });
                    runs.spawn(async move { invoke(&engine, request).await });
                }
                for outcome in runs.join_all().await {
                    match outcome {
                        Ok(_) | Err(EngineError::StateConflict(_)) => {}
                        Err(error) => return Err(error),
                    }
                }
            }
            NextAction::Continue { .. } => {}
            // No node of these workflows waits for a signal.
            NextAction::AwaitSignal { .. } => panic!("unexpected: {response:?}"),
        }
        response = invoke(engine, Request::resume(EXECUTION)).await?;
    }
    panic!("the execution never ended: {response:?}");
}

/// How an execution ended: its status, and each node's final state and stored output.
#[derive(Debug, PartialEq)]
struct Ending {
    status: ExecutionStatus,
    states: BTreeMap<String, &'static str>,
    outputs: BTreeMap<String, Vec<Value>>,
}

async fn ending(engine: &Engine) -> Ending {
    let state = engine.execution_state(EXECUTION).await.unwrap();
    let mut states = BTreeMap::new();
    let mut outputs = BTreeMap::new();
    for (node, recorded) in &state.nodes {
        let kind = match recorded {
            NodeState::Success { .. } => "success",
            NodeState::Skipped {} => "skipped",
            NodeState::Failed { .. } => "failed",
            NodeState::Running { .. } => "running",
            NodeState::Waiting { .. } => "waiting",
        };
        states.insert(node.clone(), kind);
        if let Some(output) = engine.node_output(EXECUTION, node).await.unwrap() {
            let json = output.into_iter().flatten().map(|item| item.json).collect();
            outputs.insert(node.clone(), json);
        }
    }
    Ending {
        status: state.status,
        states,
        outputs,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

fn clock() -> Arc<TokioClock> {
    Arc::new(TokioClock::starting_at(
        Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap(),
    ))
}

/// Runs `graph` uninterrupted on a store that counts output writes; returns how it ended,
/// the number of store calls it made, and the case's log.
fn uninterrupted(graph: &Graph) -> (Ending, i64, Vec<Event>) {
    let case = CASES.fetch_add(1, Ordering::SeqCst);
    let workflow = graph.workflow(case);
    runtime().block_on(async {
        let clock = clock();
        let store = Arc::new(Dying::new(Arc::new(MemStore::new()), i64::MAX, false));
        let engine = engine(Arc::clone(&store) as Arc<dyn StateStore>, &clock);
        let response = drive(&engine, &clock, start(&workflow)).await.unwrap();
        let calls = i64::MAX - store.budget.load(Ordering::SeqCst);
        let ending = ending(&engine).await;
        for (node, writes) in store.outputs.lock().unwrap().iter() {
            assert_eq!(*writes, 1, "node {node}'s output was stored {writes} times");
        }
        assert_eq!(
            matches!(response.next_action, NextAction::Failed { .. }),
            ending.status == ExecutionStatus::Failed
        );
        (ending, calls, events(case))
    })
}

/// Checks an ending against the model of `graph`.
fn check_model(graph: &Graph, ending: &Ending) {
    let (expected, fails) = graph.model();
    if fails {
        assert_eq!(ending.status, ExecutionStatus::Failed, "{ending:?}");
        // Every node recorded failed is one the model fails; what ran before the failure
        // stopped the execution is whatever it is.
        for (node, state) in &ending.states {
            let index: usize = node[1..].parse().unwrap();
            if *state == "failed" {
                assert_eq!(expected[index], Expected::Failed, "{node}: {ending:?}");
            }
            if *state == "skipped" {
                assert_eq!(expected[index], Expected::Skipped, "{node}: {ending:?}");
            }
        }
        return;
    }
    assert_eq!(ending.status, ExecutionStatus::Success, "{ending:?}");
    for (index, want) in expected.iter().enumerate() {
        let node = name(index);
        let state = ending.states.get(&node).copied();
        match want {
            Expected::Passed(items) => {
                assert_eq!(state, Some("success"), "{node}: {ending:?}");
                let output = &ending.outputs[&node];
                assert_eq!(output.len(), *items, "{node}: {ending:?}");
                let given: usize = graph
                    .predecessors(index)
                    .map(|pred| ending.outputs.get(&name(pred)).map_or(0, Vec::len))
                    .sum();
                for item in output {
                    assert_eq!(item["node"], node.as_str());
                    assert_eq!(
                        item["given"],
                        if graph.predecessors(index).next().is_none() {
                            1
                        } else {
                            given
                        }
                    );
                }
            }
            Expected::Skipped => assert_eq!(state, Some("skipped"), "{node}: {ending:?}"),
            Expected::Failed => unreachable!("the model fails the execution"),
        }
    }
}

/// Every run of a node starts after every node feeding it finished (its last finish).
fn check_order(graph: &Graph, events: &[Event]) {
    let finished: HashMap<&str, u64> = events
        .iter()
        .filter(|event| event.finished)
        .map(|event| (event.node.as_str(), event.at))
        .collect();
    for event in events.iter().filter(|event| !event.finished) {
        let index: usize = event.node[1..].parse().unwrap();
        for pred in graph.predecessors(index) {
            if let Some(&done) = finished.get(name(pred).as_str()) {
                assert!(
                    done < event.at,
                    "{} started before {} finished: {events:?}",
                    event.node,
                    name(pred)
                );
            } else {
                // A predecessor that never passed: it was skipped, or filtered nothing out
                // of nothing; either way it ran before or never.
                assert!(
                    !events
                        .iter()
                        .any(|other| other.node == name(pred) && other.at > event.at),
                    "{} ran before {} ran: {events:?}",
                    event.node,
                    name(pred)
                );
            }
        }
    }
}

/// Kills the process at store call `at` (after the call took effect when `after`), resumes
/// on a new engine over the same records once the dead invocation's lease is over, and
/// returns how the execution ended, with the nodes stored at the crash and the case's log
/// after it.
fn crashed(graph: &Graph, at: i64, after: bool) -> (Ending, BTreeSet<String>, Vec<Event>) {
    let case = CASES.fetch_add(1, Ordering::SeqCst);
    let workflow = graph.workflow(case);
    runtime().block_on(async {
        let clock = clock();
        let records = Arc::new(MemStore::new());
        let dying = Arc::new(Dying::new(Arc::clone(&records), at, after));
        let first = engine(Arc::clone(&dying) as Arc<dyn StateStore>, &clock);
        let died = drive(&first, &clock, start(&workflow)).await;
        let stored: BTreeSet<String> = records
            .list(&format!("executions/{EXECUTION}/nodes/"))
            .await
            .unwrap()
            .iter()
            .filter_map(|key| output_node(key))
            .collect();
        let crash = ORDER.load(Ordering::SeqCst);
        // Waits out the dead invocation's lease and deadline.
        tokio::time::sleep(Duration::from_secs(60)).await;
        let second = engine(Arc::clone(&records) as Arc<dyn StateStore>, &clock);
        // The first process's answer does not matter: it died, or finished.
        drop(died);
        let mut request = Request::resume(EXECUTION);
        let mut finished = false;
        for _ in 0..20 {
            match drive(&second, &clock, request).await {
                Ok(_) => {
                    finished = true;
                    break;
                }
                // The process died before the execution was recorded: start it again.
                Err(EngineError::ExecutionNotFound(_)) => request = start(&workflow),
                // The dead invocation's claim on a node still holds.
                Err(EngineError::StateConflict(_)) => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    request = Request::resume(EXECUTION);
                }
                Err(error) => panic!("the resume failed: {error}"),
            }
        }
        assert!(finished, "the execution never finished after the crash");
        let after: Vec<Event> = events(case)
            .into_iter()
            .filter(|event| event.at > crash)
            .collect();
        (ending(&second).await, stored, after)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Uninterrupted: the model's ending, inputs before runs, each output stored once.
    #[test]
    fn executions_end_as_the_model_says(graph in graph()) {
        let (ending, _, events) = uninterrupted(&graph);
        check_model(&graph, &ending);
        check_order(&graph, &events);
    }

    /// Killed at any store call: the same ending as uninterrupted, and no node stored before
    /// the crash runs again.
    #[test]
    fn a_crash_at_any_store_call_changes_nothing(
        graph in graph(),
        point in 0.0f64..1.0,
        after in any::<bool>(),
    ) {
        let (whole, calls, _) = uninterrupted(&graph);
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let at = (point * calls as f64) as i64;
        let (ending, stored, events) = crashed(&graph, at, after);
        prop_assert_eq!(&ending.status, &whole.status);
        if whole.status == ExecutionStatus::Success {
            prop_assert_eq!(&ending, &whole);
        } else {
            check_model(&graph, &ending);
        }
        for event in &events {
            prop_assert!(
                !stored.contains(&event.node),
                "node {} ran again after its output was stored (crash at call {} of {})",
                event.node, at, calls
            );
        }
    }
}
