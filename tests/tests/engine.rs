//! The engine against the in-memory store: scheduling, routing, errors, retries, waits and
//! budgets, with an injected clock and jitter so that time-dependent behaviour is exact.

// Tests state their expectations with unwrap and panics.
#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

use hetumind::model::{ExecuteNode, ExecuteWorkflow, ResumeExecution};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use hetumind::engine::{Engine, EngineError, EngineOptions};
use hetumind::model::{ExecutionStatus, NextAction, NodeState, Request, Response, Workflow};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use hetumind::time::{FixedRandom, TokioClock};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Adds one.
#[node(kind = "test.inc")]
async fn inc(Item(n): Item<i64>) -> Result<i64, NodeError> {
    Ok(n + 1)
}

/// Sums all items.
#[node(kind = "test.sum", inputs = 2)]
async fn sum(Items(numbers): Items<i64>) -> Result<i64, NodeError> {
    Ok(numbers.iter().sum())
}

/// Routes by sign.
#[node(kind = "test.sign", outputs("positive", "negative"))]
async fn sign(Item(n): Item<i64>) -> Result<Routed<i64>, NodeError> {
    Ok(Routed::to(if n >= 0 { "positive" } else { "negative" }, n))
}

#[derive(Deserialize, JsonSchema)]
struct FlakyParams {
    failures: u32,
    key: String,
}

static FLAKY: std::sync::Mutex<Vec<(String, u32)>> = std::sync::Mutex::new(Vec::new());

/// Fails `failures` times (retryably), then passes items on.
#[node(
    kind = "test.flaky",
    retry(max_attempts = 3, initial = "1s", max = "10s", jitter = "none")
)]
async fn flaky(
    Params(p): Params<FlakyParams>,
    Item(v): Item<Value>,
    ctx: Ctx,
) -> Result<Value, NodeError> {
    FLAKY.lock().unwrap().push((p.key.clone(), ctx.attempt()));
    if ctx.attempt() <= p.failures {
        Err(NodeError::retryable(format!(
            "flaky failure {}",
            ctx.attempt()
        )))
    } else {
        Ok(v)
    }
}

static TERMINAL_CALLS: AtomicU32 = AtomicU32::new(0);

/// Always fails for good.
#[node(kind = "test.terminal")]
async fn terminal(Item(_v): Item<Value>) -> Result<Value, NodeError> {
    TERMINAL_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(NodeError::terminal("bad input"))
}

/// Panics.
#[node(kind = "test.panic")]
async fn panics(Item(_v): Item<Value>) -> Result<Value, NodeError> {
    panic!("boom")
}

#[derive(Deserialize, JsonSchema)]
struct SleepParams {
    ms: u64,
}

/// Sleeps, then passes items on.
#[node(kind = "test.sleep")]
async fn sleep(
    Params(p): Params<SleepParams>,
    Items(v): Items<Value>,
) -> Result<Vec<Value>, NodeError> {
    tokio::time::sleep(Duration::from_millis(p.ms)).await;
    Ok(v)
}

#[derive(Deserialize, JsonSchema)]
struct WaitParams {
    seconds: u64,
}

/// Waits, durably, then passes items on.
#[node(kind = "test.wait")]
async fn wait(
    Params(p): Params<WaitParams>,
    Items(v): Items<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    ctx.wait_for(Duration::from_secs(p.seconds))?;
    Ok(v)
}

/// Waits, durably, until its time, even when a request wakes it early: it parks again.
#[node(kind = "test.hold")]
async fn hold(
    Params(p): Params<WaitParams>,
    Items(v): Items<Value>,
    ctx: &Ctx,
) -> Result<Vec<Value>, NodeError> {
    let until = ctx.after_start(Duration::from_secs(p.seconds))?;
    if ctx.now() < until {
        return Err(NodeError::wait_until(until));
    }
    Ok(v)
}

static RATE_LIMITED: AtomicU32 = AtomicU32::new(0);

/// Fails once asking to be retried after 7 s, then passes items on.
#[node(kind = "test.rate_limited", retry(initial = "1s", jitter = "none"))]
async fn rate_limited(Item(v): Item<Value>, ctx: Ctx) -> Result<Value, NodeError> {
    RATE_LIMITED.fetch_add(1, Ordering::SeqCst);
    if ctx.attempt() == 1 {
        Err(NodeError::retry_after(Duration::from_secs(7), "slow down"))
    } else {
        Ok(v)
    }
}

/// Passes all items on, whatever they are.
#[node(kind = "test.collect")]
async fn collect(Items(values): Items<Value>) -> Result<Vec<Value>, NodeError> {
    Ok(values)
}

/// Fails the items that are negative numbers.
#[node(kind = "test.positive")]
async fn positive(Item(n): Item<i64>) -> Result<i64, NodeError> {
    if n < 0 {
        Err(NodeError::terminal(format!("{n} is negative")))
    } else {
        Ok(n)
    }
}

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

/// The engine's options for tests on a paused clock: node code runs on the engine's own task,
/// so that the clock advances only when every node is idle.
fn options() -> EngineOptions {
    EngineOptions {
        node_threads: false,
        ..EngineOptions::default()
    }
}

fn engine() -> Engine {
    Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    )
    .with_options(options())
    .with_clock(Arc::new(TokioClock::starting_at(
        Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap(),
    )))
    .with_random(Arc::new(FixedRandom(0.5)))
}

fn execute(workflow: Workflow, input: Value) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some("exec-1".to_owned()),
        input_data: Some(
            input
                .as_array()
                .unwrap()
                .iter()
                .cloned()
                .map(Into::into)
                .collect(),
        ),
        trigger: None,
        metadata: Default::default(),
    })
}

