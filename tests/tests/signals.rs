//! Signals: a node waiting for one (`Ctx::wait_for_signal`, here the `test.signal` node) parks
//! until a `resume_execution` names it; through the HTTP trigger at its resume address (a good
//! token resumes it, a bad one is refused and changes nothing); under a fan-out dispatch; with
//! a time limit; and, on the Step Functions side, the task-token callback: the function keeps
//! the token of the paused state machine run with the execution, and the invocation that
//! delivers the signal completes it with `SendTaskSuccess`, against moto's Step Functions API.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hetumind::config::Triggers;
use hetumind::engine::{Drive, Engine, EngineOptions};
use hetumind::lambda::{Handler, StateMachine};
use hetumind::model::{
    ExecuteWorkflow, ExecutionStatus, ItemData, NextAction, NodeState, Request, ResumeExecution,
    Workflow,
};
use hetumind::store::{MemStore, StateStore};
use serde_json::{Value, json};

#[path = "support/moto.rs"]
mod support;

// The `test.*` nodes.
use hetumind_tests as _;

/// `Ask` says where the approval goes (its resume address), then `Approval` waits for it.
fn approval(id: &str, settings: &Value) -> Workflow {
    serde_json::from_value(json!({
        "id": id,
        "settings": settings,
        "nodes": [
            { "name": "Ask", "kind": "test.say", "parameters": {
                "order": "{% .order %}",
                "approve_at": "{% resume_url(\"Approval\") %}"
            } },
            { "name": "Approval", "kind": "test.signal", "parameters": null }
        ],
        "connections": { "Ask": { "main": [[{ "node": "Approval" }]] } }
    }))
    .unwrap()
}

async fn engine() -> (Engine, Arc<dyn StateStore>) {
    let store: Arc<dyn StateStore> = Arc::new(MemStore::new());
    let engine = Engine::new(hetumind::Registry::global().unwrap(), Arc::clone(&store));
    engine
        .put_workflow(&approval("approval", &json!({})))
        .await
        .unwrap();
    (engine, store)
}

fn start(execution_id: &str) -> Value {
    json!({ "request_type": "execute_workflow", "workflow_id": "approval",
        "execution_id": execution_id, "input_data": [{ "json": { "order": 7 } }] })
}

/// The resume address `Ask` put out, as its query parameters.
async fn address(
    engine: &Engine,
    store: &dyn StateStore,
    execution_id: &str,
) -> Vec<(String, String)> {
    let state = engine.execution_state(execution_id).await.unwrap();
    let NodeState::Success { output_key, .. } = &state.nodes["Ask"] else {
        panic!("{state:?}");
    };
    let stored = store.get(output_key).await.unwrap().unwrap();
    let outputs: Value = serde_json::from_slice(&stored.bytes).unwrap();
    let url = outputs[0][0]["json"]["approve_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let query = url
        .strip_prefix("/resume?")
        .unwrap_or_else(|| panic!("{url}"));
    query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// An HTTP API / Function URL request to the resume address with `query`.
fn resume_event(method: &str, query: &[(String, String)], body: Option<&str>) -> Value {
    let raw = query
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let parameters: serde_json::Map<String, Value> = query
        .iter()
        .map(|(name, value)| (name.clone(), json!(value)))
        .collect();
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/resume", "rawQueryString": raw,
        "headers": { "content-type": "application/json" },
        "queryStringParameters": parameters,
        "requestContext": { "accountId": "1", "apiId": "a", "domainName": "x.lambda-url.us-east-1.on.aws",
            "domainPrefix": "x", "requestId": "req", "routeKey": "$default", "stage": "$default",
            "time": "05/Dec/2026:10:00:00 +0000", "timeEpoch": 1_796_292_000_000_i64,
            "http": { "method": method, "path": "/resume", "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1", "userAgent": "test" } },
        "body": body, "isBase64Encoded": false
    })
}

fn with(query: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut query: Vec<(String, String)> =
        query.iter().filter(|(n, _)| n != name).cloned().collect();
    query.push((name.to_owned(), value.to_owned()));
    query
}

fn http_body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
}

fn outputs(items: &[ItemData]) -> Vec<Value> {
    items.iter().map(|item| item.json.clone()).collect()
}

