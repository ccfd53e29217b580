//! Tests of the http nodes, against a real HTTP server on 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use hetumind::ErrorKind;
use hetumind::model::ExecutionStatus;
use hetumind::testing::{NodeTest, TestError, WorkflowTest};
use hetumind::{NodeError, Registry};
use serde_json::{Value, json};

const KIND: &str = "core.http_request";

/// What the test server saw.
#[derive(Default)]
struct Seen {
    /// Requests to the routes that fail at first (`/flaky`, `/limited`).
    hits: AtomicUsize,
    /// The `idempotency-key` header of every request to `/flaky`.
    keys: Mutex<Vec<String>>,
}

/// A test server listening on a free port of 127.0.0.1.
struct Server {
    base: String,
    seen: Arc<Seen>,
}

impl Server {
    async fn start() -> Self {
        let seen = Arc::new(Seen::default());
        let router = Router::new()
            .route("/echo", any(echo))
            .route("/status/{code}", any(status))
            .route("/flaky", get(flaky))
            .route("/limited", get(limited))
            .route("/slow", get(slow))
            .route("/text", get(|| async { "hello" }))
            .route("/big", get(|| async { "x".repeat(1000) }))
            .route(
                "/not-json",
                get(|| async { json_response(StatusCode::OK, "{oops") }),
            )
            .with_state(Arc::clone(&seen));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base, seen }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self) -> usize {
        self.seen.hits.load(Ordering::SeqCst)
    }
}

fn json_response(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// Answers with what it received.
async fn echo(
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap())))
        .collect();
    let echoed =
        json!({ "method": method.as_str(), "query": query, "headers": headers, "body": body });
    json_response(StatusCode::OK, echoed.to_string())
}

/// Answers with the status asked for.
async fn status(Path(code): Path<u16>) -> Response {
    (
        StatusCode::from_u16(code).unwrap(),
        format!("status {code} as asked"),
    )
        .into_response()
}

