//! The test binary as a real Lambda function process, driven through a Runtime API emulator on
//! loopback HTTP with real deadline headers: every request type, every trigger shape (from
//! event fixtures), a run that must suspend on its deadline and be continued, errors with their
//! stable types, metrics lines, and init errors.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use hetumind::engine::Engine;
use hetumind::model::Workflow;
use hetumind::store::FsStore;
use serde_json::{Value, json};

#[path = "support/runtime_api.rs"]
mod runtime_api;

use runtime_api::{Function, Outcome, RuntimeApi, answer as response};

hetumind::link_node_crates!();

const FUNCTION: &str = env!("CARGO_BIN_EXE_hetumind-test");

fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

/// Three nodes of 1 s each: more than a 2.5 s invocation can hold.
fn slow() -> Value {
    json!({ "id": "slow", "nodes": [
        { "name": "One", "kind": "test.sleep", "parameters": 1000 },
        { "name": "Two", "kind": "test.sleep", "parameters": 1000 },
        { "name": "Three", "kind": "test.sleep", "parameters": 1000 }
    ], "connections": {
        "One": { "main": [[{ "node": "Two" }]] },
        "Two": { "main": [[{ "node": "Three" }]] }
    } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_serves_every_request_type_and_trigger() {
    let dir = tempfile::tempdir().unwrap();
    let state = format!("file://{}", dir.path().display());
    let engine = Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(FsStore::new(dir.path())),
    );
    for stored in [
        json!({ "id": "echo", "nodes": [{ "name": "Echo", "kind": "test.echo" }] }),
        slow(),
    ] {
        engine.put_workflow(&workflow(stored)).await.unwrap();
    }
    let api = RuntimeApi::start().await;
    let triggers = json!({
        "schedule:nightly-digest": "echo",
        "event:com.example.shop:Order Placed": "echo",
        "sqs:orders": "echo"
    });
    let mut function = Function(
        api.function(FUNCTION)
            .env("HETUMIND_STATE", &state)
            .env("HETUMIND_TRIGGERS", triggers.to_string())
            .env("HETUMIND_CALLER_WORKFLOWS", "echo,slow")
            .env("HETUMIND_SAFETY_MARGIN_MS", "400")
            .spawn()
            .unwrap(),
    );
    let budget = Duration::from_secs(20);

    // execute_workflow, inline, completing within the invocation.
    let inline = json!({
        "request_type": "execute_workflow",
        "workflow": { "id": "inline", "nodes": [{ "name": "E", "kind": "test.echo" }] },
        "execution_id": "inline-1",
        "input_data": [{ "json": { "n": 1 } }],
        "metadata": { "caller": "test" }
    });
    let done = response(api.invoke(inline, budget).await);
    assert_eq!(done["next_action"], json!({ "type": "complete" }));
    assert_eq!(done["output_data"][0]["json"], json!({ "n": 1 }));
    assert_eq!(done["metadata"], json!({ "caller": "test" }));
    assert_eq!(done["state_key"], "executions/inline-1/state.json");

    // A run that must suspend on its deadline, then be continued.
    let start = json!({ "request_type": "execute_workflow", "workflow_id": "slow", "execution_id": "slow-1" });
    let first = response(api.invoke(start, Duration::from_millis(2500)).await);
    assert_eq!(first["status"], "running", "{first}");
    assert_eq!(first["next_action"]["type"], "continue", "{first}");
    let resume = json!({ "request_type": "resume_execution", "execution_id": "slow-1" });
    let mut last = response(api.invoke(resume.clone(), budget).await);
    while last["next_action"]["type"] == "continue" {
        last = response(api.invoke(resume.clone(), budget).await);
    }
    assert_eq!(last["next_action"], json!({ "type": "complete" }), "{last}");

    // execute_node, one node at a time, on an execution left with nodes to run.
    let start = json!({ "request_type": "execute_workflow", "workflow_id": "slow", "execution_id": "slow-2" });
    let first = response(api.invoke(start, Duration::from_millis(1500)).await);
    assert_eq!(first["next_action"]["type"], "continue", "{first}");
    let step = |node: &str| json!({ "request_type": "execute_node", "execution_id": "slow-2", "node_name": node });
    // Each worker runs its node and answers `continue`; a resume then adopts their outputs.
    let ready = first["next_action"]["next_nodes"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let names = ["One", "Two", "Three"];
    let from = names.iter().position(|name| *name == ready).unwrap();
    for node in &names[from..] {
        let answer = response(api.invoke(step(node), budget).await);
        assert_eq!(
            answer["next_action"],
            json!({ "type": "continue", "next_nodes": [] }),
            "{answer}"
        );
    }
    let resume = json!({ "request_type": "resume_execution", "execution_id": "slow-2" });
    let answer = response(api.invoke(resume, budget).await);
    assert_eq!(
        answer["next_action"],
        json!({ "type": "complete" }),
        "{answer}"
    );

    // Errors carry stable types and name what is wrong.
    let bad = json!({ "request_type": "execute_workflow", "workflow_id": 7 });
    let Outcome::Error {
        error_type,
        message,
    } = api.invoke(bad, budget).await
    else {
        panic!()
    };
    assert_eq!(error_type, "Hetumind.InvalidRequest");
    assert!(message.contains("`workflow_id`"), "{message}");
    let unknown = json!({ "request_type": "resume_execution", "execution_id": "nope" });
    let Outcome::Error { error_type, .. } = api.invoke(unknown, budget).await else {
        panic!()
    };
    assert_eq!(error_type, "Hetumind.ExecutionNotFound");
    let invalid = json!({ "request_type": "execute_workflow", "workflow": { "id": "x", "nodes": [{ "name": "A", "kind": "nope.nope" }] } });
    let Outcome::Error {
        error_type,
        message,
    } = api.invoke(invalid, budget).await
    else {
        panic!()
    };
    assert_eq!(error_type, "Hetumind.WorkflowInvalid");
    assert!(message.contains("nodes[0].kind"), "{message}");
    let Outcome::Error { error_type, .. } = api.invoke(json!({ "hello": "world" }), budget).await
    else {
        panic!()
    };
    assert_eq!(error_type, "Hetumind.InvalidRequest");

    // HTTP: API Gateway HTTP API, REST API and a Function URL.
    for (fixture_name, name) in [
        ("http-api-v2.json", "Ada"),
        ("apigw-rest.json", "Linus"),
        ("function-url.json", "Grace"),
    ] {
        let http = response(api.invoke(fixture(fixture_name), budget).await);
        assert_eq!(http["statusCode"], 200, "{fixture_name}: {http}");
        let body: Value = serde_json::from_str(http["body"].as_str().unwrap()).unwrap();
        assert_eq!(
            body[0]["body"],
            json!({ "name": name }),
            "{fixture_name}: {body}"
        );
        assert_eq!(body[0]["method"], "POST");
    }
    // An HTTP request that cannot finish in time is answered 202 with its execution id.
    let mut slow_http = fixture("http-api-v2.json");
    slow_http["pathParameters"]["workflow_id"] = json!("slow");
    let accepted = response(api.invoke(slow_http, Duration::from_millis(1500)).await);
    assert_eq!(accepted["statusCode"], 202, "{accepted}");
    let body: Value = serde_json::from_str(accepted["body"].as_str().unwrap()).unwrap();
    assert!(body["execution_id"].is_string(), "{body}");

    // EventBridge: a schedule and a custom event, mapped by HETUMIND_TRIGGERS.
    for fixture_name in ["eventbridge-scheduled.json", "eventbridge-custom.json"] {
        let answer = response(api.invoke(fixture(fixture_name), budget).await);
        assert_eq!(
            answer["next_action"],
            json!({ "type": "complete" }),
            "{fixture_name}: {answer}"
        );
    }
    let custom = response(api.invoke(fixture("eventbridge-custom.json"), budget).await);
    assert_eq!(
        custom["execution_id"],
        "0d8b7e21-6c4f-4b1e-8a9d-2f7c6e5d4c3b"
    );

    // SQS: the mapped message runs, the unmapped one is reported for redelivery.
    let batch = response(api.invoke(fixture("sqs.json"), budget).await);
    assert_eq!(
        batch["batchItemFailures"],
        json!([{ "itemIdentifier": "2f1a6c1e-2222-4a8b-9c0d-000000000002" }]),
        "{batch}"
    );
    // A redelivered message does not start a second execution and is not a failure.
    let again = response(api.invoke(fixture("sqs.json"), budget).await);
    assert_eq!(
        again["batchItemFailures"].as_array().unwrap().len(),
        1,
        "{again}"
    );

    // Metrics: Embedded Metric Format lines on stdout, with the cold start's init time once.
    let _ = function.0.kill();
    let _ = function.0.wait();
    let mut stdout = String::new();
    function
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let metrics: Vec<Value> = stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .collect();
    assert!(
        metrics
            .iter()
            .any(|line| line["ExecutionDuration"].is_number()),
        "{stdout}"
    );
    assert_eq!(
        metrics
            .iter()
            .filter(|line| line.get("InitDuration").is_some())
            .count(),
        1,
        "{stdout}"
    );
    assert!(
        metrics.iter().any(|line| line["Kind"] == "test.sleep"
            && line["NodeDuration"].is_array()
            && line["FunctionName"] == "hetumind-test"
            && line["Workflow"] == "slow"),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_missing_state_store_is_an_init_error_naming_the_variable() {
    let api = RuntimeApi::start().await;
    let output = tokio::task::spawn_blocking(move || {
        api.function(FUNCTION)
            .env_remove("HETUMIND_STATE")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HETUMIND_STATE: not set"), "{stderr}");
}