fn resume() -> Request {
    Request::resume("exec-1")
}

/// The bytes of `exec-1`'s stored `state.json`.
async fn stored_state(engine: &Engine) -> Vec<u8> {
    let key = "executions/exec-1/state.json";
    engine.store().get(key).await.unwrap().unwrap().bytes
}

/// `execute_node` for `node` of `exec-1`.
fn step(node: &str) -> Request {
    Request::ExecuteNode(ExecuteNode {
        execution_id: "exec-1".to_owned(),
        node_name: node.to_owned(),
        batch: None,
        spec: None,
        input_data: None,
        metadata: Default::default(),
    })
}

/// What a worker answers when its node is done: the execution goes on with a resume.
fn carry_on() -> NextAction {
    NextAction::Continue {
        next_nodes: Vec::new(),
    }
}

fn chain(names: &[&str], kind: &str) -> Value {
    let nodes: Vec<Value> = names
        .iter()
        .map(|name| json!({ "name": name, "kind": kind }))
        .collect();
    let mut connections = serde_json::Map::new();
    for pair in names.windows(2) {
        connections.insert(
            pair[0].to_owned(),
            json!({ "main": [[{ "node": pair[1] }]] }),
        );
    }
    json!({ "id": "chain", "nodes": nodes, "connections": connections })
}

/// The `json` of every inline output item (this file defines test nodes of its own, whose kinds
/// `hetumind-tests` also registers, so it cannot link that crate's `output_jsons`).
fn outputs(response: &Response) -> Vec<Value> {
    response
        .output_data
        .as_ref()
        .unwrap()
        .iter()
        .map(|item| item.json.clone())
        .collect()
}

#[tokio::test]
async fn linear_chain_completes_with_lineage() {
    let response = engine()
        .handle(
            execute(
                workflow(chain(&["A", "B", "C"], "test.inc")),
                json!([1, 10]),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(response.status, ExecutionStatus::Success);
    assert_eq!(outputs(&response), [json!(4), json!(13)]);
    let source = response.output_data.unwrap()[1].source.clone().unwrap();
    assert_eq!(
        (&*source.node, source.output_index, source.item_index),
        ("B", 0, 1)
    );
}

#[tokio::test]
async fn diamond_merges_both_branches() {
    let wf = workflow(json!({
        "id": "diamond",
        "nodes": [
            { "name": "Start", "kind": "test.inc" },
            { "name": "Left", "kind": "test.inc" },
            { "name": "Right", "kind": "test.inc" },
            { "name": "Sum", "kind": "test.sum" }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "Left" }, { "node": "Right" }]] },
            "Left": { "main": [[{ "node": "Sum", "index": 0 }]] },
            "Right": { "main": [[{ "node": "Sum", "index": 1 }]] }
        }
    }));
    let response = engine()
        .handle(execute(wf, json!([1])), None)
        .await
        .unwrap();
    assert_eq!(outputs(&response), [json!(6)]);
}

