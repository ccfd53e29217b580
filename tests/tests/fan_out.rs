//! Fan-out dispatch: nodes handed to `execute_node` workers (each in an invocation of its own),
//! item batches, per-node claims, and what the coordinating invocation adopts from them.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hetumind::engine::{Drive, Engine, EngineError};
use hetumind::model::{
    Batch, ExecuteNode, ExecuteWorkflow, ItemData, NextAction, Request, Response, Task, Workflow,
};
use hetumind::prelude::*;
use hetumind::store::{Condition, MemStore};
use hetumind::time::Clock;
use serde_json::{Value, json};

use hetumind_tests::output_jsons as values;

/// Doubles a number.
#[node(kind = "fan.double", nonblocking)]
async fn double(Item(n): Item<i64>) -> Result<i64, NodeError> {
    Ok(n * 2)
}

/// Adds all its numbers up.
#[node(kind = "fan.sum", nonblocking)]
async fn sum(Items(numbers): Items<i64>) -> Result<i64, NodeError> {
    Ok(numbers.iter().sum())
}

/// Fails for good on 3, doubles anything else.
#[node(kind = "fan.no_three", nonblocking)]
async fn no_three(Item(n): Item<i64>) -> Result<i64, NodeError> {
    if n == 3 {
        return Err(NodeError::terminal("three is not allowed"));
    }
    Ok(n * 2)
}

static SLOW_RUNS: AtomicU32 = AtomicU32::new(0);

/// Counts its runs, takes 300 ms, passes its item on.
#[node(kind = "fan.slow")]
async fn slow(Item(v): Item<Value>, ctx: Ctx) -> Result<Value, NodeError> {
    SLOW_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(json!({ "value": v, "key": ctx.idempotency_key() }))
}

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

fn engine() -> Engine {
    Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    )
}

fn start(workflow: Workflow, id: &str, input: &[Value]) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some(id.to_owned()),
        input_data: Some(input.iter().cloned().map(ItemData::from).collect()),
        trigger: None,
        metadata: Default::default(),
    })
}

fn task(id: &str, task: &Task) -> Request {
    Request::ExecuteNode(ExecuteNode {
        execution_id: id.to_owned(),
        node_name: task.node_name.clone(),
        batch: task.batch,
        spec: task.spec.clone(),
        input_data: None,
        metadata: Default::default(),
    })
}

fn tasks(response: &Response) -> Vec<Task> {
    match &response.next_action {
        NextAction::FanOut { tasks } => tasks.clone(),
        other => panic!("expected fan_out, got {other:?}"),
    }
}

/// Start -> three doublers (fanned out) -> a sum of all three, inline.
fn diamond(dispatch: &str) -> Workflow {
    workflow(json!({
        "id": "diamond",
        "settings": { "dispatch": dispatch },
        "nodes": [
            { "name": "Start", "kind": "fan.double", "dispatch": "inline" },
            { "name": "A", "kind": "fan.double" },
            { "name": "B", "kind": "fan.double" },
            { "name": "C", "kind": "fan.double" },
            { "name": "Sum", "kind": "fan.sum", "dispatch": "inline" }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "A" }, { "node": "B" }, { "node": "C" }]] },
            "A": { "main": [[{ "node": "Sum" }]] },
            "B": { "main": [[{ "node": "Sum" }]] },
            "C": { "main": [[{ "node": "Sum" }]] }
        }
    }))
}

#[tokio::test]
async fn a_coordinator_hands_fan_out_nodes_to_workers_and_adopts_their_outputs() {
    let engine = engine();
    let first = engine
        .handle(start(diamond("fan_out"), "d-1", &[json!(1)]), None)
        .await
        .unwrap();
    let handed = tasks(&first);
    let names: Vec<&str> = handed.iter().map(|task| task.node_name.as_str()).collect();
    assert_eq!(names, ["A", "B", "C"]);
    assert!(handed.iter().all(|task| task.batch.is_none()));
    assert_eq!(first.status, hetumind::model::ExecutionStatus::Running);
    // The workers run in parallel, each reading only its task.
    let runs: Vec<_> = handed
        .iter()
        .map(|t| {
            let (engine, request) = (engine.clone(), task("d-1", t));
            tokio::spawn(async move { engine.handle(request, None).await })
        })
        .collect();
    for run in runs {
        let answer = run.await.unwrap().unwrap();
        assert_eq!(
            answer.next_action,
            NextAction::Continue {
                next_nodes: Vec::new()
            }
        );
    }
    let last = engine.handle(Request::resume("d-1"), None).await.unwrap();
    assert_eq!(last.next_action, NextAction::Complete);
    assert_eq!(values(&last), [json!(12)]);
}

