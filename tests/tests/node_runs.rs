//! How node code runs: an item failing with a retryable error is retried alone while the other
//! items keep their outputs, and a node that blocks its thread holds up neither the lease, nor
//! its own timeout, nor the nodes beside it.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hetumind::engine::Engine;
use hetumind::model::{ExecuteWorkflow, ExecutionStatus, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use hetumind_tests::output_jsons as jsons;

// The process-level test nodes (`test.block`, `test.echo`).
use hetumind_tests as _;

const RUNNER: &str = env!("CARGO_BIN_EXE_hetumind-test");

/// An item of `test.flaky_items`.
#[derive(Debug, Deserialize, JsonSchema)]
struct FlakyItem {
    id: u32,
    /// How many times the item fails with a retryable error before it succeeds.
    fails: u32,
}

/// Every call of `test.flaky_items`: execution, item id, attempt, the item's idempotency key.
static CALLS: Mutex<Vec<(String, u32, u32, String)>> = Mutex::new(Vec::new());

/// Fails each item `fails` times (retryably), then answers `{"id", "ok": true}`.
#[node(kind = "test.flaky_items")]
async fn flaky_items(Item(item): Item<FlakyItem>, ctx: Ctx) -> Result<Value, NodeError> {
    let key = ctx.item_idempotency_key().unwrap();
    let failed_before = {
        let mut calls = CALLS.lock().unwrap();
        let before = calls
            .iter()
            .filter(|(execution, id, ..)| execution == ctx.execution_id() && *id == item.id)
            .count();
        calls.push((ctx.execution_id().to_owned(), item.id, ctx.attempt(), key));
        before
    };
    if u32::try_from(failed_before).unwrap() < item.fails {
        return Err(NodeError::retryable(format!(
            "item {} is not ready",
            item.id
        )));
    }
    Ok(json!({ "id": item.id, "ok": true }))
}

fn engine() -> Engine {
    Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    )
}

fn execute(execution_id: &str, workflow: Value, input: &Value) -> Request {
    let workflow: Workflow = serde_json::from_value(workflow).unwrap();
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some(execution_id.to_owned()),
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
        metadata: serde_json::Map::new(),
    })
}

/// One flaky node under `on_error`, three attempts 10 ms apart.
fn flaky_workflow(on_error: &str) -> Value {
    json!({
        "id": "flaky",
        "nodes": [{ "name": "F", "kind": "test.flaky_items", "on_error": on_error,
                    "retry": { "max_attempts": 3, "initial_interval_ms": 10, "jitter": "none" } }]
    })
}

/// Item 1 never succeeds, item 2 on its second attempt, items 0 and 3 at once.
fn flaky_input() -> Value {
    json!([
        { "id": 0, "fails": 0 },
        { "id": 1, "fails": 99 },
        { "id": 2, "fails": 1 },
        { "id": 3, "fails": 0 }
    ])
}

/// How often each item of `execution` was called, by id, and the keys it was called with.
fn calls_of(execution: &str) -> Vec<(u32, Vec<u32>, Vec<String>)> {
    let calls = CALLS.lock().unwrap();
    (0..4)
        .map(|id| {
            let mine = calls.iter().filter(|(e, i, ..)| e == execution && *i == id);
            (
                id,
                mine.clone().map(|(_, _, attempt, _)| *attempt).collect(),
                mine.map(|(.., key)| key.clone()).collect(),
            )
        })
        .collect()
}

/// Items 0, 2 and 3 succeeded in input order; item 1 passed on with an error saying `error`.
fn assert_item_outputs(out: &[Value], error: &str) {
    assert_eq!(out[0], json!({ "id": 0, "ok": true }));
    assert!(out[1]["error"].as_str().unwrap().contains(error), "{out:?}");
    assert_eq!(out[2], json!({ "id": 2, "ok": true }));
    assert_eq!(out[3], json!({ "id": 3, "ok": true }));
}

