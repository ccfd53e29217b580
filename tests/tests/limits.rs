//! Every limit of `hetumind::Limits`, at it and just beyond it: workflow nodes, connections and
//! bytes, items per node output (inline and batched), bytes per item (given and output), the
//! nesting of JSON (given items, node parameters, node outputs), the HTTP body and the command
//! line's files; and `HETUMIND_LIMITS` itself. Beyond a limit, the error names the limit and
//! where; nothing runs or is stored for a refused request.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hetumind::Limits;
use hetumind::config::{Config, Triggers};
use hetumind::engine::{Drive, Engine, EngineError, EngineOptions};
use hetumind::lambda::Handler;
use hetumind::model::{ExecuteWorkflow, ExecutionStatus, ItemData, Request, Response, Workflow};
use hetumind::prelude::*;
use hetumind::store::{MemStore, StateStore};
use serde_json::{Value, json};

#[path = "support/events.rs"]
mod events;

/// Outputs `count` items.
#[node(kind = "limits.emit", nonblocking)]
async fn emit(Params(count): Params<usize>) -> Result<Vec<usize>, NodeError> {
    Ok((0..count).collect())
}

/// Outputs one item whose data nests `depth` arrays deep.
#[node(kind = "limits.nest", nonblocking)]
async fn nest(Params(depth): Params<usize>) -> Result<Value, NodeError> {
    Ok(nested(depth))
}

/// Outputs one item `{"s": "xxx..."}` with `length` characters.
#[node(kind = "limits.blob", nonblocking)]
async fn blob(Params(length): Params<usize>) -> Result<Value, NodeError> {
    Ok(json!({ "s": "x".repeat(length) }))
}

/// Passes its items on; takes any parameters.
#[node(kind = "limits.pass", nonblocking)]
async fn pass(Params(_any): Params<Value>, Item(v): Item<Value>) -> Result<Value, NodeError> {
    Ok(v)
}

/// `depth` arrays around `1`: `nested(2)` is `[[1]]`.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

fn engine(limits: Limits) -> Engine {
    Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    )
    .with_options(EngineOptions {
        limits,
        ..EngineOptions::default()
    })
}

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

fn start(workflow: Workflow, input: Option<Vec<ItemData>>) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some("x-1".to_owned()),
        input_data: input,
        trigger: None,
        metadata: Default::default(),
    })
}

/// Runs `workflow` to its end.
async fn run(engine: &Engine, workflow: Workflow, input: Option<Vec<ItemData>>) -> Response {
    engine
        .drive(
            start(workflow, input),
            &Drive::sleeping_up_to(Duration::ZERO),
        )
        .await
        .unwrap()
        .response
}

/// A request refused before anything ran: the error, with nothing stored.
async fn refused(engine: &Engine, request: Request) -> EngineError {
    let error = engine.handle(request, None).await.unwrap_err();
    assert!(
        engine.store().list("executions/").await.unwrap().is_empty(),
        "{error}"
    );
    error
}

/// One node of `kind` with `parameters`.
fn single(kind: &str, parameters: &Value) -> Workflow {
    workflow(json!({ "id": "one", "nodes": [
        { "name": "N", "kind": kind, "parameters": parameters }
    ] }))
}

/// `nodes` nodes in a chain: `nodes - 1` connections.
fn chain(nodes: usize) -> Workflow {
    let names: Vec<String> = (0..nodes).map(|i| format!("N{i}")).collect();
    let mut connections = serde_json::Map::new();
    for pair in names.windows(2) {
        connections.insert(pair[0].clone(), json!({ "main": [[{ "node": pair[1] }]] }));
    }
    workflow(json!({
        "id": "chain",
        "nodes": names.iter().map(|name| json!({ "name": name, "kind": "limits.pass" })).collect::<Vec<_>>(),
        "connections": connections
    }))
}

fn limits() -> Limits {
    Limits::default()
}

