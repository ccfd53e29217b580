//! Tests of the http nodes, against a real HTTP server on 127.0.0.1 (and other loopback
//! addresses, for the outbound policy).
//!
//! The process's outbound policy (`allow_test_servers`) allows `127.0.0.1` and `127.0.1.0/24`,
//! and puts the Lambda Runtime API on a port of 127.0.0.1 that nothing answers: every other
//! loopback address is refused, as is any non-public one.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Once};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use hetumind::ErrorKind;
use hetumind::model::ExecutionStatus;
use hetumind::testing::{NodeTest, TestError, WorkflowTest};
use hetumind::{NodeError, Registry};
use hetumind_nodes::OutboundPolicy;
use serde_json::{Value, json};

const KIND: &str = "core.http_request";

/// A port of 127.0.0.1 standing for the Lambda Runtime API: it accepts connections (into its
/// backlog) and never answers.
static RUNTIME_API: LazyLock<TcpListener> =
    LazyLock::new(|| TcpListener::bind("127.0.0.1:0").unwrap());

/// Installs the policy of these tests, once: 127.0.0.1 and 127.0.1.0/24 allowed, the runtime
/// API at [`RUNTIME_API`].
fn allow_test_servers() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let runtime_api = RUNTIME_API.local_addr().unwrap().to_string();
        OutboundPolicy::from_env(|name| match name {
            "HETUMIND_HTTP_ALLOW" => Some("127.0.0.1, 127.0.1.0/24".to_owned()),
            "AWS_LAMBDA_RUNTIME_API" => Some(runtime_api.clone()),
            _ => None,
        })
        .unwrap()
        .install();
    });
}

fn runtime_api_port() -> u16 {
    RUNTIME_API.local_addr().unwrap().port()
}

/// What the test server saw.
#[derive(Default)]
struct Seen {
    /// Requests to the routes that fail at first (`/flaky`, `/limited`).
    hits: AtomicUsize,
    /// The `idempotency-key` header of every request to `/flaky`.
    keys: Mutex<Vec<String>>,
    /// Requests to `/echo`.
    echoed: AtomicUsize,
}

/// A test server listening on a free port of 127.0.0.1 (or another loopback address).
struct Server {
    base: String,
    seen: Arc<Seen>,
}

impl Server {
    async fn start() -> Self {
        Self::start_on("127.0.0.1").await
    }

    async fn start_on(address: &str) -> Self {
        allow_test_servers();
        let seen = Arc::new(Seen::default());
        let router = Router::new()
            .route("/echo", any(echo))
            .route("/redirect", get(redirect))
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
        let listener = tokio::net::TcpListener::bind((address, 0)).await.unwrap();
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

    fn echoed(&self) -> usize {
        self.seen.echoed.load(Ordering::SeqCst)
    }

    fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// A URL that answers 302 to `to`.
    fn redirect_to(&self, to: &str) -> String {
        self.url(&format!("/redirect?{to}"))
    }
}

fn json_response(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body.into()).into_response()
}

/// Answers with what it received.
async fn echo(
    State(seen): State<Arc<Seen>>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap())))
        .collect();
    seen.echoed.fetch_add(1, Ordering::SeqCst);
    let echoed =
        json!({ "method": method.as_str(), "query": query, "headers": headers, "body": body });
    json_response(StatusCode::OK, echoed.to_string())
}

