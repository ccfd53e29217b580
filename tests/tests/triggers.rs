//! The Lambda handler's triggers in process, through `Handler::handle` with real event JSON:
//! which workflow a caller may start, which request headers are stored, HTTP answers too big
//! for the engine's response, error bodies, and redelivered events and messages.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hetumind::config::{CallerWorkflows, Config, Triggers};
use hetumind::engine::{Engine, EngineOptions};
use hetumind::lambda::{Handler, StateMachine};
use hetumind::model::{ExecutionStatus, Request, Workflow};
use hetumind::store::{Condition, FsStore, MemStore, S3Store, StateStore};
use hetumind_nodes as _;
use serde_json::{Value, json};

#[path = "support/moto.rs"]
mod support;

hetumind::link_node_crates!();
// The `test.*` nodes.
use hetumind_tests as _;

fn workflow(value: Value) -> Workflow {
    serde_json::from_value(value).unwrap()
}

fn echo(id: &str) -> Value {
    json!({ "id": id, "nodes": [{ "name": "Echo", "kind": "test.echo" }] })
}

/// Fails whatever it gets: a workflow no test means to start.
fn fail(id: &str) -> Value {
    json!({ "id": id, "nodes": [{ "name": "Fail", "kind": "test.fail" }] })
}

/// Two nodes of `ms` each.
fn slow(ms: u64) -> Value {
    json!({ "id": "slow", "nodes": [
        { "name": "One", "kind": "test.sleep", "parameters": ms },
        { "name": "Two", "kind": "test.sleep", "parameters": ms }
    ], "connections": { "One": { "main": [[{ "node": "Two" }]] } } })
}

async fn engine_with(store: Arc<dyn StateStore>, workflows: Vec<Value>) -> Engine {
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store);
    for stored in workflows {
        engine.put_workflow(&workflow(stored)).await.unwrap();
    }
    engine
}

/// Trigger settings from an environment of `vars`.
fn triggers(vars: &[(&str, &str)]) -> Triggers {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    Config::triggers(&|name: &str| {
        vars.iter()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.clone())
    })
    .unwrap()
}

/// An API Gateway REST (payload 1.0) request `POST /x?workflow=...` (`POST /x` when
/// `query_workflow` is empty) with credentials.
fn rest_request(query_workflow: &str, body: &str) -> Value {
    let query = (!query_workflow.is_empty()).then(|| json!({ "workflow": query_workflow }));
    json!({
        "resource": "/{proxy+}", "path": "/x", "httpMethod": "POST",
        "headers": {
            "Content-Type": "application/json",
            "Authorization": "Bearer SECRET-TOKEN-123",
            "Cookie": "session=SECRET-SESSION",
            "X-Signature": "SECRET-SIGNATURE",
            "X-Request-Id": "req-42"
        },
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": null, "pathParameters": null, "stageVariables": null,
        "requestContext": { "accountId": "1", "resourceId": "r", "stage": "prod", "requestId": "req",
            "identity": {}, "resourcePath": "/{proxy+}", "httpMethod": "POST", "apiId": "a" },
        "body": body, "isBase64Encoded": false
    })
}

fn eventbridge(id: &str, source: &str, detail: &Value) -> Value {
    json!({ "version": "0", "id": id, "detail-type": "Order Placed", "source": source,
        "account": "1", "time": "2026-12-02T00:00:00Z", "region": "us-east-1", "resources": [],
        "detail": detail })
}

fn sqs(message_id: &str, body: &str) -> Value {
    json!({ "Records": [{ "messageId": message_id, "receiptHandle": "r", "body": body,
        "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders", "awsRegion": "us-east-1" }] })
}

fn http_body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
}

/// Every byte under `dir`, as text.
fn everything_stored(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text.push_str(&everything_stored(&path));
        } else {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    text
}