#[tokio::test]
async fn a_resume_address_with_its_token_resumes_the_node_and_any_other_is_refused() {
    let (engine, store) = engine().await;
    let handler = Handler::new(engine.clone(), Triggers::default());
    let answer = handler.handle(start("e-1"), 0).await.unwrap();
    assert_eq!(
        answer["next_action"],
        json!({ "type": "await_signal", "nodes": ["Approval"], "timeout_seconds": 2_073_600 }),
        "{answer}"
    );
    assert_eq!(answer["status"], "waiting");
    let query = address(&engine, &*store, "e-1").await;
    let token = &query.iter().find(|(name, _)| name == "token").unwrap().1;
    assert_eq!(token.len(), 32, "{query:?}");

    // Refused, and nothing changes: a token one character off, the token of another node, an
    // execution that does not exist, no token at all.
    let mut off = token.clone();
    off.replace_range(0..1, if off.starts_with('0') { "1" } else { "0" });
    for (query, status) in [
        (with(&query, "token", &off), 403),
        (with(&query, "node", "Ask"), 403),
        (with(&query, "execution_id", "e-404"), 403),
        (
            query
                .iter()
                .filter(|(name, _)| name != "token")
                .cloned()
                .collect(),
            400,
        ),
    ] {
        let answer = handler
            .handle(resume_event("GET", &query, None), 0)
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], status, "{query:?}: {answer}");
        assert!(http_body(&answer)["error"].is_string(), "{answer}");
        let state = engine.execution_state("e-1").await.unwrap();
        assert_eq!(state.status, ExecutionStatus::Waiting, "{query:?}");
    }
    let answer = handler
        .handle(resume_event("DELETE", &query, None), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 405, "{answer}");

    // The good token: a GET resumes the node with one item of the other query parameters.
    let approve = with(&with(&query, "approved", "true"), "by", "ana");
    let answer = handler
        .handle(resume_event("GET", &approve, None), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        http_body(&answer),
        json!({ "execution_id": "e-1", "status": "success" })
    );
    assert_eq!(
        outputs(&engine.final_output("e-1").await.unwrap()),
        [json!({ "approved": "true", "by": "ana" })]
    );
    // Once is all: the node no longer waits.
    let again = handler
        .handle(resume_event("GET", &approve, None), 0)
        .await
        .unwrap();
    assert_eq!(again["statusCode"], 400, "{again}");
    assert!(
        http_body(&again)["error"]
            .as_str()
            .unwrap()
            .contains("already finished"),
        "{again}"
    );

    // A POST resumes it with its JSON body: an object is one item, an array one per element.
    handler.handle(start("e-2"), 0).await.unwrap();
    let query = address(&engine, &*store, "e-2").await;
    let answer = handler
        .handle(
            resume_event(
                "POST",
                &query,
                Some(r#"[{"approved": false}, {"note": "too dear"}]"#),
            ),
            0,
        )
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(
        outputs(&engine.final_output("e-2").await.unwrap()),
        [json!({ "approved": false }), json!({ "note": "too dear" })]
    );
}

/// A new execution `execution_id` of `workflow` with one item.
fn execute(workflow: Workflow, execution_id: &str, item: Value) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some(execution_id.to_owned()),
        input_data: Some(vec![ItemData::new(item)]),
        trigger: None,
        metadata: serde_json::Map::new(),
    })
}

/// A signal to node `Approval` of execution `execution_id`, with `items` when given.
fn signal(execution_id: &str, items: Option<Vec<ItemData>>) -> Request {
    Request::ResumeExecution(ResumeExecution {
        execution_id: execution_id.to_owned(),
        node_name: Some("Approval".to_owned()),
        input_data: items,
        task_token: None,
        metadata: serde_json::Map::new(),
    })
}