#[tokio::test]
async fn routing_skips_the_branch_not_taken() {
    let wf = workflow(json!({
        "id": "route",
        "nodes": [
            { "name": "Sign", "kind": "test.sign" },
            { "name": "Pos", "kind": "test.inc" },
            { "name": "Neg", "kind": "test.terminal" },
            { "name": "NegNext", "kind": "test.inc" }
        ],
        "connections": {
            "Sign": { "main": [[{ "node": "Pos" }], [{ "node": "Neg" }]] },
            "Neg": { "main": [[{ "node": "NegNext" }]] }
        }
    }));
    let before = TERMINAL_CALLS.load(Ordering::SeqCst);
    let response = engine()
        .handle(execute(wf, json!([5])), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(6)]);
    assert_eq!(
        TERMINAL_CALLS.load(Ordering::SeqCst),
        before,
        "the skipped branch never ran"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_then_success_sleeps_the_backoff() {
    let wf = workflow(json!({
        "id": "retry",
        "nodes": [{ "name": "F", "kind": "test.flaky", "parameters": { "failures": 2, "key": "retry-ok" } }]
    }));
    let started = tokio::time::Instant::now();
    let response = engine()
        .handle(execute(wf, json!([7])), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(7)]);
    // 1 s after attempt 1, 2 s after attempt 2 (no jitter).
    assert_eq!(started.elapsed().as_secs(), 3);
    let attempts: Vec<u32> = FLAKY
        .lock()
        .unwrap()
        .iter()
        .filter(|(key, _)| key == "retry-ok")
        .map(|(_, a)| *a)
        .collect();
    assert_eq!(attempts, [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn on_error_continue_retries_first_and_passes_items_on_only_when_exhausted() {
    let wf = workflow(json!({
        "id": "retry-continue",
        "nodes": [
            { "name": "Ok", "kind": "test.flaky", "on_error": "continue",
              "parameters": { "failures": 1, "key": "continue-ok" } },
            { "name": "Out", "kind": "test.flaky", "on_error": "continue",
              "parameters": { "failures": 9, "key": "continue-out" } }
        ],
        "connections": { "Ok": { "main": [[{ "node": "Out" }]] } }
    }));
    let response = engine()
        .handle(execute(wf, json!([{ "n": 7 }])), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    // `Ok` succeeded on its second attempt; `Out` gave up after three and passed the item on.
    let output = outputs(&response);
    assert_eq!(output.len(), 1);
    assert_eq!(output[0]["n"], 7);
    assert!(
        output[0]["error"]
            .as_str()
            .unwrap()
            .contains("gave up after 3 attempts"),
        "{output:?}"
    );
    let attempts = |key: &str| -> Vec<u32> {
        FLAKY
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, a)| *a)
            .collect()
    };
    assert_eq!(attempts("continue-ok"), [1, 2]);
    assert_eq!(attempts("continue-out"), [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn retry_exhausted_fails_the_execution() {
    let wf = workflow(json!({
        "id": "retry",
        "nodes": [{ "name": "F", "kind": "test.flaky", "parameters": { "failures": 9, "key": "retry-out" } }]
    }));
    let response = engine()
        .handle(execute(wf, json!([7])), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Failed);
    let NextAction::Failed { error } = response.next_action else {
        panic!()
    };
    assert!(error.contains("gave up after 3 attempts"), "{error}");
}

#[tokio::test]
async fn terminal_error_is_not_retried_and_continue_passes_items_on() {
    let before = TERMINAL_CALLS.load(Ordering::SeqCst);
    let wf = workflow(json!({ "id": "t", "nodes": [{ "name": "T", "kind": "test.terminal" }] }));
    let response = engine()
        .handle(execute(wf, json!([{}])), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Failed);
    assert_eq!(TERMINAL_CALLS.load(Ordering::SeqCst), before + 1);

    let wf = workflow(
        json!({ "id": "t", "nodes": [{ "name": "T", "kind": "test.terminal", "on_error": "continue" }] }),
    );
    let response = engine()
        .handle(execute(wf, json!([{ "a": 1 }])), None)
        .await
        .unwrap();
    assert_eq!(
        outputs(&response),
        [json!({ "a": 1, "error": "bad input" })]
    );
}

#[tokio::test]
async fn a_panicking_node_fails_without_taking_the_process_down() {
    let wf = workflow(json!({ "id": "p", "nodes": [{ "name": "P", "kind": "test.panic" }] }));
    let response = engine()
        .handle(execute(wf, json!([{}])), None)
        .await
        .unwrap();
    let NextAction::Failed { error } = response.next_action else {
        panic!()
    };
    assert!(error.contains("panicked: boom"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn node_timeout_is_retried_then_fails() {
    let wf = workflow(
        json!({ "id": "s", "nodes": [{ "name": "S", "kind": "test.sleep", "parameters": { "ms": 5000 }, "timeout_ms": 100,
        "retry": { "max_attempts": 2, "initial_interval_ms": 10, "jitter": "none" } }] }),
    );
    let response = engine()
        .handle(execute(wf, json!([{}])), None)
        .await
        .unwrap();
    let NextAction::Failed { error } = response.next_action else {
        panic!("{response:?}")
    };
    assert!(error.contains("timed out after 100 ms"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn wait_then_resume() {
    let engine = engine();
    let wf = workflow(
        json!({ "id": "w", "nodes": [{ "name": "W", "kind": "test.wait", "parameters": { "seconds": 3600 } }, { "name": "N", "kind": "test.inc" }],
        "connections": { "W": { "main": [[{ "node": "N" }]] } } }),
    );
    let response = engine.handle(execute(wf, json!([1])), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    let NextAction::Wait { resume_at } = response.next_action else {
        panic!()
    };
    assert_eq!(
        resume_at,
        Utc.with_ymd_and_hms(2026, 11, 28, 13, 0, 0).unwrap()
    );
    assert_eq!(
        serde_json::to_value(&response).unwrap()["next_action"]["resume_at"],
        "2026-11-28T13:00:00Z"
    );

    // Too early: still waiting.
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    tokio::time::advance(Duration::from_secs(3600)).await;
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(2)]);
    // Resuming a completed execution is a no-op with a clear answer.
    let again = engine.handle(resume(), None).await.unwrap();
    assert_eq!(again.next_action, NextAction::Complete);
}

#[tokio::test(start_paused = true)]
async fn a_wait_parks_the_node_whatever_its_on_error() {
    for on_error in ["continue", "error_output"] {
        let wf = workflow(json!({ "id": "w", "nodes": [
            { "name": "W", "kind": "test.wait", "on_error": on_error, "parameters": { "seconds": 60 } }
        ] }));
        let response = engine()
            .handle(execute(wf, json!([1])), None)
            .await
            .unwrap();
        assert_eq!(response.status, ExecutionStatus::Waiting, "{on_error}");
    }
}

#[tokio::test(start_paused = true)]
async fn budget_exhaustion_returns_continue_then_finishes() {
    let engine = engine().with_options(EngineOptions {
        safety_margin: Duration::from_millis(100),
        ..options()
    });
    let mut wf = chain(&["A", "B", "C", "D"], "test.sleep");
    for node in wf["nodes"].as_array_mut().unwrap() {
        node["parameters"] = json!({ "ms": 1000 });
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2500);
    let response = engine
        .handle(execute(workflow(wf), json!([1])), Some(deadline))
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Running);
    assert_eq!(
        response.next_action,
        NextAction::Continue {
            next_nodes: vec!["C".to_owned()]
        }
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let response = engine.handle(resume(), Some(deadline)).await.unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(1)]);
    // Nodes finished by the first invocation stay finished: none was rerun or skipped.
    let state = engine.execution_state("exec-1").await.unwrap();
    for node in ["A", "B", "C", "D"] {
        assert!(
            matches!(state.nodes[node], NodeState::Success { attempt: 1, .. }),
            "{node}: {:?}",
            state.nodes[node]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn eager_scheduling_follows_the_critical_path() {
    // 4 chains of 10 nodes whose sleeps alternate out of phase (50, 10, 50, ... and 10, 50,
    // ...): each chain takes 300 ms, the critical path. Waves that wait for their slowest node
    // would take 10 x 50 = 500 ms.
    let mut nodes = vec![json!({ "name": "Start", "kind": "test.inc" })];
    let mut connections = serde_json::Map::new();
    let mut firsts = Vec::new();
    for lane in 0..4 {
        for depth in 0..10 {
            let name = format!("L{lane}D{depth}");
            let ms = if (lane + depth) % 2 == 0 { 50 } else { 10 };
            nodes.push(json!({ "name": name, "kind": "test.sleep", "parameters": { "ms": ms } }));
            if depth == 0 {
                firsts.push(json!({ "node": name }));
            } else {
                connections.insert(
                    format!("L{lane}D{}", depth - 1),
                    json!({ "main": [[{ "node": name }]] }),
                );
            }
        }
    }
    connections.insert("Start".to_owned(), json!({ "main": [firsts] }));
    let wf = workflow(
        json!({ "id": "grid", "settings": { "max_concurrency": 4 }, "nodes": nodes, "connections": connections }),
    );
    let started = tokio::time::Instant::now();
    let response = engine()
        .handle(execute(wf, json!([1])), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(started.elapsed(), Duration::from_millis(300));
}

#[tokio::test]
async fn execute_node_runs_exactly_one_node() {
    let engine = engine().with_options(EngineOptions {
        max_invocation: Some(Duration::ZERO),
        safety_margin: Duration::ZERO,
        ..options()
    });
    let response = engine
        .handle(
            execute(workflow(chain(&["A", "B"], "test.inc")), json!([1])),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        response.next_action,
        NextAction::Continue {
            next_nodes: vec!["A".to_owned()]
        }
    );
    let engine = engine.with_options(options());
    let error = engine.handle(step("B"), None).await.unwrap_err();
    assert!(
        error.to_string().contains("node `B` is not ready"),
        "{error}"
    );
    let response = engine.handle(step("A"), None).await.unwrap();
    assert_eq!(response.next_action, carry_on());
    let a = engine.node_output("exec-1", "A").await.unwrap().unwrap();
    assert_eq!(a[0][0].json, json!(2));
    assert_eq!(engine.node_output("exec-1", "B").await.unwrap(), None);
    // B is ready now that A's output is stored, though no resume recorded it.
    let response = engine.handle(step("B"), None).await.unwrap();
    assert_eq!(response.next_action, carry_on());
    let error = engine.handle(step("B"), None).await.unwrap_err();
    assert!(
        error.to_string().contains("node `B` has already finished"),
        "{error}"
    );
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(3)]);
}

#[tokio::test(start_paused = true)]
async fn execute_node_steps_over_a_branch_not_taken_which_is_skipped_at_once() {
    let engine = engine().with_options(EngineOptions {
        max_invocation: Some(Duration::ZERO),
        safety_margin: Duration::ZERO,
        ..options()
    });
    let wf = workflow(json!({
        "id": "branches",
        "nodes": [
            { "name": "S", "kind": "test.sign" },
            { "name": "P1", "kind": "test.inc" }, { "name": "P2", "kind": "test.inc" },
            { "name": "N1", "kind": "test.inc" }, { "name": "N2", "kind": "test.inc" }
        ],
        "connections": {
            "S": { "main": [[{ "node": "P1" }], [{ "node": "N1" }]] },
            "P1": { "main": [[{ "node": "P2" }]] },
            "N1": { "main": [[{ "node": "N2" }]] }
        }
    }));
    engine.handle(execute(wf, json!([1])), None).await.unwrap();
    let engine = engine.with_options(options());
    // Each invocation restores the schedule from the stored outputs alone: the negative branch,
    // never stored as skipped, is derived as skipped every time and never offered.
    for node in ["S", "P1"] {
        let response = engine.handle(step(node), None).await.unwrap();
        assert_eq!(response.next_action, carry_on());
    }
    let error = engine.handle(step("N2"), None).await.unwrap_err();
    assert!(
        error.to_string().contains("node `N2` has already finished"),
        "{error}"
    );
    let response = engine.handle(step("P2"), None).await.unwrap();
    assert_eq!(response.next_action, carry_on());
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(3)]);

    let state = engine.execution_state("exec-1").await.unwrap();
    let states: Vec<(&str, &str)> = state
        .nodes
        .iter()
        .map(|(name, node)| {
            let status = match node {
                NodeState::Success {
                    attempt: 1,
                    output_key,
                } => {
                    assert_eq!(
                        output_key,
                        &format!("executions/exec-1/nodes/{name}/1.json")
                    );
                    "success"
                }
                NodeState::Skipped {} => "skipped",
                other => panic!("{name}: {other:?}"),
            };
            (name.as_str(), status)
        })
        .collect();
    assert_eq!(
        states,
        [
            ("N1", "skipped"),
            ("N2", "skipped"),
            ("P1", "success"),
            ("P2", "success"),
            ("S", "success")
        ]
    );
    let stored: Value = serde_json::from_slice(&stored_state(&engine).await).unwrap();
    assert_eq!(stored["nodes"], json!({}), "{stored}");
}

#[tokio::test(start_paused = true)]
async fn the_state_object_does_not_grow_with_the_workflow() {
    let mut sizes = Vec::new();
    for count in [3, 300] {
        let engine = engine();
        let names: Vec<String> = (0..count).map(|i| format!("N{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let response = engine
            .handle(
                execute(workflow(chain(&names, "test.inc")), json!([0])),
                None,
            )
            .await
            .unwrap();
        assert_eq!(outputs(&response), [json!(count)]);
        sizes.push(stored_state(&engine).await.len());
        let state = engine.execution_state("exec-1").await.unwrap();
        assert_eq!(state.nodes.len(), count);
        assert!(
            state
                .nodes
                .values()
                .all(|node| matches!(node, NodeState::Success { .. }))
        );
    }
    assert_eq!(sizes[0], sizes[1], "state.json of 3 and 300 nodes");
    assert!(sizes[0] < 300, "{sizes:?}");
}

#[tokio::test]
async fn validation_reports_every_problem_with_its_path() {
    let wf = workflow(json!({
        "id": "bad",
        "nodes": [
            { "name": "A", "kind": "test.inc" },
            { "name": "A", "kind": "test.nope" },
            { "name": "F", "kind": "test.flaky", "parameters": { "failures": "x", "key": "k" } },
            { "name": "B", "kind": "test.inc", "version": 9 }
        ],
        "connections": {
            "A": { "main": [[{ "node": "Ghost" }], [{ "node": "B" }]] },
            "Nobody": { "main": [[{ "node": "A" }]] },
            "B": { "main": [[{ "node": "F" }]] },
            "F": { "main": [[{ "node": "B" }]] }
        }
    }));
    let EngineError::WorkflowInvalid(error) = engine()
        .handle(execute(wf, json!([1])), None)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    let paths: Vec<&str> = error
        .problems
        .iter()
        .map(|problem| problem.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "nodes[1].name",
            "nodes[1].kind",
            "nodes[2].parameters",
            "nodes[3].kind",
            "connections.A.main[0][0].node",
            "connections.A.main[1]",
            "connections.Nobody",
            "connections",
        ],
        "{error}"
    );
    assert!(error.to_string().contains("cycle: F -> B -> F"), "{error}");
    assert!(
        error.problems[2].message.contains("at `failures`"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_instead_of_the_policy_delay() {
    let wf =
        workflow(json!({ "id": "r", "nodes": [{ "name": "R", "kind": "test.rate_limited" }] }));
    let started = tokio::time::Instant::now();
    let response = engine()
        .handle(execute(wf, json!([1])), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(started.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn a_retry_delay_beyond_the_budget_is_persisted_as_a_wait() {
    let engine = engine().with_options(EngineOptions {
        safety_margin: Duration::from_millis(100),
        ..options()
    });
    let wf =
        workflow(json!({ "id": "r", "nodes": [{ "name": "R", "kind": "test.rate_limited" }] }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    let response = engine
        .handle(execute(wf, json!([1])), Some(deadline))
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    assert_eq!(
        response.next_action,
        NextAction::Wait {
            resume_at: Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 7).unwrap()
        }
    );
    tokio::time::advance(Duration::from_secs(7)).await;
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(1)]);
}

#[tokio::test]
async fn error_output_routes_failed_items_to_their_own_branch() {
    let wf = workflow(json!({
        "id": "e",
        "nodes": [
            { "name": "P", "kind": "test.positive", "on_error": "error_output" },
            { "name": "Ok", "kind": "test.inc" },
            { "name": "Failed", "kind": "test.collect" }
        ],
        "connections": { "P": { "main": [[{ "node": "Ok" }], [{ "node": "Failed" }]] } }
    }));
    let response = engine()
        .handle(execute(wf, json!([1, -1, 2])), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    // End nodes in workflow order: `Ok` got 1 and 2, `Failed` got the failed item.
    assert_eq!(
        outputs(&response),
        [
            json!(2),
            json!(3),
            json!({ "value": -1, "error": "-1 is negative" })
        ]
    );
}

#[tokio::test]
async fn a_merge_runs_with_the_inputs_that_carry_items() {
    // Sign routes 5 to `positive` only; Neg never runs, so Sum sees only Pos's items.
    let wf = workflow(json!({
        "id": "m",
        "nodes": [
            { "name": "Sign", "kind": "test.sign" },
            { "name": "Pos", "kind": "test.inc" },
            { "name": "Neg", "kind": "test.inc" },
            { "name": "Sum", "kind": "test.sum" }
        ],
        "connections": {
            "Sign": { "main": [[{ "node": "Pos" }], [{ "node": "Neg" }]] },
            "Pos": { "main": [[{ "node": "Sum", "index": 0 }]] },
            "Neg": { "main": [[{ "node": "Sum", "index": 1 }]] }
        }
    }));
    let response = engine()
        .handle(execute(wf, json!([5, 6])), None)
        .await
        .unwrap();
    assert_eq!(outputs(&response), [json!(13)]);
    // With no items at all on either input, the merge is skipped too.
    let wf_all_negative = json!([-5]);
    let wf = workflow(json!({
        "id": "m2",
        "nodes": [
            { "name": "Sign", "kind": "test.sign" },
            { "name": "Pos", "kind": "test.inc" },
            { "name": "Sum", "kind": "test.sum" }
        ],
        "connections": {
            "Sign": { "main": [[{ "node": "Pos" }]] },
            "Pos": { "main": [[{ "node": "Sum" }]] }
        }
    }));
    let response = engine()
        .handle(execute(wf, wf_all_negative), None)
        .await
        .unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), Vec::<Value>::new());
}

#[tokio::test]
async fn fan_out_delivers_every_item_to_every_target_and_fan_in_collects_them() {
    let wf = workflow(json!({
        "id": "f",
        "nodes": [
            { "name": "Start", "kind": "test.inc" },
            { "name": "A", "kind": "test.inc" },
            { "name": "B", "kind": "test.inc" },
            { "name": "C", "kind": "test.inc" },
            { "name": "Sum", "kind": "test.sum" }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "A" }, { "node": "B" }, { "node": "C" }]] },
            "A": { "main": [[{ "node": "Sum" }]] },
            "B": { "main": [[{ "node": "Sum" }]] },
            "C": { "main": [[{ "node": "Sum" }]] }
        }
    }));
    // Start: 1, 2 -> 2, 3; each branch: 3, 4 -> Sum of three branches: 3 x 7 = 21.
    let response = engine()
        .handle(execute(wf, json!([1, 2])), None)
        .await
        .unwrap();
    assert_eq!(outputs(&response), [json!(21)]);
}

#[tokio::test(start_paused = true)]
async fn a_held_lease_turns_a_concurrent_invocation_away_until_it_expires() {
    let engine = engine();
    let wf = workflow(json!({ "id": "l", "nodes": [
        { "name": "Slow", "kind": "test.sleep", "parameters": { "ms": 3_600_000 } },
        { "name": "After", "kind": "test.inc" }
    ], "connections": { "Slow": { "main": [[{ "node": "After" }]] } } }));
    // The first invocation dies in the middle of `Slow` (its future is dropped), holding the
    // lease it took (30 s by default).
    let died = tokio::time::timeout(
        Duration::from_secs(1),
        engine.handle(execute(wf.clone(), json!([1])), None),
    )
    .await;
    assert!(died.is_err());
    let error = engine.handle(resume(), None).await.unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.StateConflict");
    assert!(
        error
            .to_string()
            .contains("is being advanced by invocation"),
        "{error}"
    );
    // Starting it again carries it on, so it is refused the same way.
    let error = engine
        .handle(execute(wf, json!([1])), None)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is being advanced by invocation"),
        "{error}"
    );

    // Once the lease has expired, a resume takes over and runs `Slow` again.
    tokio::time::advance(Duration::from_secs(30)).await;
    let resumed = tokio::spawn({
        let engine = engine.clone();
        async move { engine.handle(resume(), None).await }
    });
    // While it runs, it renews its lease: a concurrent resume is still turned away.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let error = engine.handle(resume(), None).await.unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.StateConflict");
    // Each renewal records the nodes in flight, with the attempt a takeover would run again.
    let stored: Value = serde_json::from_slice(&stored_state(&engine).await).unwrap();
    assert_eq!(stored["nodes"]["Slow"]["status"], "running", "{stored}");
    assert_eq!(stored["nodes"]["Slow"]["attempt"], 1, "{stored}");
    assert_eq!(stored["nodes"].as_object().unwrap().len(), 1, "{stored}");
    let response = resumed.await.unwrap().unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(outputs(&response), [json!(2)]);
}

#[tokio::test(start_paused = true)]
async fn cleanup_deletes_finished_executions_past_retention_only() {
    let engine = engine();
    let done = workflow(chain(&["A", "B"], "test.inc"));
    engine
        .handle(execute(done, json!([1])), None)
        .await
        .unwrap();
    let waiting = workflow(json!({ "id": "w", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": { "seconds": 86_400 } }
    ] }));
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(waiting)),
        execution_id: Some("exec-2".to_owned()),
        input_data: None,
        trigger: None,
        metadata: Default::default(),
    });
    engine.handle(request, None).await.unwrap();

    let retention = Duration::from_secs(3600);
    assert!(
        engine.cleanup(retention).await.unwrap().is_empty(),
        "too recent"
    );
    let error = engine.delete_execution("exec-2").await.unwrap_err();
    assert!(error.to_string().contains("has not ended"), "{error}");

    tokio::time::advance(retention + Duration::from_secs(1)).await;
    assert_eq!(engine.cleanup(retention).await.unwrap(), ["exec-1"]);
    let store = engine.store();
    assert!(store.list("executions/exec-1/").await.unwrap().is_empty());
    assert!(!store.list("executions/exec-2/").await.unwrap().is_empty());
    assert!(!engine.delete_execution("exec-1").await.unwrap());
}

/// A store that never answers.
#[derive(Debug)]
struct Hanging;

impl hetumind::store::StateStore for Hanging {
    fn locate(&self, key: &str) -> String {
        format!("hanging://{key}")
    }

    fn get<'a>(
        &'a self,
        _: &'a str,
    ) -> hetumind::BoxFuture<'a, Result<Option<hetumind::store::Stored>, hetumind::store::StoreError>>
    {
        Box::pin(std::future::pending())
    }

    fn put<'a>(
        &'a self,
        _: &'a str,
        _: Vec<u8>,
        _: hetumind::store::Condition,
    ) -> hetumind::BoxFuture<'a, Result<hetumind::store::Version, hetumind::store::StoreError>>
    {
        Box::pin(std::future::pending())
    }

    fn list<'a>(
        &'a self,
        _: &'a str,
    ) -> hetumind::BoxFuture<'a, Result<Vec<String>, hetumind::store::StoreError>> {
        Box::pin(std::future::pending())
    }

    fn delete<'a>(
        &'a self,
        _: &'a str,
    ) -> hetumind::BoxFuture<'a, Result<(), hetumind::store::StoreError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn store_calls_never_outlive_the_invocation_deadline() {
    let engine = Engine::new(hetumind::Registry::global().unwrap(), Arc::new(Hanging));
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(5);
    let error = engine.handle(resume(), Some(deadline)).await.unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.Retryable", "{error}");
    assert!(
        error
            .to_string()
            .contains("within the invocation's deadline"),
        "{error}"
    );
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_stored_workflow_runs_by_id_and_later_edits_leave_running_executions_alone() {
    let engine = engine();
    let first = workflow(json!({ "id": "stored", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": { "seconds": 60 } },
        { "name": "N", "kind": "test.inc" }
    ], "connections": { "W": { "main": [[{ "node": "N" }]] } } }));
    engine.put_workflow(&first).await.unwrap();
    let by_id = |id: &str| {
        Request::ExecuteWorkflow(ExecuteWorkflow {
            workflow_id: Some("stored".to_owned()),
            workflow: None,
            execution_id: Some(id.to_owned()),
            input_data: Some(vec![json!(1).into()]),
            trigger: None,
            metadata: Default::default(),
        })
    };
    let response = engine.handle(by_id("exec-1"), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);

    // The stored definition changes: N now adds one twice.
    let mut second = first.clone();
    second
        .nodes
        .push(serde_json::from_value(json!({ "name": "M", "kind": "test.inc" })).unwrap());
    second.connections.insert(
        "N".to_owned(),
        serde_json::from_value(json!({ "main": [[{ "node": "M" }]] })).unwrap(),
    );
    engine.put_workflow(&second).await.unwrap();

    tokio::time::advance(Duration::from_secs(60)).await;
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(
        outputs(&response),
        [json!(2)],
        "the running execution kept its definition"
    );
    let response = engine.handle(by_id("exec-2"), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    tokio::time::advance(Duration::from_secs(60)).await;
    let resume_2 = Request::ResumeExecution(ResumeExecution {
        execution_id: "exec-2".to_owned(),
        node_name: None,
        input_data: None,
        task_token: None,
        metadata: Default::default(),
    });
    let response = engine.handle(resume_2, None).await.unwrap();
    assert_eq!(
        outputs(&response),
        [json!(3)],
        "a new execution runs the new definition"
    );

    let missing = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: Some("nope".to_owned()),
        workflow: None,
        execution_id: None,
        input_data: None,
        trigger: None,
        metadata: Default::default(),
    });
    let error = engine.handle(missing, None).await.unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.WorkflowNotFound");
}