/// Items 0 and 3 ran once, item 2 until it succeeded: only failed items ran again.
fn assert_retried_alone(calls: &[(u32, Vec<u32>, Vec<String>)]) {
    assert_eq!(calls[0].1, [1], "item 0 ran once");
    assert_eq!(calls[2].1, [1, 2], "item 2 ran until it succeeded");
    assert_eq!(calls[3].1, [1], "item 3 ran once");
}

#[tokio::test]
async fn only_the_failing_items_are_retried_and_the_others_keep_their_outputs() {
    let response = engine()
        .handle(
            execute("items-continue", flaky_workflow("continue"), &flaky_input()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Success);
    let out = jsons(&response);
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[1]["id"], 1);
    assert_item_outputs(&out, "item 1 is not ready");
    let calls = calls_of("items-continue");
    assert_eq!(calls[1].1, [1, 2, 3], "item 1 ran every attempt");
    assert_retried_alone(&calls);
    // Every attempt of an item carries the same key, and each item its own.
    for (id, _, keys) in &calls {
        assert!(
            keys.iter()
                .all(|key| *key == format!("items-continue:F:{id}"))
        );
    }
}

#[tokio::test]
async fn error_output_gets_only_the_items_that_failed_for_good() {
    let mut workflow = flaky_workflow("error_output");
    workflow["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "Errors", "kind": "test.echo" }));
    workflow["nodes"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "Main", "kind": "test.echo" }));
    workflow["connections"] = json!({
        "F": { "main": [[{ "node": "Main" }], [{ "node": "Errors" }]] }
    });
    let engine = engine();
    let response = engine
        .handle(
            execute("items-error-output", workflow, &flaky_input()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Success);
    let outputs = engine
        .node_output("items-error-output", "F")
        .await
        .unwrap()
        .unwrap();
    let ids = |port: usize| -> Vec<Value> {
        outputs[port]
            .iter()
            .map(|item| item.json["id"].clone())
            .collect()
    };
    assert_eq!(ids(0), [json!(0), json!(2), json!(3)]);
    assert_eq!(ids(1), [json!(1)]);
}

#[tokio::test]
async fn under_stop_an_item_failing_for_good_fails_the_node_without_rerunning_the_others() {
    let response = engine()
        .handle(
            execute("items-stop", flaky_workflow("stop"), &flaky_input()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Failed);
    let error = response.error.unwrap();
    assert!(
        error.contains("input item 1") && error.contains("gave up after 3 attempts"),
        "{error}"
    );
    let calls = calls_of("items-stop");
    assert_eq!(calls[0].1, [1]);
    assert_eq!(calls[1].1, [1, 2, 3]);
    assert_eq!(calls[3].1, [1]);
}

#[tokio::test]
async fn items_waiting_for_a_retry_beyond_the_budget_are_the_only_ones_run_again() {
    let engine = engine().with_options(hetumind::engine::EngineOptions {
        safety_margin: Duration::from_millis(100),
        ..Default::default()
    });
    // Two attempts a minute apart: the retry cannot be slept within a one-second budget.
    let mut workflow = flaky_workflow("continue");
    workflow["nodes"][0]["retry"] =
        json!({ "max_attempts": 2, "initial_interval_ms": 60_000, "jitter": "none" });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    let response = engine
        .handle(
            execute("items-parked", workflow, &flaky_input()),
            Some(deadline),
        )
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Waiting);
    let state = engine.execution_state("items-parked").await.unwrap();
    assert!(state.progress.contains("F"), "{state:?}");
    // Woken early by name (as an operator would), the next invocation runs items 1 and 2 only:
    // 0 and 3 keep the outputs of their first call.
    let response = engine
        .handle(
            Request::ResumeExecution(hetumind::model::ResumeExecution {
                execution_id: "items-parked".to_owned(),
                node_name: Some("F".to_owned()),
                input_data: None,
                task_token: None,
                metadata: serde_json::Map::new(),
            }),
            None,
        )
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Success);
    let out = jsons(&response);
    assert_eq!(out.len(), 4, "{out:?}");
    assert_item_outputs(&out, "gave up after 2 attempts");
    let calls = calls_of("items-parked");
    assert_eq!(calls[1].1, [1, 2], "item 1 ran both attempts");
    assert_retried_alone(&calls);
    let state = engine.execution_state("items-parked").await.unwrap();
    assert!(state.progress.is_empty(), "{state:?}");
}