#[tokio::test]
async fn a_signal_reaches_a_node_handed_out_to_fan_out_workers() {
    let store: Arc<dyn StateStore> = Arc::new(MemStore::new());
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store);
    let fanned = || approval("fanned", &json!({ "dispatch": "fan_out" }));
    let drive = Drive::sleeping_up_to(Duration::from_secs(1));
    let driven = engine
        .drive(execute(fanned(), "f-1", json!({ "order": 1 })), &drive)
        .await
        .unwrap();
    assert!(
        matches!(&driven.response.next_action, NextAction::AwaitSignal { nodes, resume_at: None, .. } if nodes == &["Approval"]),
        "{:?}",
        driven.response.next_action
    );
    let approved = vec![ItemData::new(json!({ "approved": true }))];
    let driven = engine
        .drive(signal("f-1", Some(approved)), &drive)
        .await
        .unwrap();
    assert_eq!(driven.response.next_action, NextAction::Complete);
    assert_eq!(
        outputs(driven.response.output_data.as_deref().unwrap()),
        [json!({ "approved": true })]
    );

    // A signal without items: the node, handed out to a worker again, resumes with its own.
    let driven = engine
        .drive(execute(fanned(), "f-2", json!({ "order": 2 })), &drive)
        .await
        .unwrap();
    assert!(
        matches!(driven.response.next_action, NextAction::AwaitSignal { .. }),
        "{:?}",
        driven.response.next_action
    );
    let driven = engine.drive(signal("f-2", None), &drive).await.unwrap();
    assert_eq!(driven.response.next_action, NextAction::Complete);
    let output = outputs(driven.response.output_data.as_deref().unwrap());
    assert_eq!(output.len(), 1, "{output:?}");
    assert_eq!(output[0]["order"], 2, "{output:?}");
}

#[tokio::test]
async fn a_signal_wait_with_a_time_limit_passes_its_own_items_on_when_it_runs_out() {
    let store: Arc<dyn StateStore> = Arc::new(MemStore::new());
    // No wait slept within an invocation: each is answered.
    let engine =
        Engine::new(hetumind::Registry::global().unwrap(), store).with_options(EngineOptions {
            max_inline_wait: Duration::ZERO,
            ..EngineOptions::default()
        });
    let workflow: Workflow = serde_json::from_value(json!({ "id": "limited", "nodes": [
        { "name": "Approval", "kind": "test.signal", "parameters": 1 }
    ] }))
    .unwrap();
    let request = execute(workflow, "t-1", json!({ "order": 2 }));
    // Answered first: the signal, or else the time limit (1 s, rounded up to whole seconds).
    let first = engine.handle(request.clone(), None).await.unwrap();
    let NextAction::AwaitSignal {
        resume_at: Some(_),
        timeout_seconds,
        ..
    } = first.next_action
    else {
        panic!("{:?}", first.next_action);
    };
    assert!((1..=2).contains(&timeout_seconds), "{timeout_seconds}");
    // A driver sleeps a short limit through, and the node's own items pass on.
    let drive = Drive::sleeping_up_to(Duration::from_secs(5));
    let driven = engine.drive(request, &drive).await.unwrap();
    assert_eq!(driven.response.next_action, NextAction::Complete);
    assert_eq!(
        outputs(driven.response.output_data.as_deref().unwrap()),
        [json!({ "order": 2 })]
    );
}

/// The `SendTaskSuccess` calls a Step Functions client made: token and output.
#[derive(Debug, Default, Clone)]
struct Completions(Arc<Mutex<Vec<(String, Value)>>>);

impl aws_sdk_sfn::config::Intercept for Completions {
    fn name(&self) -> &'static str {
        "Completions"
    }

    fn read_before_execution(
        &self,
        context: &aws_sdk_sfn::config::interceptors::BeforeSerializationInterceptorContextRef<'_>,
        _config: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        if let Some(input) = context
            .input()
            .downcast_ref::<aws_sdk_sfn::operation::send_task_success::SendTaskSuccessInput>(
        ) {
            let output = serde_json::from_str(input.output().unwrap_or("null"))?;
            self.0
                .lock()
                .unwrap()
                .push((input.task_token().unwrap_or_default().to_owned(), output));
        }
        Ok(())
    }
}

