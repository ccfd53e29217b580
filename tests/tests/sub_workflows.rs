//! Sub-workflows (`core.execute_workflow`, `Ctx::run_workflow`): a stored or inline workflow
//! run with the node's items, its end items as the node's output; waits and invocations
//! spanned durably; a failed child fails the node; one child per attempt however often the
//! attempt runs; a depth limit against a workflow that starts itself.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hetumind::Registry;
use hetumind::engine::{Engine, EngineError, Plan, WorkflowError};
use hetumind::model::{ExecuteWorkflow, ExecutionStatus, NextAction, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use hetumind::testing::WorkflowTest;
use hetumind_nodes as _;
use serde_json::{Value, json};

/// Doubles `n`.
#[node(kind = "sub.double")]
async fn double(Item(item): Item<Value>) -> Result<Value, NodeError> {
    let n = item["n"].as_i64().unwrap_or_default();
    Ok(json!({ "n": n * 2 }))
}

static COUNTED: AtomicU32 = AtomicU32::new(0);

/// Counts its runs, then waits a minute after it first started, then passes its items on.
#[node(kind = "sub.count_then_wait")]
async fn count_then_wait(Items(items): Items<Value>, ctx: Ctx) -> Result<Vec<Value>, NodeError> {
    if ctx.now() < ctx.started_at() + chrono::TimeDelta::seconds(1) {
        COUNTED.fetch_add(1, Ordering::SeqCst);
    }
    ctx.wait_for(Duration::from_secs(60))?;
    Ok(items)
}

/// Fails for good.
#[node(kind = "sub.fail")]
async fn fail(Item(_item): Item<Value>) -> Result<Value, NodeError> {
    Err(NodeError::terminal("no stock"))
}

/// A child of one node of `kind`.
fn child(id: &str, kind: &str) -> Value {
    json!({ "id": id, "nodes": [{ "name": "Work", "kind": kind }] })
}

/// `Start` -> `Sub` (`core.execute_workflow` with `parameters`) -> `After`.
fn parent(parameters: &Value) -> Value {
    json!({
        "id": "parent",
        "nodes": [
            { "name": "Start", "kind": "core.no_op" },
            { "name": "Sub", "kind": "core.execute_workflow", "parameters": parameters },
            { "name": "After", "kind": "core.no_op" }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "Sub" }]] },
            "Sub": { "main": [[{ "node": "After" }]] }
        }
    })
}

fn numbers() -> [Value; 2] {
    [json!({ "n": 1 }), json!({ "n": 20 })]
}

#[tokio::test]
async fn a_stored_or_inline_child_runs_with_the_nodes_items_and_gives_its_end_items() {
    let mut fanned = child("double", "sub.double");
    fanned["settings"] = json!({ "dispatch": "fan_out" });
    for (stored, parameters) in [
        (
            child("double", "sub.double"),
            json!({ "workflow_id": "double" }),
        ),
        (fanned, json!({ "workflow_id": "double" })),
        (
            json!({ "id": "unused", "nodes": [{ "name": "N", "kind": "core.no_op" }] }),
            json!({ "workflow": child("inline", "sub.double") }),
        ),
    ] {
        // The parent's node inline and in a worker of its own.
        for dispatch in ["inline", "fan_out"] {
            let mut workflow = parent(&parameters);
            workflow["settings"] = json!({ "dispatch": dispatch });
            let run = WorkflowTest::new(workflow)
                .with_workflow(stored.clone())
                .input(numbers())
                .run()
                .await
                .unwrap();
            assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
            assert_eq!(
                run.output(),
                [json!({ "n": 2 }), json!({ "n": 40 })],
                "{parameters} {dispatch}"
            );
        }
    }
}

#[tokio::test]
async fn a_child_that_waits_parks_the_node_and_runs_once_per_attempt() {
    let engine = Engine::new(Registry::global().unwrap(), Arc::new(MemStore::new()));
    engine
        .put_workflow(&workflow(child("slow", "sub.count_then_wait")))
        .await
        .unwrap();
    let start = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow(parent(
            &json!({ "workflow_id": "slow" }),
        )))),
        execution_id: Some("p".to_owned()),
        input_data: Some(numbers().into_iter().map(Into::into).collect()),
        trigger: None,
        metadata: Default::default(),
    });
    let before = COUNTED.load(Ordering::SeqCst);
    let first = engine.handle(start, None).await.unwrap();
    assert!(
        matches!(first.next_action, NextAction::Wait { .. }),
        "{first:?}"
    );
    // Asked again before the wait is over: the same child, still waiting, not a second one.
    for _ in 0..2 {
        let again = engine.handle(Request::resume("p"), None).await.unwrap();
        assert!(
            matches!(again.next_action, NextAction::Wait { .. }),
            "{again:?}"
        );
    }
    assert_eq!(COUNTED.load(Ordering::SeqCst) - before, 1);
    let child_state = engine.execution_state("p:Sub:1").await.unwrap();
    assert_eq!(child_state.status, ExecutionStatus::Waiting);
    assert_eq!(child_state.depth, 1);
    assert!(matches!(
        engine.execution_state("p:Sub:2").await,
        Err(EngineError::ExecutionNotFound(_))
    ));
    // Driven through the wait (the test clock jumps), the parent gets the child's items.
    let run = WorkflowTest::new(parent(&json!({ "workflow_id": "slow" })))
        .with_workflow(child("slow", "sub.count_then_wait"))
        .input(numbers())
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    assert_eq!(run.output(), numbers());
    assert!(!run.waits().is_empty());
}