/// `count` start nodes blocking their threads `ms` each, logging to `log`.
fn blocking_workflow(count: usize, ms: u64, log: &Path, extra: &Value) -> Value {
    let nodes: Vec<Value> = (0..count)
        .map(|index| {
            let mut node = json!({ "name": format!("B{index}"), "kind": "test.block",
                                   "parameters": { "ms": ms, "log": log } });
            if let (Some(node), Some(extra)) = (node.as_object_mut(), extra.as_object()) {
                node.extend(extra.clone());
            }
            node
        })
        .collect();
    json!({ "id": "blocking", "settings": { "max_concurrency": count }, "nodes": nodes })
}

/// The `(node, what, microseconds)` lines of a `test.block` log.
fn stamps(log: &Path) -> Vec<(String, String, u128)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let mut parts = line.split(' ');
            (
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().to_owned(),
                parts.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn blocking_nodes_under_max_concurrency_run_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("block.log");
    let response = engine()
        .handle(
            execute(
                "blocking-4",
                blocking_workflow(4, 400, &log, &json!({})),
                &json!([1]),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Success);
    let stamps = stamps(&log);
    let last_start = stamps.iter().filter(|s| s.1 == "start").map(|s| s.2).max();
    let first_end = stamps.iter().filter(|s| s.1 == "end").map(|s| s.2).min();
    assert_eq!(stamps.len(), 8, "{stamps:?}");
    assert!(
        last_start < first_end,
        "every node started before any ended: {stamps:?}"
    );
}

#[tokio::test]
async fn a_blocking_node_is_held_to_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("block.log");
    let workflow = blocking_workflow(
        1,
        3_000,
        &log,
        &json!({ "timeout_ms": 200, "retry": { "max_attempts": 1 } }),
    );
    let started = Instant::now();
    let response = engine()
        .handle(execute("blocking-timeout", workflow, &json!([1])), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Failed);
    assert!(
        response
            .error
            .as_deref()
            .unwrap()
            .contains("timed out after 200 ms"),
        "{response:?}"
    );
    // The engine answers when the timeout strikes, not when the node's thread comes back.
    assert!(started.elapsed() < Duration::from_millis(2_500));
}

#[test]
fn a_blocking_node_keeps_its_lease_and_a_racing_resume_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("block.log");
    let workflow_file = dir.path().join("workflow.json");
    std::fs::write(
        &workflow_file,
        blocking_workflow(1, 2_500, &log, &json!({})).to_string(),
    )
    .unwrap();
    let state = format!("file://{}", dir.path().join("state").display());
    let command = |args: &[&str]| {
        let mut command = Command::new(RUNNER);
        command
            .args(args)
            .args(["--state", &state, "--json"])
            .env("HETUMIND_LEASE_MS", "500")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    };
    let first = command(&[
        "run",
        workflow_file.to_str().unwrap(),
        "--execution-id",
        "L1",
    ])
    .spawn()
    .unwrap();
    // Well past the lease: only its renewal keeps the execution held.
    std::thread::sleep(Duration::from_millis(1_500));
    let racing = command(&["resume", "L1"]).output().unwrap();
    let first = first.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&racing.stderr);
    assert!(
        !racing.status.success() && stderr.contains("is being advanced by invocation"),
        "the racing resume must conflict: {stderr}"
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let starts = stamps(&log).into_iter().filter(|s| s.1 == "start").count();
    assert_eq!(starts, 1, "the node ran once");
}