#[tokio::test]
async fn workflow_nodes() {
    let at = Limits {
        workflow_nodes: 3,
        ..limits()
    };
    assert_eq!(
        run(&engine(at), chain(3), None).await.status,
        ExecutionStatus::Success
    );
    let error = refused(&engine(at), start(chain(4), None)).await;
    assert_eq!(error.error_type(), "Hetumind.WorkflowInvalid");
    assert!(
        error
            .to_string()
            .contains("nodes: the workflow has 4 nodes; the limit is 3 (`workflow_nodes`)"),
        "{error}"
    );
}

#[tokio::test]
async fn workflow_connections() {
    let at = Limits {
        workflow_connections: 2,
        ..limits()
    };
    assert_eq!(
        run(&engine(at), chain(3), None).await.status,
        ExecutionStatus::Success
    );
    let error = refused(&engine(at), start(chain(4), None)).await;
    assert!(
        error.to_string().contains(
            "connections: the workflow has 3 connections; the limit is 2 (`workflow_connections`)"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn workflow_bytes() {
    let wf = chain(2);
    let bytes = serde_json::to_vec(&wf).unwrap().len();
    let at = Limits {
        workflow_bytes: bytes,
        ..limits()
    };
    assert_eq!(
        run(&engine(at), wf.clone(), None).await.status,
        ExecutionStatus::Success
    );
    let beyond = Limits {
        workflow_bytes: bytes - 1,
        ..limits()
    };
    let error = refused(&engine(beyond), start(wf.clone(), None)).await;
    assert!(
        error.to_string().contains(&format!(
            "the workflow is {bytes} bytes of JSON; the limit is {} (`workflow_bytes`)",
            bytes - 1
        )),
        "{error}"
    );
    // Stored workflows too.
    let error = engine(beyond).put_workflow(&wf).await.unwrap_err();
    assert!(error.to_string().contains("`workflow_bytes`"), "{error}");
}

#[tokio::test]
async fn node_output_items_inline_and_batched() {
    let at = Limits {
        node_output_items: 5,
        ..limits()
    };
    let answer = run(&engine(at), single("limits.emit", &json!(5)), None).await;
    assert_eq!(answer.output_data.unwrap().len(), 5);
    let answer = run(&engine(at), single("limits.emit", &json!(6)), None).await;
    assert_eq!(answer.status, ExecutionStatus::Failed);
    let error = answer.error.unwrap();
    assert!(
        error.contains(
            "node `N` failed: the node output 6 items; the limit is 5 (`node_output_items`)"
        ),
        "{error}"
    );
    // A batched node: every batch within the limit, together beyond it.
    let batched = |items: usize| {
        let wf = workflow(
            json!({ "id": "b", "settings": { "dispatch": "fan_out" }, "nodes": [
            { "name": "B", "kind": "limits.pass", "batch_size": 3 }
        ] }),
        );
        (
            wf,
            Some((0..items).map(|n| ItemData::from(json!(n))).collect()),
        )
    };
    let (wf, input) = batched(5);
    let answer = run(&engine(at), wf, input).await;
    assert_eq!(answer.output_data.unwrap().len(), 5);
    let (wf, input) = batched(6);
    let answer = run(&engine(at), wf, input).await;
    assert_eq!(answer.status, ExecutionStatus::Failed);
    assert!(
        answer
            .error
            .as_deref()
            .unwrap()
            .contains("`node_output_items`"),
        "{answer:?}"
    );
    // Its own error: `on_error` takes it like any other.
    let wf = workflow(json!({ "id": "one", "nodes": [
        { "name": "N", "kind": "limits.emit", "parameters": 6, "on_error": "continue" }
    ] }));
    let answer = run(&engine(at), wf, None).await;
    assert_eq!(answer.status, ExecutionStatus::Success, "{answer:?}");
}

#[tokio::test]
async fn item_bytes_of_given_and_output_items() {
    let item = ItemData::from(json!({ "s": "x".repeat(100) }));
    let bytes = serde_json::to_vec(&item).unwrap().len();
    let at = Limits {
        item_bytes: bytes,
        ..limits()
    };
    let given = |item: &ItemData| Some(vec![ItemData::from(json!(0)), item.clone()]);
    let answer = run(&engine(at), chain(1), given(&item)).await;
    assert_eq!(answer.status, ExecutionStatus::Success);
    let beyond = Limits {
        item_bytes: bytes - 1,
        ..limits()
    };
    let error = refused(&engine(beyond), start(chain(1), given(&item))).await;
    assert_eq!(error.error_type(), "Hetumind.InvalidRequest");
    assert!(
        error.to_string().contains(&format!(
            "at `input_data[1]`: the item is {bytes} bytes of JSON; the limit is {} (`item_bytes`)",
            bytes - 1
        )),
        "{error}"
    );

    // An output item, as stored (with its lineage): measured from a run without the limit.
    let engine_free = engine(limits());
    run(&engine_free, single("limits.blob", &json!(100)), None).await;
    let stored = engine_free
        .store()
        .list("executions/x-1/nodes/")
        .await
        .unwrap();
    let output: Vec<Vec<Value>> = serde_json::from_slice(
        &engine_free
            .store()
            .get(&stored[0])
            .await
            .unwrap()
            .unwrap()
            .bytes,
    )
    .unwrap();
    let bytes = serde_json::to_vec(&output[0][0]).unwrap().len();
    let answer = run(
        &engine(Limits {
            item_bytes: bytes,
            ..limits()
        }),
        single("limits.blob", &json!(100)),
        None,
    )
    .await;
    assert_eq!(answer.status, ExecutionStatus::Success);
    let answer = run(
        &engine(Limits {
            item_bytes: bytes - 1,
            ..limits()
        }),
        single("limits.blob", &json!(100)),
        None,
    )
    .await;
    assert_eq!(answer.status, ExecutionStatus::Failed);
    let error = answer.error.unwrap();
    assert!(
        error.contains(&format!(
            "output 0, item 0: the item is {bytes} bytes of JSON; the limit is {} (`item_bytes`)",
            bytes - 1
        )),
        "{error}"
    );
}

#[tokio::test]
async fn json_depth_of_given_items_parameters_and_outputs() {
    let at = Limits {
        json_depth: 5,
        ..limits()
    };
    // Given items.
    let deep = |depth: usize| Some(vec![ItemData::from(json!({ "a": nested(depth - 1) }))]);
    let answer = run(&engine(at), chain(1), deep(5)).await;
    assert_eq!(answer.status, ExecutionStatus::Success);
    let error = refused(&engine(at), start(chain(1), deep(6))).await;
    assert!(
        error.to_string().contains(
            "at `input_data[0].json.a[0][0][0][0]`: nested more than 5 levels deep; the limit is 5 (`json_depth`)"
        ),
        "{error}"
    );
    // Node parameters.
    let answer = run(&engine(at), single("limits.pass", &nested(5)), None).await;
    assert_eq!(answer.status, ExecutionStatus::Success);
    let error = refused(&engine(at), start(single("limits.pass", &nested(6)), None)).await;
    assert_eq!(error.error_type(), "Hetumind.WorkflowInvalid");
    assert!(
        error
            .to_string()
            .contains("nodes[0].parameters[0][0][0][0][0]: nested more than 5 levels deep"),
        "{error}"
    );
    // Node outputs.
    let answer = run(&engine(at), single("limits.nest", &json!(5)), None).await;
    assert_eq!(answer.status, ExecutionStatus::Success);
    let answer = run(&engine(at), single("limits.nest", &json!(6)), None).await;
    assert_eq!(answer.status, ExecutionStatus::Failed);
    let error = answer.error.unwrap();
    assert!(
        error.contains("output 0, item 0 at `json[0][0][0][0][0]`: nested more than 5 levels deep"),
        "{error}"
    );
    // A node output nested deeper than anything can read back (127 levels) is refused, not
    // stored where it would make the execution unreadable.
    let answer = run(&engine(limits()), single("limits.nest", &json!(1000)), None).await;
    assert_eq!(answer.status, ExecutionStatus::Failed);
    assert!(answer.error.unwrap().contains("`json_depth`"));
}

#[test]
fn hetumind_limits_sets_some_limits_and_refuses_what_cannot_be() {
    let options = |text: &str| {
        let text = text.to_owned();
        Config::engine_options(&move |name: &str| (name == "HETUMIND_LIMITS").then(|| text.clone()))
    };
    let set = options(r#"{"workflow_nodes": 7, "json_depth": 127}"#).unwrap();
    assert_eq!(set.limits.workflow_nodes, 7);
    assert_eq!(set.limits.json_depth, 127);
    assert_eq!(set.limits.item_bytes, limits().item_bytes);
    let error = options(r#"{"json_depth": 128}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "HETUMIND_LIMITS: `json_depth` is 128; JSON nested deeper than 127 levels does not parse, so the most it can be is 127"
    );
    let error = options(r#"{"workflow_node": 7}"#).unwrap_err();
    assert!(
        error.to_string().contains("unknown field `workflow_node`"),
        "{error}"
    );
    let error = options(r#"{"item_bytes": -1}"#).unwrap_err();
    assert!(error.to_string().contains("at `item_bytes`"), "{error}");
}

#[tokio::test]
async fn request_bytes_of_an_http_body() {
    let body = json!({ "pad": "x".repeat(200) }).to_string();
    let handler = |limit: usize| async move {
        let store = Arc::new(MemStore::new());
        let engine = Engine::new(hetumind::Registry::global().unwrap(), store.clone())
            .with_options(EngineOptions {
                limits: Limits {
                    request_bytes: limit,
                    ..limits()
                },
                ..EngineOptions::default()
            });
        engine
            .put_workflow(&single("limits.pass", &json!(null)))
            .await
            .unwrap();
        let triggers: Triggers = Config::triggers(&|name: &str| {
            (name == "HETUMIND_TRIGGERS").then(|| r#"{"http":"one"}"#.to_owned())
        })
        .unwrap();
        (Handler::new(engine, triggers), store)
    };
    let event = events::http_api(
        "/hook",
        &json!({ "content-type": "application/json" }),
        &body,
    );
    let (at, _) = handler(body.len()).await;
    let answer = at.handle(event.clone(), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let (beyond, store) = handler(body.len() - 1).await;
    let answer = beyond.handle(event.clone(), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 413, "{answer}");
    let error: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        error["error"],
        format!(
            "the body is {} bytes; the limit is {} (`request_bytes`)",
            body.len(),
            body.len() - 1
        )
    );
    assert_eq!(error["error_type"], "Hetumind.TooLarge");
    assert!(store.list("executions/").await.unwrap().is_empty());
}

#[test]
fn request_and_workflow_bytes_of_the_command_line_s_files() {
    const BIN: &str = env!("CARGO_BIN_EXE_hetumind-test");
    let dir = tempfile::tempdir().unwrap();
    let wf = json!({ "id": "echo", "nodes": [{ "name": "E", "kind": "test.echo" }] }).to_string();
    let workflow = dir.path().join("wf.json");
    std::fs::write(&workflow, &wf).unwrap();
    let input = dir.path().join("input.json");
    let items = r#"[{"json": {"a": 1}}]"#;
    std::fs::write(&input, items).unwrap();
    let cli = |limits: Value| {
        Command::new(BIN)
            .args([
                "run",
                workflow.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
            ])
            .env(
                "HETUMIND_STATE",
                format!("file://{}", dir.path().join("state").display()),
            )
            .env("HETUMIND_LIMITS", limits.to_string())
            .output()
            .unwrap()
    };
    // The file is measured as it is; the definition the execution stores (its defaults
    // written out) is longer, and measured again.
    let output = cli(json!({ "request_bytes": items.len(), "workflow_bytes": 4 * wf.len() }));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let output = cli(json!({ "request_bytes": items.len() - 1 }));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "input.json is more than {0} bytes; the limit is {0} (`request_bytes`)",
            items.len() - 1
        )),
        "{stderr}"
    );
    let output = cli(json!({ "workflow_bytes": wf.len() - 1 }));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!(
            "wf.json is more than {0} bytes; the limit is {0} (`workflow_bytes`)",
            wf.len() - 1
        )),
        "{output:?}"
    );
    // Measured before it is parsed: a huge file of anything is refused for its size.
    std::fs::write(&input, vec![b'['; 64 * 1024 * 1024]).unwrap();
    let output = cli(json!({}));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("(`request_bytes`)"),
        "{output:?}"
    );
}