#[tokio::test]
async fn sensitive_headers_are_redacted_before_anything_is_stored_or_answered() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(Arc::new(FsStore::new(dir.path())), vec![echo("echo")]).await;
    // The default list.
    let handler = Handler::new(
        engine.clone(),
        triggers(&[("HETUMIND_TRIGGERS", r#"{"http":"echo"}"#)]),
    );
    let answer = handler
        .handle(rest_request("echo", r#"{"n":1}"#), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let headers = &http_body(&answer)[0]["headers"];
    assert_eq!(headers["authorization"], Triggers::REDACTED, "{headers}");
    assert_eq!(headers["cookie"], Triggers::REDACTED, "{headers}");
    assert_eq!(headers["x-request-id"], "req-42", "{headers}");
    assert_eq!(headers["x-signature"], "SECRET-SIGNATURE", "{headers}");
    let stored = everything_stored(dir.path());
    assert!(stored.contains("req-42"), "the request was stored");
    assert!(!stored.contains("SECRET-TOKEN"), "{stored}");
    assert!(!stored.contains("SECRET-SESSION"), "{stored}");

    // HETUMIND_REDACT_HEADERS: `default` stands for the default list.
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(Arc::new(FsStore::new(dir.path())), vec![echo("echo")]).await;
    let handler = Handler::new(
        engine,
        triggers(&[
            ("HETUMIND_TRIGGERS", r#"{"http":"echo"}"#),
            ("HETUMIND_REDACT_HEADERS", "default, X-Signature"),
        ]),
    );
    let answer = handler
        .handle(rest_request("echo", r#"{"n":2}"#), 0)
        .await
        .unwrap();
    let headers = &http_body(&answer)[0]["headers"];
    assert_eq!(headers["x-signature"], Triggers::REDACTED, "{headers}");
    assert_eq!(headers["authorization"], Triggers::REDACTED, "{headers}");
    let stored = everything_stored(dir.path());
    assert!(
        stored.contains("req-42") && !stored.contains("SECRET"),
        "{stored}"
    );
}

#[test]
fn the_trigger_settings_read_their_variables_and_name_a_bad_one() {
    let none = triggers(&[]);
    assert_eq!(none.caller_workflows, CallerWorkflows::None);
    assert!(none.redacted_headers.contains("authorization"));
    assert!(none.redacted_headers.contains("x-amz-security-token"));
    let set = triggers(&[
        ("HETUMIND_CALLER_WORKFLOWS", " orders, refunds "),
        ("HETUMIND_REDACT_HEADERS", "X-Signature"),
    ]);
    assert_eq!(
        set.caller_workflows,
        CallerWorkflows::Listed(BTreeSet::from(["orders".to_owned(), "refunds".to_owned()]))
    );
    assert_eq!(
        set.redacted_headers,
        BTreeSet::from(["x-signature".to_owned()])
    );
    assert!(
        triggers(&[("HETUMIND_REDACT_HEADERS", "")])
            .redacted_headers
            .is_empty()
    );
    assert_eq!(
        triggers(&[("HETUMIND_CALLER_WORKFLOWS", "*")]).caller_workflows,
        CallerWorkflows::Any
    );
    for (variable, value, problem) in [
        ("HETUMIND_CALLER_WORKFLOWS", "a,,b", "empty name"),
        (
            "HETUMIND_REDACT_HEADERS",
            "bad header",
            "`bad header` is not a valid header name",
        ),
    ] {
        let error = Config::triggers(&|name: &str| (name == variable).then(|| value.to_owned()))
            .unwrap_err();
        assert_eq!(error.variable, variable);
        assert!(error.problem.contains(problem), "{error}");
    }
}

#[tokio::test]
async fn the_operators_mapping_beats_a_callers_choice_unless_allowed() {
    let store = Arc::new(MemStore::new());
    let engine = engine_with(store, vec![echo("echo"), fail("admin")]).await;
    let mapped = Handler::new(
        engine.clone(),
        triggers(&[(
            "HETUMIND_TRIGGERS",
            r#"{"http":"echo","event:shop":"echo","sqs:orders":"echo"}"#,
        )]),
    );

    // HTTP: `?workflow=` (a path `/workflows/ID` alike) does not beat the mapping.
    let answer = mapped.handle(rest_request("admin", "{}"), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    // EventBridge: `detail.workflow_id` of a mapped source does not either.
    let answer = mapped
        .handle(
            eventbridge("ev-1", "shop", &json!({ "workflow_id": "admin" })),
            0,
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(engine.execution_workflow("ev-1").await.unwrap().id, "echo");
    // SQS: nor a message body's `workflow_id`.
    let answer = mapped
        .handle(sqs("m-1", r#"{"workflow_id":"admin"}"#), 0)
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    assert_eq!(engine.execution_workflow("m-1").await.unwrap().id, "echo");

    // Unmapped and not allowed: refused, naming the trigger names to map.
    let unmapped = Handler::new(engine.clone(), Triggers::default());
    let answer = unmapped
        .handle(rest_request("admin", "{}"), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 403, "{answer}");
    let error = http_body(&answer)["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("`http`") && error.contains("HETUMIND_CALLER_WORKFLOWS"),
        "{error}"
    );
    let error = unmapped
        .handle(
            eventbridge("ev-2", "attacker", &json!({ "workflow_id": "echo" })),
            0,
        )
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.InvalidRequest");
    let message = error.to_string();
    for name in [
        "`event:attacker:Order Placed`",
        "`event:attacker`",
        "`event`",
    ] {
        assert!(message.contains(name), "{message}");
    }
    let answer = unmapped
        .handle(sqs("m-2", r#"{"workflow_id":"echo"}"#), 0)
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"][0]["itemIdentifier"], "m-2");
    for execution in ["ev-2", "m-2"] {
        assert!(engine.execution_workflow(execution).await.is_err());
    }

    // Allowed by HETUMIND_CALLER_WORKFLOWS: the caller's choice.
    let allowed = Handler::new(
        engine.clone(),
        triggers(&[("HETUMIND_CALLER_WORKFLOWS", "echo")]),
    );
    let answer = allowed.handle(rest_request("echo", "{}"), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let answer = allowed
        .handle(
            eventbridge("ev-3", "anyone", &json!({ "workflow_id": "echo" })),
            0,
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    let answer = allowed
        .handle(rest_request("admin", "{}"), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 403, "{answer}");
}

#[tokio::test]
async fn an_http_output_too_big_to_inline_is_answered_in_full_or_refused_by_size() {
    let engine = engine_with(Arc::new(MemStore::new()), vec![echo("echo")]).await;
    let handler = Handler::new(
        engine.clone(),
        triggers(&[("HETUMIND_TRIGGERS", r#"{"http":"echo"}"#)]),
    );

    // Over the engine's 256 KiB inline limit, well under Lambda's 6 MB.
    let text = "x".repeat(300 * 1024);
    let answer = handler.handle(rest_request("", &text), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 200);
    let items = http_body(&answer);
    assert_eq!(items.as_array().unwrap().len(), 1);
    assert_eq!(items[0]["body"], text);

    // 2 MiB of quotes: 4 MiB of items as JSON, twice that once escaped again as the body.
    let quotes = "\"".repeat(2 * 1024 * 1024);
    let answer = handler.handle(rest_request("", &quotes), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 500);
    let body = http_body(&answer);
    assert_eq!(body["error_type"], "Hetumind.OutputTooLarge", "{body}");
    assert_eq!(body["limit"], 6 * 1024 * 1024, "{body}");
    assert!(body["bytes"].as_u64().unwrap() > 8 * 1024 * 1024, "{body}");
    let execution_id = body["execution_id"].as_str().unwrap();
    let state = engine.execution_state(execution_id).await.unwrap();
    assert_eq!(state.status, ExecutionStatus::Success);
}

#[tokio::test]
async fn a_corrupt_stored_workflow_is_invalid_and_http_errors_hide_store_details() {
    let store = Arc::new(MemStore::new());
    store
        .put(
            "workflows/broken.json",
            b"{\"id\": \"broken\", \"nodes\": [".to_vec(),
            Condition::Create,
        )
        .await
        .unwrap();
    let engine = engine_with(store, vec![]).await;
    let request =
        Request::from_json(json!({ "request_type": "execute_workflow", "workflow_id": "broken" }))
            .unwrap();
    let error = engine.handle(request, None).await.unwrap_err();
    assert_eq!(error.error_type(), "Hetumind.WorkflowInvalid", "{error}");
    assert!(
        error.to_string().contains("workflows/broken.json"),
        "{error}"
    );
    let handler = Handler::new(
        engine,
        triggers(&[("HETUMIND_TRIGGERS", r#"{"http":"broken"}"#)]),
    );
    let answer = handler.handle(rest_request("", "{}"), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 500, "{answer}");
    assert_eq!(http_body(&answer)["error_type"], "Hetumind.WorkflowInvalid");

    // A store that cannot be reached fails with an SDK error naming the endpoint and the key:
    // logged, never answered.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);
    let store = Arc::new(S3Store::with_client("a-bucket", "pfx", client));
    let error = store
        .get("workflows/echo.json")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("workflows/echo.json"), "{error}");
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store);
    let handler = Handler::new(
        engine,
        triggers(&[("HETUMIND_TRIGGERS", r#"{"http":"echo"}"#)]),
    );
    let answer = handler.handle(rest_request("", "{}"), 0).await.unwrap();
    assert_eq!(answer["statusCode"], 503, "{answer}");
    let body = http_body(&answer);
    assert_eq!(body["error_type"], "Hetumind.Retryable", "{body}");
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["error", "error_type"],
        "{body}"
    );
    let text = body.to_string();
    let port = endpoint.rsplit(':').next().unwrap();
    for detail in [port, "workflows/", "a-bucket", "S3 ", "dispatch"] {
        assert!(!text.contains(detail), "{detail} in {text}");
    }
}

/// An engine on `store` whose invocations hold an execution for 300 ms at a time.
fn short_leases(store: Arc<dyn StateStore>) -> Engine {
    Engine::new(hetumind::Registry::global().unwrap(), store).with_options(EngineOptions {
        lease: Duration::from_millis(300),
        ..EngineOptions::default()
    })
}

/// Starts `execution_id` of `slow` with `input` and kills the invocation mid-way: the
/// execution is left `running` under a lease that expires.
async fn crash_mid_way(engine: &Engine, execution_id: &str, input: Value) {
    let start = Request::from_json(json!({ "request_type": "execute_workflow",
        "workflow_id": "slow", "execution_id": execution_id, "input_data": [{ "json": input }] }))
    .unwrap();
    let engine = engine.clone();
    let run = tokio::spawn(async move { engine.handle(start, None).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    run.abort();
    let _ = run.await;
}

#[tokio::test]
async fn a_redelivery_after_a_crash_continues_its_execution_with_its_own_definition() {
    let store: Arc<dyn StateStore> = Arc::new(MemStore::new());
    let engine = short_leases(Arc::clone(&store));
    engine.put_workflow(&workflow(slow(200))).await.unwrap();
    crash_mid_way(&engine, "m-slow-1", json!({ "x": 1 })).await;
    crash_mid_way(
        &engine,
        "eb-crash-1",
        eventbridge("eb-crash-1", "shop", &json!({})),
    )
    .await;
    // The stored workflow changes before the message and the event come back.
    engine.put_workflow(&workflow(slow(10))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let handler = Handler::new(
        engine.clone(),
        triggers(&[(
            "HETUMIND_TRIGGERS",
            r#"{"sqs:orders":"slow","event:shop":"slow"}"#,
        )]),
    );

    let answer = handler
        .handle(sqs("m-slow-1", r#"{"x":1}"#), 0)
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let answer = handler
        .handle(eventbridge("eb-crash-1", "shop", &json!({})), 0)
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    for execution in ["m-slow-1", "eb-crash-1"] {
        let state = engine.execution_state(execution).await.unwrap();
        assert_eq!(state.status, ExecutionStatus::Success, "{execution}");
        let own = engine.execution_workflow(execution).await.unwrap();
        assert_eq!(own.nodes[0].parameters, json!(200), "{execution}");
    }
}

#[tokio::test]
async fn a_message_whose_execution_is_held_elsewhere_comes_back() {
    let store: Arc<dyn StateStore> = Arc::new(MemStore::new());
    let engine = Engine::new(hetumind::Registry::global().unwrap(), Arc::clone(&store));
    engine.put_workflow(&workflow(slow(1000))).await.unwrap();
    let start = Request::from_json(json!({ "request_type": "execute_workflow",
        "workflow_id": "slow", "execution_id": "m-held", "input_data": [{ "json": { "x": 1 } }] }))
    .unwrap();
    let running = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.handle(start, None).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Edited meanwhile: a repeated start now differs from the execution's definition.
    engine.put_workflow(&workflow(slow(5))).await.unwrap();
    let handler = Handler::new(
        engine.clone(),
        triggers(&[("HETUMIND_TRIGGERS", r#"{"sqs:orders":"slow"}"#)]),
    );
    let answer = handler
        .handle(sqs("m-held", r#"{"x":1}"#), 0)
        .await
        .unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        json!([{ "itemIdentifier": "m-held" }]),
        "{answer}"
    );
    let done = running.await.unwrap().unwrap();
    assert_eq!(done.status, ExecutionStatus::Success);
    // Once the other invocation is done, the redelivery is acknowledged.
    let answer = handler
        .handle(sqs("m-held", r#"{"x":1}"#), 0)
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
}

/// Answers the HTTP request itself: `418` with the item as the body.
#[hetumind::node(kind = "test.teapot", role = "http_response")]
async fn teapot(
    hetumind::Item(item): hetumind::Item<Value>,
) -> Result<hetumind::model::WebhookResponse, hetumind::NodeError> {
    Ok(hetumind::model::WebhookResponse {
        status_code: 418,
        headers: std::collections::BTreeMap::new(),
        body: json!({ "brewed": item["body"] }),
    })
}

#[tokio::test]
async fn a_node_of_any_kind_answers_the_http_request_by_declaring_the_role() {
    let answering = json!({ "id": "teapot", "nodes": [
        { "name": "Answer", "kind": "test.teapot" },
        { "name": "After", "kind": "test.echo" }
    ], "connections": { "Answer": { "main": [[{ "node": "After" }]] } } });
    let engine = engine_with(Arc::new(MemStore::new()), vec![answering, echo("echo")]).await;
    let handler = Handler::new(
        engine,
        triggers(&[("HETUMIND_CALLER_WORKFLOWS", "teapot,echo")]),
    );
    let answer = handler
        .handle(rest_request("teapot", r#""tea""#), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 418, "{answer}");
    assert_eq!(http_body(&answer), json!({ "brewed": "tea" }));
    // A node without the role (`test.echo`) answers nothing: the end items do.
    let answer = handler
        .handle(rest_request("echo", r#""tea""#), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
}

/// A Step Functions client for moto at `endpoint`, with test credentials.
fn sfn_client(endpoint: &str) -> aws_sdk_sfn::Client {
    use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .region(Region::new("us-east-1"))
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// A new state machine on moto (one Pass state: its executions are only listed), its ARN.
async fn state_machine(client: &aws_sdk_sfn::Client) -> String {
    let machine = client
        .create_state_machine()
        .name(format!("hetumind-{}", uuid_like()))
        .definition(r#"{"StartAt":"Drive","States":{"Drive":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/hetumind-states")
        .send()
        .await
        .unwrap();
    machine.state_machine_arn().to_owned()
}

/// Waits a minute: never finishes within a trigger's invocation.
fn waits() -> Value {
    json!({ "id": "waits", "nodes": [{ "name": "Wait", "kind": "test.wait", "parameters": 60 }] })
}

#[tokio::test]
async fn triggers_hand_unfinished_executions_to_the_state_machine_once() {
    let Some(moto) = support::moto() else { return };
    let client = sfn_client(&moto.endpoint);
    let arn = state_machine(&client).await;
    let engine = engine_with(Arc::new(MemStore::new()), vec![waits()]).await;
    let handler = Handler::new(
        engine.clone(),
        triggers(&[(
            "HETUMIND_TRIGGERS",
            r#"{"sqs":"waits","event":"waits","http":"waits"}"#,
        )]),
    )
    .with_state_machine(StateMachine::new(&arn).with_client(client.clone()));

    // A message and an event, each delivered twice: one Step Functions execution each, named
    // after the execution, with its id as input.
    for _ in 0..2 {
        let answer = handler.handle(sqs("msg-1", r#"{"x":1}"#), 0).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
        let answer = handler
            .handle(eventbridge("evt-1", "shop", &json!({})), 0)
            .await
            .unwrap();
        assert_eq!(answer["status"], "waiting", "{answer}");
    }
    let answer = handler
        .handle(rest_request("", r#"{"x":2}"#), 0)
        .await
        .unwrap();
    assert_eq!(answer["statusCode"], 202, "{answer}");
    let body = http_body(&answer);
    assert_eq!(body["continued_by"], json!(arn), "{body}");
    let http_execution = body["execution_id"].as_str().unwrap().to_owned();

    let listed = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut names: Vec<&str> = listed
        .executions()
        .iter()
        .map(aws_sdk_sfn::types::ExecutionListItem::name)
        .collect();
    names.sort_unstable();
    let mut expected = vec!["evt-1", "msg-1", http_execution.as_str()];
    expected.sort_unstable();
    assert_eq!(names, expected, "one execution per Hetumind execution");
    for execution in listed.executions() {
        let described = client
            .describe_execution()
            .execution_arn(execution.execution_arn())
            .send()
            .await
            .unwrap();
        let input: Value = serde_json::from_str(described.input().unwrap()).unwrap();
        assert_eq!(input, json!({ "execution_id": execution.name() }));
    }

    // Without a state machine, the answer says the execution waits for a driver.
    let alone = Handler::new(
        engine,
        triggers(&[("HETUMIND_TRIGGERS", r#"{"http":"waits"}"#)]),
    );
    let answer = alone
        .handle(rest_request("", r#"{"x":3}"#), 0)
        .await
        .unwrap();
    let body = http_body(&answer);
    let note = body["waits_for_driver"].as_str().unwrap();
    assert!(note.contains("HETUMIND_STATE_MACHINE_ARN"), "{note}");
    assert!(note.contains("resume"), "{note}");
}

#[tokio::test]
async fn a_failed_executions_error_workflow_goes_to_the_state_machine_or_runs_in_the_trigger() {
    let Some(moto) = support::moto() else { return };
    let client = sfn_client(&moto.endpoint);
    let arn = state_machine(&client).await;
    let mut failing = fail("import");
    failing["settings"] = json!({ "error_workflow": "alert" });
    let engine = engine_with(Arc::new(MemStore::new()), vec![failing, echo("alert")]).await;
    let settings = [("HETUMIND_TRIGGERS", r#"{"event":"import"}"#)];
    let handler = Handler::new(engine.clone(), triggers(&settings))
        .with_state_machine(StateMachine::new(&arn).with_client(client.clone()));
    // A trigger's failed execution: its error workflow is handed over, not run here.
    let answer = handler
        .handle(eventbridge("evt-err", "shop", &json!({})), 0)
        .await
        .unwrap();
    assert_eq!(answer["status"], "failed", "{answer}");
    assert_eq!(answer["error_workflow"]["execution_id"], "evt-err.error");
    let state = engine.execution_state("evt-err.error").await.unwrap();
    assert_eq!(state.status, ExecutionStatus::Running);
    // A request the state machine sent, answered `failed` again: the same hand-off.
    let answer = handler
        .handle(
            json!({ "request_type": "resume_execution", "execution_id": "evt-err" }),
            0,
        )
        .await
        .unwrap();
    assert_eq!(answer["error_workflow"]["execution_id"], "evt-err.error");
    let listed = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed
        .executions()
        .iter()
        .map(aws_sdk_sfn::types::ExecutionListItem::name)
        .collect();
    assert_eq!(names, [hetumind::lambda::execution_name("evt-err.error")]);

    // Without a state machine, the trigger's invocation runs it.
    let alone = Handler::new(engine.clone(), triggers(&settings));
    alone
        .handle(eventbridge("evt-err-2", "shop", &json!({})), 0)
        .await
        .unwrap();
    let state = engine.execution_state("evt-err-2.error").await.unwrap();
    assert_eq!(state.status, ExecutionStatus::Success);
}

#[tokio::test]
async fn a_sub_workflow_started_without_waiting_goes_to_the_state_machine() {
    let Some(moto) = support::moto() else { return };
    let client = sfn_client(&moto.endpoint);
    let arn = state_machine(&client).await;
    let engine = engine_with(Arc::new(MemStore::new()), vec![waits()]).await;
    let handler = Handler::new(engine.clone(), triggers(&[]))
        .with_state_machine(StateMachine::new(&arn).with_client(client.clone()));
    let parent = json!({ "id": "parent", "nodes": [{ "name": "Spawn",
        "kind": "core.execute_workflow", "parameters": { "workflow_id": "waits", "mode": "start" } }] });
    let answer = handler
        .handle(
            json!({ "request_type": "execute_workflow", "workflow": parent, "execution_id": "spawner" }),
            0,
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(
        answer["output_data"][0]["json"],
        json!({ "execution_id": "spawner:Spawn:1", "status": "running" })
    );
    let listed = client
        .list_executions()
        .state_machine_arn(&arn)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed
        .executions()
        .iter()
        .map(aws_sdk_sfn::types::ExecutionListItem::name)
        .collect();
    assert_eq!(names, [hetumind::lambda::execution_name("spawner:Spawn:1")]);
}

/// A name part unique to this run (moto's state is shared by every test of the process).
fn uuid_like() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[test]
fn a_state_machine_arn_is_checked_at_start_up() {
    let config = |arn: &str| {
        Config::state_machine(|name: &str| {
            (name == "HETUMIND_STATE_MACHINE_ARN").then(|| arn.to_owned())
        })
    };
    assert!(config("").unwrap().is_none());
    let machine = config(" arn:aws:states:us-east-1:1:stateMachine:hm ").unwrap();
    assert_eq!(
        machine.as_deref(),
        Some("arn:aws:states:us-east-1:1:stateMachine:hm")
    );
    for bad in [
        "hm",
        "arn:aws:lambda:us-east-1:1:function:f",
        "arn:aws:states:us-east-1:1:stateMachine:",
    ] {
        let error = config(bad).unwrap_err();
        assert_eq!(error.variable, "HETUMIND_STATE_MACHINE_ARN");
        assert!(
            error.problem.contains("is not a state machine ARN"),
            "{error}"
        );
    }
}