/// A 500 the first time, then 200; records the idempotency key of every request.
async fn flaky(State(seen): State<Arc<Seen>>, headers: HeaderMap) -> Response {
    if let Some(key) = headers.get("idempotency-key") {
        seen.keys
            .lock()
            .unwrap()
            .push(key.to_str().unwrap().to_owned());
    }
    match seen.hits.fetch_add(1, Ordering::SeqCst) {
        0 => (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response(),
        _ => json_response(StatusCode::OK, r#"{"ok":true}"#),
    }
}

/// A 429 with `Retry-After: 1` the first time, then 200.
async fn limited(State(seen): State<Arc<Seen>>) -> Response {
    match seen.hits.fetch_add(1, Ordering::SeqCst) {
        0 => (
            StatusCode::TOO_MANY_REQUESTS,
            [(RETRY_AFTER, "1")],
            "slow down",
        )
            .into_response(),
        _ => json_response(StatusCode::OK, r#"{"ok":true}"#),
    }
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(10)).await;
    "late"
}

/// Runs the node on `items` with `params`.
async fn run(params: Value, items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    NodeTest::new(KIND)
        .params(params)
        .items(items)
        .run()
        .await
        .unwrap()
        .json(0)
}

/// Runs the node on one empty item with `params`, expecting it to fail.
async fn failure(params: Value) -> NodeError {
    match NodeTest::new(KIND)
        .params(params)
        .items([json!({})])
        .run()
        .await
    {
        Err(TestError::Node(error)) => error,
        other => panic!("expected the node to fail, got {other:?}"),
    }
}

/// The error of checking `params` as a workflow's validation does.
fn params_error(params: &Value) -> String {
    let registration = Registry::global().unwrap().resolve(KIND, None).unwrap();
    (registration.check_params)(params)
        .unwrap_err()
        .message()
        .to_owned()
}

/// A workflow `Start` (`core.no_op`) -> `Call` (`core.http_request` with `params` and a short
/// retry policy).
fn workflow(params: Value) -> Value {
    json!({
        "id": "http",
        "nodes": [
            { "name": "Start", "kind": "core.no_op" },
            {
                "name": "Call", "kind": KIND, "parameters": params,
                "retry": { "max_attempts": 3, "initial_interval_ms": 10, "max_interval_ms": 50 }
            }
        ],
        "connections": { "Start": { "main": [[{ "node": "Call" }]] } }
    })
}

#[tokio::test]
async fn get_sends_query_and_headers() {
    let server = Server::start().await;
    let out = run(
        json!({
            "url": server.url("/echo?fixed=1"),
            "query": { "q": "a b&c", "page": "2" },
            "headers": { "X-Trace": "abc", "User-Agent": "tests" }
        }),
        [json!({})],
    )
    .await;
    assert_eq!(out.len(), 1);
    let response = &out[0];
    assert_eq!(response["status"], 200);
    assert_eq!(response["headers"]["content-type"], "application/json");
    let echoed = &response["body"];
    assert_eq!(echoed["method"], "GET");
    assert_eq!(echoed["query"], "fixed=1&page=2&q=a+b%26c");
    assert_eq!(echoed["headers"]["x-trace"], "abc");
    assert_eq!(echoed["headers"]["user-agent"], "tests");
    assert_eq!(echoed["body"], "");
}

#[tokio::test]
async fn post_sends_a_json_body() {
    let server = Server::start().await;
    let out = run(
        json!({
            "method": "POST", "url": server.url("/echo"), "json": { "name": "Ada", "n": [1, 2] }
        }),
        [json!({})],
    )
    .await;
    let echoed = &out[0]["body"];
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert!(
        echoed["headers"]["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("hetumind/")
    );
    let sent: Value = serde_json::from_str(echoed["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent, json!({ "name": "Ada", "n": [1, 2] }));
}

#[tokio::test]
async fn put_sends_a_text_body_and_reads_text() {
    let server = Server::start().await;
    let out = run(
        json!({
            "method": "PUT", "url": server.url("/echo"), "text": "plain words", "response": "text"
        }),
        [json!({})],
    )
    .await;
    let body = out[0]["body"].as_str().unwrap();
    let echoed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["body"], "plain words");
    assert_eq!(
        echoed["headers"]["content-type"],
        "text/plain; charset=utf-8"
    );
}

#[tokio::test]
async fn a_content_type_header_overrides_the_bodys() {
    let server = Server::start().await;
    let out = run(
        json!({
            "method": "PATCH", "url": server.url("/echo"), "json": [1],
            "headers": { "content-type": "application/merge-patch+json" }
        }),
        [json!({})],
    )
    .await;
    let echoed = &out[0]["body"];
    assert_eq!(echoed["method"], "PATCH");
    assert_eq!(
        echoed["headers"]["content-type"],
        "application/merge-patch+json"
    );
    assert_eq!(echoed["body"], "[1]");
}

#[tokio::test]
async fn reads_responses_as_asked() {
    let server = Server::start().await;
    // auto: text/plain is text.
    let out = run(json!({ "url": server.url("/text") }), [json!({})]).await;
    assert_eq!(out[0]["body"], "hello");
    // auto: a JSON content type whose body does not parse falls back to text.
    let out = run(json!({ "url": server.url("/not-json") }), [json!({})]).await;
    assert_eq!(out[0]["body"], "{oops");
    // json: the same body fails, for good.
    let error = failure(json!({ "url": server.url("/not-json"), "response": "json" })).await;
    assert_eq!(error.kind(), ErrorKind::Terminal);
    assert!(error.message().contains("not JSON"), "{error}");
    assert!(error.message().contains("GET http://"), "{error}");
    assert!(error.message().contains("200 OK"), "{error}");
    // json: an empty body is null (HEAD has none).
    let out = run(
        json!({ "method": "HEAD", "url": server.url("/echo"), "response": "json" }),
        [json!({})],
    )
    .await;
    assert_eq!(out[0]["status"], 200);
    assert_eq!(out[0]["body"], Value::Null);
    // OPTIONS and DELETE go out as such.
    for method in ["OPTIONS", "DELETE"] {
        let out = run(
            json!({ "method": method, "url": server.url("/echo") }),
            [json!({})],
        )
        .await;
        assert_eq!(out[0]["body"]["method"], method);
    }
}

#[tokio::test]
async fn url_and_body_from_the_items_through_the_engine() {
    let server = Server::start().await;
    let run = WorkflowTest::new(workflow(json!({
        "method": "POST",
        "url_from": "target.url",
        "body_from": "payload",
        "query": { "v": "1" },
        "idempotency_header": "Idempotency-Key"
    })))
    .input([
        json!({ "target": { "url": server.url("/echo?n=0") }, "payload": { "a": 1 } }),
        json!({ "target": { "url": server.url("/echo?n=1") }, "payload": "just a string" }),
    ])
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    let out = run.output();
    assert_eq!(out.len(), 2);
    for (index, response) in out.iter().enumerate() {
        let echoed = &response["body"];
        assert_eq!(echoed["query"], format!("n={index}&v=1"));
        assert_eq!(
            echoed["headers"]["idempotency-key"],
            format!("test-execution:Call:{index}")
        );
    }
    assert_eq!(out[0]["body"]["body"], r#"{"a":1}"#);
    assert_eq!(out[1]["body"]["body"], r#""just a string""#);
    // Lineage: each response comes from its item.
    let items = run.items("Call").await.unwrap();
    let source = items[0][1].source.as_ref().unwrap();
    assert_eq!((&*source.node, source.item_index), ("Start", 1));
}

#[tokio::test]
async fn items_without_the_fields_named_fail_naming_them() {
    let server = Server::start().await;
    let error = failure(json!({ "url_from": "target" })).await;
    assert_eq!(error.kind(), ErrorKind::Terminal);
    assert_eq!(
        error.message(),
        "input item 0: the URL at `target` (`url_from`) is missing"
    );
    let error = NodeTest::new(KIND)
        .params(json!({ "url_from": "target" }))
        .items([
            json!({ "target": server.url("/echo") }),
            json!({ "target": 7 }),
        ])
        .run()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("input item 1: the URL at `target` (`url_from`) is not a string"),
        "{error}"
    );
    let error = failure(json!({ "url_from": "" })).await;
    assert!(error.message().contains("is not a string"), "{error}");
    let error = NodeTest::new(KIND)
        .params(json!({ "url_from": "u" }))
        .items([json!({ "u": "mailto:x@y.z" })])
        .run()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("input item 0: at `u` (`url_from`)"),
        "{error}"
    );
    assert!(error.contains("scheme is `mailto`"), "{error}");
    let error = failure(json!({ "url": server.url("/echo"), "body_from": "order.lines" })).await;
    assert_eq!(
        error.message(),
        "input item 0: no field `order.lines` (`body_from`) to send as the body"
    );
}

#[tokio::test]
async fn empty_input_sends_nothing() {
    let out = run(json!({ "url": "http://127.0.0.1:9/never" }), []).await;
    assert!(out.is_empty());
}

#[tokio::test]
async fn not_found_is_terminal() {
    let server = Server::start().await;
    let error = failure(json!({ "method": "DELETE", "url": server.url("/status/404") })).await;
    assert_eq!(error.kind(), ErrorKind::Terminal);
    assert_eq!(
        error.message(),
        format!(
            "DELETE {}: HTTP 404 Not Found: status 404 as asked",
            server.url("/status/404")
        )
    );
    // Through the engine: the execution fails at once, without retries.
    let run = WorkflowTest::new(workflow(json!({ "url": server.url("/status/404") })))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert!(
        run.error().unwrap().contains("HTTP 404 Not Found"),
        "{:?}",
        run.error()
    );
    assert!(run.waits().is_empty());
}

#[tokio::test]
async fn error_statuses_can_be_output() {
    let server = Server::start().await;
    let out = run(
        json!({ "url": server.url("/status/404"), "fail_on_status": false }),
        [json!({})],
    )
    .await;
    assert_eq!(out[0]["status"], 404);
    assert_eq!(out[0]["body"], "status 404 as asked");
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let server = Server::start().await;
    let error = failure(json!({ "url": server.url("/status/503") })).await;
    assert_eq!(error.kind(), ErrorKind::Retryable);
    assert!(
        error.message().contains("HTTP 503 Service Unavailable"),
        "{error}"
    );

    let run = WorkflowTest::new(workflow(json!({
        "url": server.url("/flaky"),
        "idempotency_header": "Idempotency-Key"
    })))
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    assert_eq!(run.output()[0]["body"], json!({ "ok": true }));
    assert_eq!(server.hits(), 2);
    // The retry carried the same idempotency key.
    let keys = server.seen.keys.lock().unwrap().clone();
    assert_eq!(keys, ["test-execution:Call:0", "test-execution:Call:0"]);
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let server = Server::start().await;
    let error = failure(json!({ "url": server.url("/limited") })).await;
    assert_eq!(error.kind(), ErrorKind::RetryAfter { after_ms: 1000 });
    assert!(
        error.message().contains("HTTP 429 Too Many Requests"),
        "{error}"
    );

    let server = Server::start().await;
    let started = Instant::now();
    let run = WorkflowTest::new(workflow(json!({ "url": server.url("/limited") })))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    assert_eq!(server.hits(), 2);
    // The engine slept (without a deadline, in-process) for the server's delay, not for the
    // workflow's 10 ms retry interval.
    assert!(started.elapsed() >= Duration::from_secs(1));
    // 429 without Retry-After: retried by the policy.
    let error = failure(json!({ "url": server.url("/status/429") })).await;
    assert_eq!(error.kind(), ErrorKind::Retryable);
}

#[tokio::test]
async fn timeouts_are_retryable() {
    let server = Server::start().await;
    let started = Instant::now();
    let error = failure(json!({ "url": server.url("/slow"), "timeout_ms": 200 })).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind(), ErrorKind::Retryable);
    assert_eq!(
        error.message(),
        format!(
            "GET {}: no response within 200 ms (`timeout_ms`)",
            server.url("/slow")
        )
    );
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://user:secret@127.0.0.1:{port}/x");
    let error = failure(json!({ "method": "POST", "url": url, "text": "hi" })).await;
    assert_eq!(error.kind(), ErrorKind::Retryable);
    let message = error.message();
    assert!(
        message.starts_with(&format!(
            "POST http://user@127.0.0.1:{port}/x: cannot connect"
        )),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}

#[tokio::test]
async fn too_large_responses_fail() {
    let server = Server::start().await;
    let error = failure(json!({ "url": server.url("/big"), "max_response_bytes": 100 })).await;
    assert_eq!(error.kind(), ErrorKind::Terminal);
    assert!(error.message().contains("larger than 100 bytes"), "{error}");
    let out = run(
        json!({ "url": server.url("/big"), "max_response_bytes": 1000 }),
        [json!({})],
    )
    .await;
    assert_eq!(out[0]["body"].as_str().unwrap().len(), 1000);
}

#[test]
fn bad_parameters_name_the_field() {
    let cases = [
        (
            json!({ "method": "FETCH", "url": "http://x" }),
            "at `method`: unknown variant `FETCH`",
        ),
        (
            json!({ "url": "not a url" }),
            "at `url`: `not a url` is not a URL",
        ),
        (
            json!({ "url": "ftp://host/file" }),
            "at `url`: `ftp://host/file` is not an HTTP URL",
        ),
        (
            json!({ "url": "http://x", "json": {}, "text": "t" }),
            "`json` and `text` exclude each other",
        ),
        (
            json!({ "url": "http://x", "text": "t", "body_from": "a" }),
            "`text` and `body_from` exclude each other",
        ),
        (json!({}), "missing `url`"),
        (
            json!({ "url": "http://x", "url_from": "a" }),
            "`url` and `url_from` exclude each other",
        ),
        (
            json!({ "url": "http://x", "timeout_ms": 0 }),
            "`timeout_ms` must be at least 1",
        ),
        (
            json!({ "url": "http://x", "timeout_ms": "fast" }),
            "at `timeout_ms`: invalid type",
        ),
        (
            json!({ "url": "http://x", "headers": { "bad name": "v" } }),
            "`headers`: `bad name` is not a valid header name",
        ),
        (
            json!({ "url": "http://x", "headers": { "x": "a\nb" } }),
            "`headers.x`: the value holds characters",
        ),
        (
            json!({ "url": "http://x", "query": { "n": 1 } }),
            "at `query.n`: invalid type",
        ),
        (
            json!({ "url": "http://x", "response": "xml" }),
            "at `response`: unknown variant `xml`",
        ),
        (
            json!({ "url": "http://x", "idempotency_header": "a b" }),
            "`idempotency_header`: `a b` is not a valid header name",
        ),
        (
            json!({ "url": "http://x", "body": "x" }),
            "unknown field `body`",
        ),
    ];
    for (params, expected) in cases {
        let error = params_error(&params);
        assert!(
            error.starts_with("invalid parameters: ") && error.contains(expected),
            "{params}: `{error}` does not say `{expected}`"
        );
    }
}

#[test]
fn a_workflow_with_bad_parameters_is_rejected_before_running() {
    let error = WorkflowTest::new(workflow(json!({ "method": "get", "url": "http://x" })))
        .run_blocking()
        .unwrap_err()
        .to_string();
    assert!(error.contains("method"), "{error}");
    assert!(error.contains("unknown variant `get`"), "{error}");
}

#[test]
fn the_schema_describes_the_parameters() {
    let registration = Registry::global().unwrap().resolve(KIND, None).unwrap();
    let schema = serde_json::to_value((registration.params_schema)()).unwrap();
    let properties = &schema["properties"];
    for field in [
        "method",
        "url",
        "url_from",
        "query",
        "headers",
        "json",
        "text",
        "body_from",
        "timeout_ms",
        "response",
        "max_response_bytes",
        "fail_on_status",
        "idempotency_header",
    ] {
        assert!(
            properties[field]["description"].is_string(),
            "`{field}` has no description in {schema:#}"
        );
    }
    assert!(!registration.description.is_empty());
    let output = serde_json::to_value((registration.output_schema)()).unwrap();
    assert_eq!(
        output["required"],
        json!(["status", "headers", "body"]),
        "{output:#}"
    );
}