/// `resume_execution` for `exec-1`'s node `node`, with `input`.
fn resume_node(node: &str, input: Option<Value>) -> Request {
    Request::ResumeExecution(ResumeExecution {
        execution_id: "exec-1".to_owned(),
        node_name: Some(node.to_owned()),
        input_data: input.map(|input| vec![input.into()]),
        task_token: None,
        metadata: Default::default(),
    })
}

#[tokio::test]
async fn an_output_too_big_to_inline_is_referenced_and_every_repeat_answers_alike() {
    let engine = engine().with_options(hetumind::engine::EngineOptions {
        max_inline_output: 64,
        ..Default::default()
    });
    let wf = workflow(chain(&["A", "B"], "test.collect"));
    let input = json!([{ "text": "x".repeat(40) }, { "text": "y".repeat(40) }]);
    let first = engine
        .handle(execute(wf.clone(), input.clone()), None)
        .await
        .unwrap();
    assert_eq!(first.next_action, NextAction::Complete);
    assert_eq!(first.output_data, None);
    let reference = first.output_ref.clone().expect("an output reference");
    assert_eq!(reference.item_count, 2);
    let stored = engine
        .store()
        .get("executions/exec-1/nodes/B/1.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reference.bytes, stored.bytes.len());
    assert_eq!(
        reference.locations,
        [engine.store().locate("executions/exec-1/nodes/B/1.json")]
    );
    // A resume, and the same start again, answer as the invocation that completed it.
    let resumed = engine.handle(resume(), None).await.unwrap();
    assert_eq!(resumed, first);
    let repeated = engine.handle(execute(wf, input), None).await.unwrap();
    assert_eq!(repeated, first);
    // The whole output is read from the store.
    let items = engine.final_output("exec-1").await.unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].json, json!({ "text": "y".repeat(40) }));
}