impl Completions {
    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn the_signal_s_invocation_completes_the_task_token_the_function_kept() {
    let Some(moto) = support::moto() else { return };
    use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
    let completions = Completions::default();
    let client = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&moto.endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .region(Region::new("us-east-1"))
            .interceptor(completions.clone())
            .build(),
    );
    // The project's own definition, as deployed: moto checks it is JSON a state machine takes.
    let definition = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/deploy/statemachine.asl.json"
    ))
    .unwrap()
    .replace(
        "${FunctionArn}",
        "arn:aws:lambda:us-east-1:123456789012:function:hetumind",
    );
    let arn = client
        .create_state_machine()
        .name(format!("hetumind-signals-{}", std::process::id()))
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/hetumind-states")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let (engine, store) = engine().await;
    let handler = Handler::new(engine.clone(), Triggers::default())
        .with_state_machine(StateMachine::new(&arn).with_client(client.clone()));

    let answer = handler.handle(start("s-1"), 0).await.unwrap();
    assert_eq!(answer["next_action"]["type"], "await_signal", "{answer}");
    // The state machine's AwaitSignal task: the function keeps its token and returns.
    let paused = json!({ "request_type": "resume_execution", "execution_id": "s-1",
        "task_token": "token-1" });
    let answer = handler.handle(paused, 0).await.unwrap();
    assert_eq!(answer["next_action"]["type"], "await_signal", "{answer}");
    assert!(answer.get("task_tokens").is_none(), "{answer}");
    assert_eq!(
        engine
            .execution_state("s-1")
            .await
            .unwrap()
            .task_token
            .as_deref(),
        Some("token-1")
    );
    assert!(completions.take().is_empty());

    // The signal, through the resume address: the paused run goes on with the signal's answer,
    // the token leaves the state, and no second state machine execution is started.
    let query = with(&address(&engine, &*store, "s-1").await, "approved", "yes");
    let answer = handler
        .handle(resume_event("GET", &query, None), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let completed = completions.take();
    assert_eq!(completed.len(), 1, "{completed:?}");
    let (token, output) = &completed[0];
    assert_eq!(token, "token-1");
    assert_eq!(output["execution_id"], "s-1", "{output}");
    assert_eq!(output["status"], "success", "{output}");
    assert_eq!(
        output["next_action"],
        json!({ "type": "complete" }),
        "{output}"
    );
    assert_eq!(
        output["output_data"],
        json!([{ "json": { "approved": "yes" } }])
    );
    assert_eq!(
        engine.execution_state("s-1").await.unwrap().task_token,
        None
    );
    let started = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(started.executions().is_empty(), "{started:?}");

    // A token that comes when no signal is awaited any more is completed at once.
    let late = json!({ "request_type": "resume_execution", "execution_id": "s-1",
        "task_token": "token-2" });
    let answer = handler.handle(late, 0).await.unwrap();
    assert_eq!(answer["next_action"]["type"], "complete", "{answer}");
    let completed = completions.take();
    assert_eq!(completed.len(), 1, "{completed:?}");
    assert_eq!(completed[0].0, "token-2");
    assert_eq!(completed[0].1["next_action"]["type"], "complete");
}

#[tokio::test]
async fn validation_checks_the_nodes_resume_url_names() {
    let (engine, _) = engine().await;
    let invalid = |parameters: Value| -> Workflow {
        serde_json::from_value(json!({ "id": "bad", "nodes": [
            { "name": "Ask", "kind": "test.say", "parameters": parameters },
            { "name": "Approval", "kind": "test.signal", "parameters": null }
        ], "connections": { "Ask": { "main": [[{ "node": "Approval" }]] } } }))
        .unwrap()
    };
    for (parameters, expected) in [
        (
            json!({ "url": "{% resume_url(\"Aproval\") %}" }),
            "`resume_url` names node `Aproval`, which the workflow does not have",
        ),
        (
            json!({ "url": "{% resume_url(.node) %}" }),
            "`resume_url` takes a name written as one literal string",
        ),
    ] {
        let error = engine.put_workflow(&invalid(parameters)).await.unwrap_err();
        let text = error.to_string();
        assert!(text.contains("nodes[0].parameters"), "{text}");
        assert!(text.contains(expected), "{text}");
    }
    // Any node of the workflow, before or after the expression's own.
    let valid = invalid(
        json!({ "later": "{% resume_url(\"Approval\") %}", "own": "{% resume_url(\"Ask\") %}" }),
    );
    engine.put_workflow(&valid).await.unwrap();
}