#[tokio::test]
async fn a_fan_out_run_gives_what_an_inline_run_gives() {
    let drive = Drive::sleeping_up_to(Duration::from_secs(5));
    let inline = engine()
        .drive(start(diamond("inline"), "i", &[json!(5)]), &drive)
        .await
        .unwrap();
    let engine = engine();
    let fanned = engine
        .drive(start(diamond("fan_out"), "f", &[json!(5)]), &drive)
        .await
        .unwrap();
    assert_eq!(inline.invocations, 1);
    assert_eq!(fanned.invocations, 2, "one round of tasks, then the resume");
    assert_eq!(values(&fanned.response), values(&inline.response));
    for node in ["A", "B", "C"] {
        assert_eq!(
            engine.node_output("f", node).await.unwrap().unwrap()[0][0].json,
            json!(20)
        );
    }
}

#[tokio::test]
async fn batches_split_a_node_s_input_and_join_back_in_order() {
    let batched = |size: Option<u32>| {
        let mut node = json!({ "name": "D", "kind": "fan.double", "dispatch": "fan_out" });
        if let Some(size) = size {
            node["batch_size"] = json!(size);
        }
        workflow(json!({ "id": "b", "nodes": [node] }))
    };
    let input: Vec<Value> = (1..=10).map(|n| json!(n)).collect();
    let engine = engine();
    let first = engine
        .handle(start(batched(Some(3)), "b-1", &input), None)
        .await
        .unwrap();
    let handed = tasks(&first);
    let batches: Vec<Option<Batch>> = handed.iter().map(|task| task.batch).collect();
    assert_eq!(
        batches,
        (0..4)
            .map(|index| Some(Batch { index, count: 4 }))
            .collect::<Vec<_>>()
    );
    // Out of order, and one of them twice: the second finds it done and runs nothing.
    for index in [3, 1, 0, 2, 1] {
        engine
            .handle(task("b-1", &handed[index]), None)
            .await
            .unwrap();
    }
    let last = engine.handle(Request::resume("b-1"), None).await.unwrap();
    assert_eq!(last.next_action, NextAction::Complete);
    let expected: Vec<Value> = (1..=10).map(|n| json!(n * 2)).collect();
    assert_eq!(values(&last), expected);
    // Byte for byte what an inline run stores.
    let other = self::engine();
    let drive = Drive::sleeping_up_to(Duration::ZERO);
    other
        .drive(start(batched(None), "b-1", &input), &drive)
        .await
        .unwrap();
    let key = "executions/b-1/nodes/D/1.json";
    assert_eq!(
        engine.store().get(key).await.unwrap().unwrap().bytes,
        other.store().get(key).await.unwrap().unwrap().bytes
    );
}

#[tokio::test]
async fn a_batch_that_fails_fails_the_execution_naming_the_node() {
    let wf = workflow(
        json!({ "id": "f", "settings": { "dispatch": "fan_out" }, "nodes": [
        { "name": "N", "kind": "fan.no_three", "batch_size": 2 }
    ] }),
    );
    let input: Vec<Value> = (1..=4).map(|n| json!(n)).collect();
    let driven = engine()
        .drive(
            start(wf, "f-1", &input),
            &Drive::sleeping_up_to(Duration::ZERO),
        )
        .await
        .unwrap();
    let NextAction::Failed { error } = &driven.response.next_action else {
        panic!("{:?}", driven.response)
    };
    assert!(error.contains("node `N` failed"), "{error}");
    assert!(error.contains("three is not allowed"), "{error}");
}

#[tokio::test]
async fn a_second_worker_on_a_held_node_gets_a_state_conflict_and_changes_nothing() {
    let before = SLOW_RUNS.load(Ordering::SeqCst);
    let wf = workflow(json!({ "id": "s", "nodes": [
        { "name": "S", "kind": "fan.slow", "dispatch": "fan_out" }
    ] }));
    let engine = engine();
    let first = engine
        .handle(start(wf, "s-1", &[json!(1)]), None)
        .await
        .unwrap();
    let handed = tasks(&first);
    let (one, two) = tokio::join!(engine.handle(task("s-1", &handed[0]), None), async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        engine.handle(task("s-1", &handed[0]), None).await
    });
    assert!(one.is_ok(), "{one:?}");
    let Err(EngineError::StateConflict(message)) = two else {
        panic!("{two:?}")
    };
    assert!(
        message.contains("node `S` is being run by invocation"),
        "{message}"
    );
    assert_eq!(SLOW_RUNS.load(Ordering::SeqCst) - before, 1);
    // Sent again once done, the task is answered as done and not run again.
    engine.handle(task("s-1", &handed[0]), None).await.unwrap();
    assert_eq!(SLOW_RUNS.load(Ordering::SeqCst) - before, 1);
    let last = engine.handle(Request::resume("s-1"), None).await.unwrap();
    assert_eq!(last.next_action, NextAction::Complete);
}