#[tokio::test(start_paused = true)]
async fn a_finished_execution_answers_repeats_with_its_output_and_refuses_its_nodes() {
    let engine = engine();
    let wf = workflow(json!({ "id": "w", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": { "seconds": 2 } },
        { "name": "N", "kind": "test.inc" }
    ], "connections": { "W": { "main": [[{ "node": "N" }]] } } }));
    let first = engine
        .handle(execute(wf.clone(), json!([1])), None)
        .await
        .unwrap();
    assert_eq!(first.next_action, NextAction::Complete);
    assert_eq!(outputs(&first), [json!(2)]);
    let resumed = engine.handle(resume(), None).await.unwrap();
    assert_eq!(resumed, first);
    let repeated = engine.handle(execute(wf, json!([1])), None).await.unwrap();
    assert_eq!(repeated, first);
    for request in [resume_node("N", None), step("W")] {
        let error = engine.handle(request, None).await.unwrap_err();
        assert_eq!(error.error_type(), "Hetumind.InvalidRequest");
        assert!(
            error.to_string().contains("has already finished"),
            "{error}"
        );
    }
    let error = engine.handle(step("N"), None).await.unwrap_err();
    assert!(error.to_string().contains("node `N`"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_request_naming_a_waiting_node_ends_its_wait_now() {
    let engine = engine();
    let wf = workflow(json!({ "id": "w", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": { "seconds": 3600 } },
        { "name": "N", "kind": "test.inc" }
    ], "connections": { "W": { "main": [[{ "node": "N" }]] } } }));
    let response = engine.handle(execute(wf, json!([1])), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    // `Ctx::wait_for` returns at once in a run a request woke, with the items it gave.
    let response = engine
        .handle(resume_node("W", Some(json!(10))), None)
        .await
        .unwrap();
    assert_eq!(outputs(&response), [json!(11)]);
}

#[tokio::test(start_paused = true)]
async fn items_given_to_a_node_that_waits_again_are_kept_until_it_runs() {
    let engine = engine();
    let wf = workflow(json!({ "id": "w", "nodes": [
        { "name": "W", "kind": "test.hold", "parameters": { "seconds": 3600 } },
        { "name": "N", "kind": "test.inc" }
    ], "connections": { "W": { "main": [[{ "node": "N" }]] } } }));
    let response = engine.handle(execute(wf, json!([1])), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    // Run now, W waits again: the items are stored with its progress.
    let response = engine
        .handle(resume_node("W", Some(json!(10))), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    let state: Value = serde_json::from_slice(&stored_state(&engine).await).unwrap();
    assert_eq!(state["progress"], json!(["W"]), "{state}");
    let progress = engine
        .store()
        .get("executions/exec-1/progress/W.json")
        .await
        .unwrap()
        .expect("W's progress is stored");
    let progress: Value = serde_json::from_slice(&progress.bytes).unwrap();
    assert_eq!(progress["input"][0]["json"], json!(10), "{progress}");
    // A plain resume before the time changes nothing; after it, W runs with the given items.
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    tokio::time::advance(Duration::from_secs(3600)).await;
    let response = engine.handle(resume(), None).await.unwrap();
    assert_eq!(outputs(&response), [json!(11)]);
    let state: Value = serde_json::from_slice(&stored_state(&engine).await).unwrap();
    assert_eq!(state.get("progress"), None, "{state}");
}

/// A wait of about 253,000 years: representable (`wait_for` refuses only what is not), but far
/// beyond the year 9999 that RFC 3339 can write.
const FAR_BEYOND_9999: u64 = 8_000_000_000_000;

#[tokio::test(start_paused = true)]
async fn a_wait_or_lease_beyond_the_last_date_saturates_instead_of_panicking() {
    let wf = workflow(json!({ "id": "w", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": { "seconds": FAR_BEYOND_9999 } }
    ] }));
    let response = engine()
        .handle(execute(wf, json!([1])), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    assert_eq!(
        serde_json::to_value(&response).unwrap()["next_action"]["resume_at"],
        "9999-12-31T23:59:59Z"
    );
    assert_eq!(
        hetumind::model::ceil_to_second(chrono::DateTime::<Utc>::MAX_UTC),
        Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
    );

    let engine = engine().with_options(hetumind::engine::EngineOptions {
        lease: Duration::MAX,
        ..Default::default()
    });
    let wf = workflow(chain(&["A", "B"], "test.inc"));
    let response = engine.handle(execute(wf, json!([1])), None).await.unwrap();
    assert_eq!(outputs(&response), [json!(3)]);
    let kept = engine.cleanup(Duration::MAX).await.unwrap();
    assert!(kept.is_empty(), "{kept:?}");
}

#[tokio::test]
async fn reusing_an_execution_id_with_another_workflow_or_input_is_execution_exists() {
    let engine = engine();
    let wf = workflow(chain(&["A", "B"], "test.inc"));
    let response = engine
        .handle(execute(wf.clone(), json!([1])), None)
        .await
        .unwrap();
    assert_eq!(outputs(&response), [json!(3)]);
    let other = workflow(chain(&["A"], "test.inc"));
    for (request, differs) in [
        (execute(wf.clone(), json!([2])), "with other input"),
        (execute(other.clone(), json!([1])), "with another workflow"),
        (
            execute(other, json!([2])),
            "with another workflow and other input",
        ),
    ] {
        let error = engine.handle(request, None).await.unwrap_err();
        assert_eq!(error.error_type(), "Hetumind.ExecutionExists", "{error}");
        assert!(
            error
                .to_string()
                .contains(&format!("execution `exec-1` already exists {differs}:")),
            "{error}"
        );
    }
    // The same workflow and input again carry the execution on.
    let again = engine.handle(execute(wf, json!([1])), None).await.unwrap();
    assert_eq!(again, response);
}

#[tokio::test]
async fn execution_ids_and_node_names_must_be_1_to_512_characters() {
    let engine = engine();
    let long = "x".repeat(hetumind::model::MAX_NAME_CHARS + 1);
    let with_id = |id: &str| {
        Request::ExecuteWorkflow(ExecuteWorkflow {
            workflow_id: None,
            workflow: Some(Box::new(workflow(chain(&["A"], "test.inc")))),
            execution_id: Some(id.to_owned()),
            input_data: Some(vec![json!(1).into()]),
            trigger: None,
            metadata: Default::default(),
        })
    };
    let requests = [
        (with_id(&long), "`execution_id` is 513 characters long"),
        (with_id(""), "`execution_id` cannot be empty"),
        (Request::resume(&long), "`execution_id` is 513"),
        (
            Request::ExecuteNode(ExecuteNode {
                execution_id: long.clone(),
                node_name: "A".to_owned(),
                batch: None,
                spec: None,
                input_data: None,
                metadata: Default::default(),
            }),
            "`execution_id` is 513",
        ),
        (step(&long), "`node_name` is 513"),
        (step(""), "`node_name` cannot be empty"),
        (resume_node(&long, None), "`node_name` is 513"),
    ];
    for (request, message) in requests {
        let error = engine.handle(request, None).await.unwrap_err();
        assert_eq!(error.error_type(), "Hetumind.InvalidRequest", "{error}");
        assert!(error.to_string().contains(message), "{error}");
        if message.contains("513") {
            assert!(
                error.to_string().contains("the longest accepted is 512"),
                "{error}"
            );
        }
    }
    // 512 characters of two bytes each are fine.
    let response = engine
        .handle(with_id(&"é".repeat(512)), None)
        .await
        .unwrap();
    assert_eq!(outputs(&response), [json!(2)]);
}

#[test]
fn the_workflow_test_harness_waits_out_the_longest_wait_and_returns_any_output_whole() {
    let run = hetumind::testing::WorkflowTest::new(json!({ "id": "w", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": { "seconds": FAR_BEYOND_9999 } },
        { "name": "N", "kind": "test.collect" }
    ], "connections": { "W": { "main": [[{ "node": "N" }]] } } }))
    .input((0..3_000).map(|n| json!({ "n": n, "pad": "p".repeat(100) })))
    .run_blocking()
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    let waits = run.waits();
    assert_eq!(waits.len(), 1);
    assert!(waits[0] > Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap());
    let output = run.output();
    assert_eq!(output.len(), 3_000);
    assert_eq!(output[2_999]["n"], 2_999);
}