#[tokio::test]
async fn a_failed_child_fails_the_node_with_its_error() {
    let run = WorkflowTest::new(parent(&json!({ "workflow": child("broken", "sub.fail") })))
        .input(numbers())
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert_eq!(
        run.error(),
        Some(
            "node `Sub` failed: sub-workflow execution `test-execution:Sub:1` failed: node `Work` failed: no stock"
        )
    );
}

#[tokio::test]
async fn a_workflow_that_starts_itself_stops_at_the_depth_limit() {
    // Inline and in workers, which learn the depth from their task.
    for dispatch in ["inline", "fan_out"] {
        let mut looping = parent(&json!({ "workflow_id": "parent" }));
        looping["settings"] = json!({ "dispatch": dispatch });
        let run = WorkflowTest::new(looping.clone())
            .with_workflow(looping)
            .run()
            .await
            .unwrap();
        assert_eq!(run.status(), ExecutionStatus::Failed);
        let error = run.error().unwrap();
        assert!(
            error.contains("would run 9 levels deep; the limit is 8 (`workflow_depth`)"),
            "{error}"
        );
    }
    let missing = WorkflowTest::new(parent(&json!({ "workflow_id": "nowhere" })))
        .run()
        .await
        .unwrap();
    assert!(
        missing
            .error()
            .unwrap()
            .contains("workflow `nowhere` not found"),
        "{:?}",
        missing.error()
    );
}

#[test]
fn validation_wants_one_workflow() {
    let problems = |parameters: Value| match Plan::new(
        &workflow(parent(&parameters)),
        Registry::global().unwrap(),
    ) {
        Ok(_) => Vec::new(),
        Err(WorkflowError { problems }) => problems
            .into_iter()
            .map(|problem| format!("{}: {}", problem.path, problem.message))
            .collect(),
    };
    assert!(problems(json!({ "workflow_id": "x" })).is_empty());
    for (parameters, expected) in [
        (json!({}), "give the workflow to run"),
        (
            json!({ "workflow_id": "x", "workflow": child("y", "core.no_op") }),
            "not both",
        ),
        (json!({ "workflow_id": "" }), "cannot be empty"),
    ] {
        let found = problems(parameters);
        assert!(
            found.len() == 1
                && found[0].starts_with("nodes[1].parameters")
                && found[0].contains(expected),
            "{found:?}"
        );
    }
}

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

/// Records the executions it is asked to drive.
#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl hetumind::engine::Launcher for Recorder {
    fn launch<'a>(
        &'a self,
        execution_id: &'a str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        self.0.lock().unwrap().push(execution_id.to_owned());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn a_child_started_without_waiting_runs_here_or_goes_to_the_launcher() {
    let start = |workflow_id: &str| json!({ "workflow_id": workflow_id, "mode": "start" });
    // Without a launcher, it runs in the invocation, and the node goes on with its id.
    let run = WorkflowTest::new(parent(&start("double")))
        .with_workflow(child("double", "sub.double"))
        .input(numbers())
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    assert_eq!(
        run.output(),
        [json!({ "execution_id": "test-execution:Sub:1", "status": "success" })]
    );
    assert_eq!(
        run.json("Sub", 0).await.unwrap()[0]["status"],
        json!("success")
    );
    // With one, it is created and handed over; the parent does not wait for it.
    let launcher = Arc::new(Recorder::default());
    let engine = Engine::new(Registry::global().unwrap(), Arc::new(MemStore::new()))
        .with_launcher(Arc::clone(&launcher) as Arc<dyn hetumind::engine::Launcher>);
    engine
        .put_workflow(&workflow(child("slow", "sub.count_then_wait")))
        .await
        .unwrap();
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow(parent(&start("slow"))))),
        execution_id: Some("q".to_owned()),
        input_data: None,
        trigger: None,
        metadata: Default::default(),
    });
    let response = engine.handle(request, None).await.unwrap();
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(
        response.output_data.unwrap()[0].json,
        json!({ "execution_id": "q:Sub:1", "status": "running" })
    );
    assert_eq!(*launcher.0.lock().unwrap(), ["q:Sub:1"]);
    let child_state = engine.execution_state("q:Sub:1").await.unwrap();
    assert_eq!(child_state.status, ExecutionStatus::Running);
    assert!(
        child_state.nodes.is_empty(),
        "created, not run: {child_state:?}"
    );
}