#[tokio::test]
async fn a_node_whose_worker_died_is_taken_over_with_the_same_attempt_and_key() {
    let wf = workflow(json!({ "id": "t", "nodes": [
        { "name": "S", "kind": "fan.slow", "dispatch": "fan_out" }
    ] }));
    let engine = engine();
    let first = engine
        .handle(start(wf, "t-1", &[json!(1)]), None)
        .await
        .unwrap();
    let handed = tasks(&first);
    // A worker claimed the task at attempt 1, then died: its lease ran out long ago.
    let dead = json!({ "owner": "dead", "attempt": 1, "until": "2020-01-01T00:00:00Z" });
    engine
        .store()
        .put(
            "executions/t-1/claims/S/all.json",
            serde_json::to_vec(&dead).unwrap(),
            Condition::Create,
        )
        .await
        .unwrap();
    // While it was held, the coordinator did not hand the node out again.
    engine.handle(task("t-1", &handed[0]), None).await.unwrap();
    let last = engine.handle(Request::resume("t-1"), None).await.unwrap();
    assert_eq!(last.next_action, NextAction::Complete);
    let output = &values(&last)[0];
    assert_eq!(output["value"], json!(1));
    assert_eq!(output["key"], json!("t-1:S:1"), "the dead worker's attempt");
}

#[tokio::test]
async fn a_coordinator_waits_for_a_live_worker_instead_of_running_its_node() {
    let wf = workflow(json!({ "id": "w", "nodes": [
        { "name": "S", "kind": "fan.slow", "dispatch": "fan_out" }
    ] }));
    let engine = engine();
    engine
        .handle(start(wf, "w-1", &[json!(1)]), None)
        .await
        .unwrap();
    let until = hetumind::time::SystemClock.now() + chrono::TimeDelta::minutes(5);
    let live = json!({ "owner": "alive", "attempt": 1, "until": until });
    engine
        .store()
        .put(
            "executions/w-1/claims/S/all.json",
            serde_json::to_vec(&live).unwrap(),
            Condition::Create,
        )
        .await
        .unwrap();
    let answer = engine.handle(Request::resume("w-1"), None).await.unwrap();
    let NextAction::Wait { resume_at } = answer.next_action else {
        panic!("{answer:?}")
    };
    assert_eq!(resume_at, until, "when the worker's lease ends");
}

/// Start -> a fan-out doubler per name.
fn wide(names: &[String]) -> Workflow {
    let mut nodes = vec![json!({ "name": "Start", "kind": "fan.double" })];
    nodes.extend(
        names
            .iter()
            .map(|name| json!({ "name": name, "kind": "fan.double", "dispatch": "fan_out" })),
    );
    let targets: Vec<Value> = names.iter().map(|name| json!({ "node": name })).collect();
    workflow(json!({
        "id": "wide", "nodes": nodes, "connections": { "Start": { "main": [targets] } }
    }))
}

#[tokio::test]
async fn a_long_list_of_tasks_comes_a_part_at_a_time() {
    // 2,000 nodes with long names: far more than one answer holds.
    let names: Vec<String> = (0..2000).map(|i| format!("{i:0>200}")).collect();
    let wf = wide(&names);
    let engine = engine();
    let mut answer = engine
        .handle(start(wf, "l-1", &[json!(1)]), None)
        .await
        .unwrap();
    let mut rounds = 0;
    let mut handed = 0;
    while let NextAction::FanOut { tasks } = &answer.next_action {
        let bytes = serde_json::to_vec(&answer).unwrap().len();
        // 128 KiB of tasks at most, and the rest of the answer.
        assert!(bytes < 130 * 1024, "an answer of {bytes} bytes");
        handed += tasks.len();
        rounds += 1;
        for t in tasks {
            engine.handle(task("l-1", t), None).await.unwrap();
        }
        answer = engine.handle(Request::resume("l-1"), None).await.unwrap();
    }
    assert_eq!(answer.next_action, NextAction::Complete);
    assert_eq!(handed, 2000, "every node handed out once");
    assert!(rounds > 1, "{rounds} round(s)");
}