/// Answers 302 to the URL that is the whole query.
async fn redirect(RawQuery(to): RawQuery) -> Response {
    (
        StatusCode::FOUND,
        [(LOCATION, to.unwrap_or_default())],
        "elsewhere",
    )
        .into_response()
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
    allow_test_servers();
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
    allow_test_servers();
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

/// Expects `params` to be refused for good: the message starts with the request and `refused`,
/// and says each of `says`.
async fn refused(params: Value, says: &[&str]) {
    let error = failure(params.clone()).await;
    assert_eq!(error.kind(), ErrorKind::Terminal, "{params}: {error}");
    let message = error.message();
    assert!(message.contains(": refused "), "{params}: {message}");
    for expected in says {
        assert!(
            message.contains(expected),
            "{params}: `{message}` does not say `{expected}`"
        );
    }
}

#[tokio::test]
async fn non_public_addresses_are_refused_for_good() {
    // A server that would answer, on a loopback address the policy does not allow.
    let server = Server::start_on("127.0.0.2").await;
    let port = server.port();
    refused(
        json!({ "url": server.url("/echo") }),
        &[
            &format!(
                "GET {}: refused `127.0.0.2`: 127.0.0.2 is a loopback address",
                server.url("/echo")
            ),
            "HETUMIND_HTTP_ALLOW can allow it",
        ],
    )
    .await;
    // The same address written every way the URL parser reads it.
    for (url, host, address) in [
        (
            format!("http://2130706434:{port}/echo"),
            "127.0.0.2",
            "127.0.0.2",
        ),
        (
            format!("http://0x7f.0.0.2:{port}/echo"),
            "127.0.0.2",
            "127.0.0.2",
        ),
        (
            format!("http://0177.0.0.02:{port}/echo"),
            "127.0.0.2",
            "127.0.0.2",
        ),
        (
            format!("http://127.2:{port}/echo"),
            "127.0.0.2",
            "127.0.0.2",
        ),
        (
            format!("http://[::ffff:127.0.0.2]:{port}/echo"),
            "[::ffff:7f00:2]",
            "::ffff:127.0.0.2 is a loopback address (IPv4-mapped 127.0.0.2)",
        ),
        (
            format!("http://[::ffff:7f00:2]:{port}/echo"),
            "[::ffff:7f00:2]",
            "IPv4-mapped 127.0.0.2",
        ),
        (
            format!("http://[64:ff9b::7f00:2]:{port}/echo"),
            "[64:ff9b::7f00:2]",
            "NAT64 of 127.0.0.2",
        ),
        (
            format!("http://[::127.0.0.2]:{port}/echo"),
            "[::7f00:2]",
            "deprecated IPv4-compatible address",
        ),
    ] {
        refused(
            json!({ "url": url }),
            &[&format!("refused `{host}`"), address],
        )
        .await;
    }
    assert_eq!(server.echoed(), 0, "no request reached the server");
    // Other classes, each named.
    for (url, says) in [
        ("http://[::1]:9/", "::1 is a loopback address"),
        ("http://0.0.0.0:9/", "0.0.0.0 is an unspecified address"),
        ("http://[::]:9/", ":: is an unspecified address"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is the instance metadata service's link-local address",
        ),
        (
            "http://[fd00:ec2::254]/latest/meta-data/",
            "fd00:ec2::254 is the instance metadata service's",
        ),
        (
            "http://169.254.170.2/v2/credentials",
            "169.254.170.2 is a link-local address",
        ),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        (
            "http://[fd12::1]/",
            "fd12::1 is a unique local (private) address",
        ),
        (
            "http://100.100.100.200/",
            "100.100.100.200 is a shared (carrier-grade NAT) address",
        ),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        (
            "http://255.255.255.255/",
            "255.255.255.255 is the broadcast address",
        ),
        (
            "http://[2002:a00:1::1]/",
            "a private address (6to4 of 10.0.0.1)",
        ),
    ] {
        refused(json!({ "url": url }), &[says, "HETUMIND_HTTP_ALLOW"]).await;
    }
    // Through the engine: the execution fails at once, without retries.
    let run = WorkflowTest::new(workflow(json!({ "url": server.url("/echo") })))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert!(
        run.error().unwrap().contains("refused `127.0.0.2`"),
        "{:?}",
        run.error()
    );
    assert!(run.waits().is_empty());
    assert_eq!(server.echoed(), 0);
}

#[tokio::test]
async fn the_allow_list_allows_its_addresses_ranges_and_no_more() {
    // 127.0.0.1 by address: every other test. 127.0.1.0/24 by range.
    let in_range = Server::start_on("127.0.1.1").await;
    let out = run(json!({ "url": in_range.url("/echo") }), [json!({})]).await;
    assert_eq!(out[0]["status"], 200);
    assert_eq!(in_range.echoed(), 1);
    let out_of_range = Server::start_on("127.0.2.1").await;
    refused(
        json!({ "url": out_of_range.url("/echo") }),
        &["127.0.2.1 is a loopback address"],
    )
    .await;
    assert_eq!(out_of_range.echoed(), 0);
    // A host name reaches the addresses of it that are allowed: `localhost` is 127.0.0.1 (and
    // ::1 on some machines, refused: the client connects to the other).
    let server = Server::start().await;
    let url = format!("http://localhost:{}/echo", server.port());
    let out = run(json!({ "url": url }), [json!({})]).await;
    assert_eq!(out[0]["status"], 200);
    assert_eq!(server.echoed(), 1);
}

#[tokio::test]
async fn every_redirect_is_checked() {
    let server = Server::start().await;
    let target = Server::start_on("127.0.0.2").await;
    let port = target.port();
    for (to, says) in [
        (
            target.url("/echo"),
            "127.0.0.2 is a loopback address".to_owned(),
        ),
        (
            format!("http://[::ffff:127.0.0.2]:{port}/echo"),
            "IPv4-mapped 127.0.0.2".to_owned(),
        ),
        (
            format!("http://2130706434:{port}/echo"),
            "127.0.0.2 is a loopback address".to_owned(),
        ),
        (
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_owned(),
            "instance metadata service".to_owned(),
        ),
        // A redirect that leads to a redirect.
        (
            server.redirect_to(&target.url("/echo")),
            "127.0.0.2 is a loopback address".to_owned(),
        ),
    ] {
        let url = server.redirect_to(&to);
        let error = failure(json!({ "url": url })).await;
        assert_eq!(error.kind(), ErrorKind::Terminal, "{to}: {error}");
        let message = error.message();
        assert!(
            message.starts_with(&format!("GET {url}: refused the redirect to http://")),
            "{message}"
        );
        assert!(
            message.contains(&says),
            "{to}: `{message}` does not say `{says}`"
        );
        assert!(message.contains("HETUMIND_HTTP_ALLOW"), "{message}");
    }
    assert_eq!(target.echoed(), 0, "no redirect reached the refused server");
    // Redirects to allowed places are followed, by address, range and name.
    let in_range = Server::start_on("127.0.1.1").await;
    for to in [
        server.url("/echo"),
        in_range.url("/echo"),
        format!("http://localhost:{}/echo", server.port()),
    ] {
        let out = run(json!({ "url": server.redirect_to(&to) }), [json!({})]).await;
        assert_eq!(out[0]["status"], 200, "{to}");
        assert_eq!(out[0]["body"]["method"], "GET");
    }
    assert_eq!(server.echoed() + in_range.echoed(), 3);
    // Through the engine: failed at once, not retried.
    let run = WorkflowTest::new(workflow(
        json!({ "url": server.redirect_to(&target.url("/echo")) }),
    ))
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert!(
        run.error().unwrap().contains("refused the redirect"),
        "{:?}",
        run.error()
    );
    assert!(run.waits().is_empty());
}

#[tokio::test]
async fn the_runtime_api_is_refused_even_where_loopback_is_allowed() {
    let server = Server::start().await;
    let port = runtime_api_port();
    let next = "/2018-06-01/runtime/invocation/next";
    let says = format!(
        "the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API=127.0.0.1:{port}), which no configuration allows"
    );
    for url in [
        format!("http://127.0.0.1:{port}{next}"),
        format!("http://[::ffff:127.0.0.1]:{port}{next}"),
        format!("http://127.0.0.2:{port}{next}"),
        format!("http://0.0.0.0:{port}{next}"),
        format!("http://[::1]:{port}{next}"),
        format!("http://localhost:{port}{next}"),
        server.redirect_to(&format!("http://127.0.0.1:{port}{next}")),
        server.redirect_to(&format!("http://localhost:{port}{next}")),
    ] {
        let started = Instant::now();
        let error = failure(json!({ "url": url, "timeout_ms": 5000 })).await;
        // Refused before any request: the listener would have held it until the timeout.
        assert!(started.elapsed() < Duration::from_secs(4), "{url}");
        assert_eq!(error.kind(), ErrorKind::Terminal, "{url}: {error}");
        let message = error.message();
        assert!(
            message.contains(&says),
            "{url}: `{message}` does not say `{says}`"
        );
        assert!(!message.contains("HETUMIND_HTTP_ALLOW"), "{message}");
    }
    // Other ports of loopback stay allowed.
    let out = run(json!({ "url": server.url("/echo") }), [json!({})]).await;
    assert_eq!(out[0]["status"], 200);
}

#[test]
fn malformed_allow_lists_name_the_entry() {
    for (list, entry, says) in [
        (
            "127.0.0.1, 10.0.0.0/33",
            "10.0.0.0/33",
            "is not a CIDR range",
        ),
        (
            "localhost:8080",
            "localhost:8080",
            "entries have no scheme or port",
        ),
        (
            "https://api.internal",
            "https://api.internal",
            "entries have no scheme or port",
        ),
        (
            "10.0.0.1,bad host",
            "bad host",
            "is not an IP address, a CIDR range, a host name",
        ),
        ("*", "*", "list `0.0.0.0/0,::/0`"),
        ("10.1", "10.1", "give all four numbers"),
    ] {
        let error = OutboundPolicy::from_env(|name| {
            (name == "HETUMIND_HTTP_ALLOW").then(|| list.to_owned())
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with(&format!("HETUMIND_HTTP_ALLOW: `{entry}` ")) && error.contains(says),
            "{list}: `{error}`"
        );
    }
}

/// The URL `child_requests_with_the_environments_policy` requests: set only in the child
/// processes of `the_allow_list_is_read_from_the_environment`.
const CHILD_URL: &str = "HETUMIND_TEST_CHILD_URL";

/// Run in a child process of this test binary by `the_allow_list_is_read_from_the_environment`:
/// requests `CHILD_URL` with the policy the process reads from its environment (nothing is
/// installed there), and prints the outcome as `OUTCOME {json}`.
#[tokio::test]
#[ignore = "run by the_allow_list_is_read_from_the_environment, in a process of its own"]
async fn child_requests_with_the_environments_policy() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let outcome = match NodeTest::new(KIND)
        .params(json!({ "url": url }))
        .items([json!({})])
        .run()
        .await
    {
        Ok(output) => json!({ "status": output.json(0)[0]["status"] }),
        Err(TestError::Node(error)) => {
            json!({ "error": error.message(), "terminal": error.kind() == ErrorKind::Terminal })
        }
        Err(other) => json!({ "error": other.to_string() }),
    };
    println!("OUTCOME {outcome}");
}

#[tokio::test]
async fn the_allow_list_is_read_from_the_environment() {
    let server = Server::start().await;
    let url = server.url("/echo");
    let by_name = format!("http://localhost:{}/echo", server.port());
    let child = |url: &str, allow: Option<&str>| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "nodes::http::child_requests_with_the_environments_policy",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_URL, url)
            .env_remove("HETUMIND_HTTP_ALLOW")
            .env_remove("AWS_LAMBDA_RUNTIME_API");
        if let Some(allow) = allow {
            command.env("HETUMIND_HTTP_ALLOW", allow);
        }
        async move {
            let output = tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let line = stdout
                .lines()
                .find_map(|line| line.strip_prefix("OUTCOME "))
                .unwrap_or_else(|| panic!("no outcome: {stdout}"));
            serde_json::from_str::<Value>(line).unwrap()
        }
    };
    // Unset: loopback refused, for good, by address or by a name resolving to it.
    let outcome = child(&url, None).await;
    assert_eq!(outcome["terminal"], true, "{outcome}");
    assert!(
        outcome["error"].as_str().unwrap().contains(&format!(
            "GET {url}: refused `127.0.0.1`: 127.0.0.1 is a loopback address"
        )),
        "{outcome}"
    );
    let outcome = child(&by_name, None).await;
    assert_eq!(outcome["terminal"], true, "{outcome}");
    let expected = format!(
        "GET {by_name}: refused `localhost`: it resolves only to refused addresses: 127.0.0.1 is \
         a loopback address"
    );
    assert!(
        outcome["error"].as_str().unwrap().starts_with(&expected),
        "{outcome}"
    );
    assert_eq!(server.echoed(), 0);
    // Set: allowed by address, by range, by name; a name allows no address by itself.
    for (target, allow) in [
        (&url, "10.0.0.0/8,127.0.0.1"),
        (&url, "127.0.0.0/8"),
        (&by_name, "localhost"),
    ] {
        let outcome = child(target, Some(allow)).await;
        assert_eq!(outcome, json!({ "status": 200 }), "{target} with {allow}");
    }
    assert_eq!(server.echoed(), 3);
    let outcome = child(&url, Some("localhost")).await;
    assert!(
        outcome["error"]
            .as_str()
            .unwrap()
            .contains("refused `127.0.0.1`"),
        "{outcome}"
    );
    // Malformed: every request fails, naming the entry.
    let outcome = child(&url, Some("127.0.0.1, 127.0.0.0/40")).await;
    assert_eq!(outcome["terminal"], true, "{outcome}");
    assert_eq!(
        outcome["error"],
        format!(
            "GET {url}: HETUMIND_HTTP_ALLOW: `127.0.0.0/40` is not a CIDR range (an IP address, `/`, a prefix length: `10.0.0.0/8`, `fd00::/8`)"
        )
    );
    assert_eq!(server.echoed(), 3);
}
