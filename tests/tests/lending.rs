//! A node that consumes its items (it takes `Items<T>` or `Item<T>` and no `Ctx`) is handed a
//! large input instead of a copy of it. Whenever it must see that input again in the same
//! invocation (a retry slept in-process, a retry of some items only, a wait slept in-process),
//! it sees it exactly as it was.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hetumind::engine::Engine;
use hetumind::model::{ExecuteWorkflow, ExecutionStatus, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

// `test.echo`.
use hetumind_tests::output_jsons as output;

/// More items than the engine copies rather than lends.
const ITEMS: usize = 1_000;

#[derive(Debug, Deserialize, JsonSchema)]
struct Flaky {
    /// Names this test's calls.
    key: String,
    /// How many calls fail (retryably) before one succeeds.
    fails: usize,
}

/// What each call received, by key.
static SEEN: Mutex<Vec<(String, Vec<Value>)>> = Mutex::new(Vec::new());

fn calls(key: &str) -> Vec<Vec<Value>> {
    let seen = SEEN.lock().unwrap();
    seen.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, values)| values.clone())
        .collect()
}

/// Records a call of `p.key` on `values`: the values back, or `error` for the first
/// `p.fails` calls.
fn call(p: Flaky, values: Vec<Value>, error: NodeError) -> Result<Vec<Value>, NodeError> {
    let mut seen = SEEN.lock().unwrap();
    let before = seen.iter().filter(|(key, _)| *key == p.key).count();
    seen.push((p.key, values.clone()));
    if before < p.fails {
        Err(error)
    } else {
        Ok(values)
    }
}

/// Takes all its items, fails `fails` times, then passes them on.
#[node(kind = "lending.flaky_all")]
async fn flaky_all(
    Params(p): Params<Flaky>,
    Items(values): Items<Value>,
) -> Result<Vec<Value>, NodeError> {
    call(p, values, NodeError::retryable("not yet"))
}

/// Takes all its items and, `fails` times, parks for 50 ms (a wait the engine sleeps
/// in-process, running the node again on the input it was given); then passes them on.
#[node(kind = "lending.wait_once")]
async fn wait_once(
    Params(p): Params<Flaky>,
    Items(values): Items<Value>,
) -> Result<Vec<Value>, NodeError> {
    let until = chrono::Utc::now() + chrono::TimeDelta::milliseconds(50);
    call(p, values, NodeError::wait_until(until))
}

/// Counts of the calls of `lending.flaky_each`, by key and item.
static EACH: Mutex<Option<HashMap<(String, Value), usize>>> = Mutex::new(None);

/// Fails `fails` times for each item holding `"flaky": true`, then passes the item on.
#[node(kind = "lending.flaky_each")]
async fn flaky_each(
    Params(p): Params<Flaky>,
    Item(value): Item<Value>,
) -> Result<Value, NodeError> {
    let before = {
        let mut each = EACH.lock().unwrap();
        let count = each
            .get_or_insert_with(HashMap::new)
            .entry((p.key, value.clone()))
            .or_default();
        *count += 1;
        *count - 1
    };
    if value["flaky"] == true && before < p.fails {
        return Err(NodeError::retryable("not yet"));
    }
    Ok(value)
}

/// Items of several shapes, every tenth one flaky.
fn input() -> Vec<Value> {
    (0..ITEMS)
        .map(|i| {
            json!({
                "id": i,
                "name": format!("customer {i} \u{e9}\"\n"),
                "flaky": i % 10 == 3,
                "score": i as f64 / 7.0,
                "tags": ["a", { "deep": [[i]] }],
                "none": null,
            })
        })
        .collect()
}

/// `Start` (an echo, so that `Node` gets an output delivered to it alone) then `Node`.
fn workflow(kind: &str, key: &str, fails: usize, retry: &Value) -> Workflow {
    serde_json::from_value(json!({
        "id": key,
        "nodes": [
            { "name": "Start", "kind": "test.echo" },
            { "name": "Node", "kind": kind, "retry": retry,
              "parameters": { "key": key, "fails": fails } }
        ],
        "connections": { "Start": { "main": [[{ "node": "Node" }]] } }
    }))
    .unwrap()
}

fn request(id: &str, workflow: Workflow) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some(id.to_owned()),
        input_data: Some(input().into_iter().map(Into::into).collect()),
        trigger: None,
        metadata: serde_json::Map::new(),
    })
}

fn engine() -> Engine {
    Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    )
}

/// Runs `kind` as `Node` on the input, under `retry`, failing (or waiting) `fails` times;
/// checks that it ran `fails + 1` times, on the whole input each time, and passed it on.
async fn runs_on_its_whole_input_every_time(kind: &str, key: &str, fails: usize, retry: &Value) {
    let response = engine()
        .handle(request(key, workflow(kind, key, fails, retry)), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Success);
    let calls = calls(key);
    assert_eq!(calls.len(), fails + 1);
    for call in &calls {
        assert_eq!(*call, input());
    }
    assert_eq!(output(&response), input());
}

#[tokio::test]
async fn a_node_retried_in_process_sees_its_whole_input_again() {
    let retry = json!({ "max_attempts": 3, "initial_interval_ms": 1, "jitter": "none" });
    runs_on_its_whole_input_every_time("lending.flaky_all", "in-process", 2, &retry).await;
}

#[tokio::test]
async fn items_retried_alone_see_their_input_again() {
    let retry = json!({ "max_attempts": 3, "initial_interval_ms": 1, "jitter": "none" });
    let workflow = workflow("lending.flaky_each", "each", 2, &retry);
    let response = engine()
        .handle(request("each", workflow), None)
        .await
        .unwrap();
    assert_eq!(response.status, ExecutionStatus::Success);
    // Every item came out as it went in, in order; the flaky ones ran three times.
    assert_eq!(output(&response), input());
    let each = EACH.lock().unwrap();
    for value in input() {
        let runs = each.as_ref().unwrap()[&("each".to_owned(), value.clone())];
        assert_eq!(runs, if value["flaky"] == true { 3 } else { 1 }, "{value}");
    }
}

#[tokio::test]
async fn a_node_that_waits_runs_again_on_its_whole_input() {
    let retry = json!({ "max_attempts": 1 });
    runs_on_its_whole_input_every_time("lending.wait_once", "wait", 1, &retry).await;
}