#[test]
fn batches_are_for_fan_out_each_item_nodes_only() {
    let problems = |node: Value| {
        let wf = workflow(json!({ "id": "v", "nodes": [node] }));
        hetumind::engine::Plan::new(&wf, hetumind::Registry::global().unwrap())
            .unwrap_err()
            .to_string()
    };
    let inline = problems(json!({ "name": "A", "kind": "fan.double", "batch_size": 5 }));
    assert!(
        inline.contains("nodes[0].batch_size: applies only to a node under `fan_out` dispatch"),
        "{inline}"
    );
    let all =
        problems(json!({ "name": "A", "kind": "fan.sum", "dispatch": "fan_out", "batch_size": 5 }));
    assert!(
        all.contains("`fan.sum` takes all its items in one call and cannot be split"),
        "{all}"
    );
    let zero = problems(
        json!({ "name": "A", "kind": "fan.double", "dispatch": "fan_out", "batch_size": 0 }),
    );
    assert!(
        zero.contains("nodes[0].batch_size: must be at least 1"),
        "{zero}"
    );
}

#[tokio::test]
async fn an_unknown_batch_is_an_invalid_request() {
    let wf = workflow(json!({ "id": "u", "nodes": [
        { "name": "D", "kind": "fan.double", "dispatch": "fan_out" }
    ] }));
    let engine = engine();
    engine
        .handle(start(wf, "u-1", &[json!(1)]), None)
        .await
        .unwrap();
    let error = engine
        .handle(
            task(
                "u-1",
                &Task {
                    node_name: "D".to_owned(),
                    batch: Some(Batch { index: 7, count: 9 }),
                    spec: None,
                },
            ),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.InvalidRequest");
    assert!(error.to_string().contains("batch 7 of node `D`"), "{error}");
}

#[tokio::test]
async fn workflow_tests_and_drives_run_fan_out_tasks_themselves() {
    let run =
        hetumind::testing::WorkflowTest::new(serde_json::to_value(diamond("fan_out")).unwrap())
            .input([json!(2)])
            .run()
            .await
            .unwrap();
    assert_eq!(run.output(), [json!(24)]);
}

static PAUSED_RUNS: AtomicU32 = AtomicU32::new(0);

/// Waits an hour after it first started (durably), then passes its item on with its attempt.
#[node(kind = "fan.pause", nonblocking)]
async fn pause(Item(v): Item<Value>, ctx: &Ctx) -> Result<Value, NodeError> {
    PAUSED_RUNS.fetch_add(1, Ordering::SeqCst);
    ctx.wait_for(Duration::from_secs(3600))?;
    Ok(json!({ "value": v, "attempt": ctx.attempt() }))
}

#[tokio::test]
async fn a_fan_out_node_that_waits_is_handed_out_again_when_its_time_comes() {
    let before = PAUSED_RUNS.load(Ordering::SeqCst);
    let run = hetumind::testing::WorkflowTest::new(json!({
        "id": "p", "settings": { "dispatch": "fan_out" },
        "nodes": [{ "name": "P", "kind": "fan.pause" }]
    }))
    .input([json!(7)])
    .run()
    .await
    .unwrap();
    assert_eq!(run.output(), [json!({ "value": 7, "attempt": 1 })]);
    assert_eq!(run.waits().len(), 1, "one wait of an hour, slept through");
    assert_eq!(
        PAUSED_RUNS.load(Ordering::SeqCst) - before,
        2,
        "before and after the wait"
    );
}

#[tokio::test]
async fn a_small_task_carries_its_specification_and_a_large_one_is_stored() {
    let wf = workflow(json!({
        "id": "sizes", "settings": { "dispatch": "fan_out" },
        "nodes": [{ "name": "D", "kind": "fan.double" }]
    }));
    let engine = engine();
    let store = engine.store();
    // One item: a small specification, carried inline, so nothing is stored for the worker.
    let answer = engine
        .handle(start(wf.clone(), "s-1", &[json!(1)]), None)
        .await
        .unwrap();
    let [small] = &tasks(&answer)[..] else {
        panic!("{answer:?}")
    };
    let spec = small.spec.as_ref().expect("an inline specification");
    assert_eq!(spec["kind"], "fan.double");
    assert!(
        store
            .list("executions/s-1/tasks/")
            .await
            .unwrap()
            .is_empty()
    );
    let done = engine.handle(task("s-1", small), None).await.unwrap();
    assert!(done.success, "{done:?}");
    let answer = engine.handle(Request::resume("s-1"), None).await.unwrap();
    assert_eq!(values(&answer), [json!(2)]);

    // 2,000 items: a specification too large to carry, stored; the task's `spec` is null, and
    // still written (a state machine passes it on by its path).
    let many: Vec<Value> = (0..2000).map(|n| json!(n)).collect();
    let answer = engine.handle(start(wf, "s-2", &many), None).await.unwrap();
    let [large] = &tasks(&answer)[..] else {
        panic!("{answer:?}")
    };
    assert_eq!(large.spec, None);
    let written = serde_json::to_value(large).unwrap();
    assert_eq!(written["spec"], Value::Null);
    assert!(written.as_object().unwrap().contains_key("spec"));
    assert_eq!(
        store.list("executions/s-2/tasks/").await.unwrap(),
        ["executions/s-2/tasks/D/all.json"]
    );
    engine.handle(task("s-2", large), None).await.unwrap();
    let answer = engine.handle(Request::resume("s-2"), None).await.unwrap();
    assert_eq!(answer.output_data.unwrap().len(), 2000);
}

#[tokio::test]
async fn a_malformed_specification_is_an_invalid_request_naming_the_field() {
    let wf = workflow(json!({
        "id": "bad-spec", "settings": { "dispatch": "fan_out" },
        "nodes": [{ "name": "D", "kind": "fan.double" }]
    }));
    let engine = engine();
    let answer = engine
        .handle(start(wf, "b-1", &[json!(1)]), None)
        .await
        .unwrap();
    let mut handed = tasks(&answer).remove(0);
    let spec = handed.spec.as_mut().unwrap();
    spec["attempt"] = json!("first");
    let error = engine.handle(task("b-1", &handed), None).await.unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.InvalidRequest");
    assert!(error.to_string().contains("spec.attempt"), "{error}");
    assert!(
        engine
            .store()
            .list("executions/b-1/claims/")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_node_handed_out_again_keeps_the_time_it_first_started() {
    let wf = workflow(json!({
        "id": "p", "settings": { "dispatch": "fan_out" },
        "nodes": [{ "name": "P", "kind": "fan.pause" }]
    }));
    let engine = engine();
    let answer = engine
        .handle(start(wf, "t-1", &[json!(1)]), None)
        .await
        .unwrap();
    let handed = tasks(&answer).remove(0);
    let started = handed.spec.as_ref().unwrap()["started_at"].clone();
    let parked = engine.handle(task("t-1", &handed), None).await.unwrap();
    assert!(
        matches!(parked.next_action, NextAction::Wait { .. }),
        "{parked:?}"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The coordinator parks the node as its worker did, from when it first started.
    let answer = engine.handle(Request::resume("t-1"), None).await.unwrap();
    assert!(
        matches!(answer.next_action, NextAction::Wait { .. }),
        "{answer:?}"
    );
    let state = engine
        .store()
        .get("executions/t-1/state.json")
        .await
        .unwrap()
        .unwrap();
    let state: Value = serde_json::from_slice(&state.bytes).unwrap();
    assert_eq!(state["nodes"]["P"]["status"], "waiting");
    assert_eq!(state["nodes"]["P"]["started_at"], started);
}

#[tokio::test]
async fn specifications_ride_in_the_room_the_tasks_leave_and_never_cost_a_task() {
    // 1,000 short tasks fit one answer, as they would without specifications; the room they
    // leave carries the first specifications, and the rest are stored.
    let names: Vec<String> = (0..1000).map(|i| format!("N{i:03}")).collect();
    let wf = wide(&names);
    let engine = engine();
    let answer = engine
        .handle(start(wf, "r-1", &[json!(1)]), None)
        .await
        .unwrap();
    let handed = tasks(&answer);
    assert_eq!(handed.len(), 1000);
    let bytes = serde_json::to_vec(&answer).unwrap().len();
    assert!(bytes < 130 * 1024, "an answer of {bytes} bytes");
    let carried = handed.iter().take_while(|task| task.spec.is_some()).count();
    assert!(carried > 100, "{carried} carried");
    assert!(handed[carried..].iter().all(|task| task.spec.is_none()));
    let stored = engine.store().list("executions/r-1/tasks/").await.unwrap();
    assert_eq!(stored.len(), 1000 - carried);
    for task in &handed {
        engine.handle(self::task("r-1", task), None).await.unwrap();
    }
    let answer = engine.handle(Request::resume("r-1"), None).await.unwrap();
    assert_eq!(answer.next_action, NextAction::Complete);
}
