//! Error workflows (`settings.error_workflow`): started once when an execution fails, with the
//! failure as input; never by an execution that is itself an error workflow's; a start that
//! cannot be made is reported and tried again on a resume; through `run` on the command line.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hetumind::Registry;
use hetumind::engine::{Drive, Engine, Plan, WorkflowError};
use hetumind::model::{ExecuteWorkflow, ExecutionStatus, NextAction, Request, Response, Workflow};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use hetumind::testing::WorkflowTest;
use serde_json::{Value, json};

/// Fails for good, naming its item.
#[node(kind = "ew.fail")]
async fn fail(Item(item): Item<Value>) -> Result<Value, NodeError> {
    Err(NodeError::terminal(format!("cannot take {item}")))
}

/// Passes each item on.
#[node(kind = "ew.pass")]
async fn pass(Item(item): Item<Value>) -> Result<Value, NodeError> {
    Ok(item)
}

/// `Start` -> `Boom` (fails), naming `error_workflow` in its settings.
fn failing(error_workflow: &str) -> Value {
    json!({
        "id": "import",
        "name": "Import",
        "settings": { "error_workflow": error_workflow },
        "nodes": [
            { "name": "Start", "kind": "ew.pass" },
            { "name": "Boom", "kind": "ew.fail" }
        ],
        "connections": { "Start": { "main": [[{ "node": "Boom" }]] } }
    })
}

/// An error workflow that passes the failure on.
fn alert() -> Value {
    json!({ "id": "alert", "name": "Alert", "nodes": [{ "name": "Report", "kind": "ew.pass" }] })
}

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

fn start(workflow: Value, execution_id: &str) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(self::workflow(workflow))),
        execution_id: Some(execution_id.to_owned()),
        input_data: Some(vec![json!({ "file": "orders.csv" }).into()]),
        trigger: None,
        metadata: Default::default(),
    })
}

async fn engine_with(stored: &[Value]) -> Engine {
    let engine = Engine::new(Registry::global().unwrap(), Arc::new(MemStore::new()));
    for value in stored {
        engine.put_workflow(&workflow(value.clone())).await.unwrap();
    }
    engine
}

fn error_execution(response: &Response) -> Option<&str> {
    response.error_workflow.as_ref()?.execution_id.as_deref()
}

#[tokio::test]
async fn a_failed_execution_starts_its_error_workflow_with_the_failure() {
    let run = WorkflowTest::new(failing("alert"))
        .with_workflow(alert())
        .input([json!({ "file": "orders.csv" })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    let error = run.error().unwrap().to_owned();
    let alerted = run.error_workflow().expect("the error workflow ran");
    assert_eq!(alerted.execution_id, "test-execution.error");
    assert_eq!(alerted.next_action, NextAction::Complete);
    let mut item = alerted.output_data.as_ref().unwrap()[0].json.clone();
    let fields = item.as_object_mut().unwrap();
    let started_at = fields.remove("started_at").unwrap();
    let failed_at = fields.remove("failed_at").unwrap();
    assert!(started_at.as_str().unwrap() <= failed_at.as_str().unwrap());
    assert_eq!(
        item,
        json!({
            "execution_id": "test-execution",
            "workflow": { "id": "import", "name": "Import" },
            "failed_node": { "name": "Boom", "attempt": 1 },
            "error": error,
        })
    );
    assert!(error.contains("cannot take"), "{error}");
}

#[tokio::test]
async fn the_error_workflow_starts_once_however_often_the_failure_is_answered() {
    let engine = engine_with(&[alert()]).await;
    let failed = engine
        .handle(start(failing("alert"), "x"), None)
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(error_execution(&failed), Some("x.error"));
    // Nothing runs it yet: it waits for its driver.
    let alert_state = engine.execution_state("x.error").await.unwrap();
    assert_eq!(alert_state.status, ExecutionStatus::Running);
    assert_eq!(alert_state.error_of.as_deref(), Some("x"));
    let drive = Drive::sleeping_up_to(std::time::Duration::ZERO);
    let alerted = engine
        .drive(Request::resume("x.error"), &drive)
        .await
        .unwrap();
    assert_eq!(alerted.response.next_action, NextAction::Complete);
    // Asked again, the failed execution names the same execution, which stays done.
    let again = engine.handle(Request::resume("x"), None).await.unwrap();
    assert_eq!(again.status, ExecutionStatus::Failed);
    assert_eq!(again.error_workflow, failed.error_workflow);
    let alert_state = engine.execution_state("x.error").await.unwrap();
    assert_eq!(alert_state.status, ExecutionStatus::Success);
}

#[tokio::test]
async fn an_error_workflow_that_fails_starts_none() {
    // `import` is its own error workflow: its error execution fails too, and stops there.
    let engine = engine_with(&[failing("import")]).await;
    let drive = Drive::sleeping_up_to(std::time::Duration::ZERO);
    let driven = engine
        .drive(start(failing("import"), "y"), &drive)
        .await
        .unwrap();
    assert_eq!(driven.response.status, ExecutionStatus::Failed);
    let error_run = driven.error_run.expect("the error workflow ran");
    assert_eq!(error_run.response.execution_id, "y.error");
    assert_eq!(error_run.response.status, ExecutionStatus::Failed);
    assert_eq!(error_run.response.error_workflow, None);
    assert!(error_run.error_run.is_none());
    assert!(matches!(
        engine.execution_state("y.error.error").await,
        Err(hetumind::engine::EngineError::ExecutionNotFound(_))
    ));
}

#[tokio::test]
async fn an_error_workflow_that_cannot_start_is_reported_and_started_on_a_resume() {
    let engine = engine_with(&[]).await;
    let failed = engine
        .handle(start(failing("alert"), "z"), None)
        .await
        .unwrap();
    assert_eq!(failed.status, ExecutionStatus::Failed);
    let started = failed.error_workflow.unwrap();
    assert_eq!(started.workflow_id, "alert");
    assert_eq!(started.execution_id, None);
    assert_eq!(started.error.as_deref(), Some("workflow `alert` not found"));
    // Once the workflow is stored, asking the failed execution again starts it.
    engine.put_workflow(&workflow(alert())).await.unwrap();
    let again = engine.handle(Request::resume("z"), None).await.unwrap();
    assert_eq!(error_execution(&again), Some("z.error"));
    assert_eq!(
        engine.execution_state("z.error").await.unwrap().status,
        ExecutionStatus::Running
    );
}

#[tokio::test]
async fn a_successful_execution_starts_no_error_workflow() {
    let mut value = failing("alert");
    value["nodes"][1]["kind"] = json!("ew.pass");
    let run = WorkflowTest::new(value)
        .with_workflow(alert())
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert!(run.error_workflow().is_none());
    assert_eq!(run.response().error_workflow, None);
}

#[test]
fn validation_checks_the_error_workflow_id() {
    let problems = |id: &str| match Plan::new(&workflow(failing(id)), Registry::global().unwrap()) {
        Ok(_) => Vec::new(),
        Err(WorkflowError { problems }) => problems
            .into_iter()
            .map(|problem| (problem.path, problem.message))
            .collect(),
    };
    assert_eq!(problems("alert"), []);
    assert_eq!(
        problems(""),
        [(
            "settings.error_workflow".to_owned(),
            "a workflow id cannot be empty".to_owned()
        )]
    );
    assert_eq!(problems(&"a".repeat(600))[0].0, "settings.error_workflow");
}
