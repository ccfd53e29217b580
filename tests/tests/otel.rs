//! OpenTelemetry traces (the `otel` feature, which this crate's tests enable): the test
//! binary as a real Lambda function process exports its spans over OTLP/HTTP to a receiver this
//! test runs on loopback, decoding each request with the protocol's generated types. A
//! workflow with a retry and a wait for a signal takes two invocations; its spans form one trace
//! (the one a `traceparent` in the request's metadata names, or one of its own) and the tree
//! invocation → execution → node, with their attributes.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode as SpanStatus;
use prost::Message;
use serde_json::{Value, json};

#[path = "support/runtime_api.rs"]
mod runtime_api;

use runtime_api::{Function, RuntimeApi, answer as response};

const FUNCTION: &str = env!("CARGO_BIN_EXE_hetumind-test");

/// The caller's trace and span, as its `traceparent` names them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// The spans received, and the requests that were not well-formed OTLP/HTTP protobuf.
#[derive(Clone, Default)]
struct Received {
    spans: Arc<Mutex<Vec<Span>>>,
    malformed: Arc<Mutex<Vec<String>>>,
}

/// An OTLP/HTTP receiver on 127.0.0.1 and a free port: `POST /v1/traces` with a protobuf
/// `ExportTraceServiceRequest`.
async fn receiver() -> (String, Received) {
    async fn traces(
        State(received): State<Received>,
        headers: axum::http::HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let content_type = headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if content_type != "application/x-protobuf" {
            received.malformed.lock().unwrap().push(content_type);
            return StatusCode::UNSUPPORTED_MEDIA_TYPE;
        }
        match ExportTraceServiceRequest::decode(body) {
            Ok(request) => {
                let mut spans = received.spans.lock().unwrap();
                for resource in request.resource_spans {
                    for scope in resource.scope_spans {
                        spans.extend(scope.spans);
                    }
                }
                StatusCode::OK
            }
            Err(error) => {
                received.malformed.lock().unwrap().push(error.to_string());
                StatusCode::BAD_REQUEST
            }
        }
    }
    let received = Received::default();
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}"), received)
}

/// `Flaky` fails its first attempt and succeeds on the retry (10 ms later, within the
/// invocation); `Approval` then waits for a signal, which a second invocation brings.
fn workflow() -> Value {
    json!({ "id": "traced", "nodes": [
        { "name": "Flaky", "kind": "test.fails_once",
          "retry": { "max_attempts": 2, "initial_interval_ms": 10, "jitter": "none" } },
        { "name": "Approval", "kind": "test.signal", "parameters": null }
    ], "connections": { "Flaky": { "main": [[{ "node": "Approval" }]] } } })
}

/// A span's attribute, as a string (integers and booleans written out).
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            AnyValue::StringValue(text) => text.clone(),
            AnyValue::IntValue(number) => number.to_string(),
            AnyValue::BoolValue(flag) => flag.to_string(),
            other => format!("{other:?}"),
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The spans of one execution, by name, checked to form one trace and the tree
/// invocation → execution → node over `invocations` invocations; answers the trace id and
/// the node spans.
fn execution_tree<'a>(
    spans: &'a [Span],
    execution_id: &str,
    invocations: usize,
) -> (Vec<u8>, &'a Span, Vec<&'a Span>) {
    let of = |name: &str| -> Vec<&Span> {
        spans
            .iter()
            .filter(|span| {
                span.name == name
                    && attribute(span, "execution_id").as_deref() == Some(execution_id)
            })
            .collect()
    };
    let (invocation_spans, execution_spans, node_spans) =
        (of("invocation"), of("execution"), of("node"));
    assert_eq!(invocation_spans.len(), invocations, "{spans:#?}");
    assert_eq!(execution_spans.len(), invocations, "{spans:#?}");
    let trace_id = invocation_spans[0].trace_id.clone();
    assert_eq!(trace_id.len(), 16);
    let by_id: HashMap<&[u8], &Span> = spans
        .iter()
        .map(|span| (span.span_id.as_slice(), span))
        .collect();
    for span in invocation_spans
        .iter()
        .chain(&execution_spans)
        .chain(&node_spans)
    {
        assert_eq!(span.trace_id, trace_id, "one trace: {span:#?}");
    }
    for invocation in &invocation_spans {
        assert!(
            attribute(invocation, "faas.invocation_id")
                .unwrap()
                .starts_with("request-"),
            "{invocation:#?}"
        );
        assert!(attribute(invocation, "faas.coldstart").is_some());
    }
    for execution in &execution_spans {
        let parent = by_id[execution.parent_span_id.as_slice()];
        assert_eq!(parent.name, "invocation", "{execution:#?}");
        assert_eq!(
            attribute(execution, "workflow_id").as_deref(),
            Some("traced")
        );
    }
    for node in &node_spans {
        let parent = by_id[node.parent_span_id.as_slice()];
        assert_eq!(parent.name, "execution", "{node:#?}");
        assert_eq!(attribute(node, "workflow_id").as_deref(), Some("traced"));
        assert_eq!(
            attribute(node, "items_in").as_deref(),
            Some("1"),
            "{node:#?}"
        );
    }
    (trace_id, invocation_spans[0], node_spans)
}

/// The node spans of `node`, by attempt.
fn attempts<'a>(nodes: &[&'a Span], node: &str) -> Vec<&'a Span> {
    let mut runs: Vec<&Span> = nodes
        .iter()
        .copied()
        .filter(|span| attribute(span, "node").as_deref() == Some(node))
        .collect();
    runs.sort_by_key(|span| span.start_time_unix_nano);
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_is_one_trace_of_invocations_executions_and_node_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (endpoint, received) = receiver().await;
    let api = RuntimeApi::start().await;
    let _function = Function(
        api.function(FUNCTION)
            .env("HETUMIND_STATE", format!("file://{}", dir.path().display()))
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .env("OTEL_SERVICE_NAME", "otel-test")
            .spawn()
            .unwrap(),
    );
    let budget = Duration::from_secs(20);
    // Each execution: the start (retry, then the wait for a signal), then the signal.
    let run = async |execution_id: &str, metadata: Value| {
        let start = json!({ "request_type": "execute_workflow", "workflow": workflow(),
            "execution_id": execution_id, "metadata": metadata });
        let waiting = response(api.invoke(start, budget).await);
        assert_eq!(waiting["next_action"]["type"], "await_signal", "{waiting}");
        let signal = json!({ "request_type": "resume_execution",
            "execution_id": execution_id, "node_name": "Approval" });
        let done = response(api.invoke(signal, budget).await);
        assert_eq!(done["next_action"], json!({ "type": "complete" }), "{done}");
    };
    run(
        "traced-1",
        json!({ "traceparent": format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01") }),
    )
    .await;
    // A malformed `traceparent` is ignored: the execution starts a trace of its own.
    run("traced-2", json!({ "traceparent": "00-not-a-trace-01" })).await;
    // The trace is kept with the execution.
    let state: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("executions/traced-1/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        state["trace"],
        json!({ "trace_id": TRACE_ID, "parent_span_id": PARENT_SPAN_ID })
    );
    // Each invocation flushed its spans before it answered.
    let spans = received.spans.lock().unwrap().clone();
    assert!(received.malformed.lock().unwrap().is_empty());

    // The caller's trace, under the caller's span, across both invocations.
    let (trace_id, _, nodes) = execution_tree(&spans, "traced-1", 2);
    assert_eq!(hex(&trace_id), TRACE_ID);
    for invocation in spans.iter().filter(|span| {
        span.name == "invocation" && attribute(span, "execution_id").as_deref() == Some("traced-1")
    }) {
        assert_eq!(hex(&invocation.parent_span_id), PARENT_SPAN_ID);
    }
    // The retried node: attempt 1 failed, attempt 2 emitted its item.
    let flaky = attempts(&nodes, "Flaky");
    assert_eq!(flaky.len(), 2, "{flaky:#?}");
    assert_eq!(attribute(flaky[0], "attempt").as_deref(), Some("1"));
    assert_eq!(
        attribute(flaky[0], "error").as_deref(),
        Some("the first attempt fails")
    );
    let status = flaky[0].status.as_ref().unwrap();
    assert_eq!(status.code, SpanStatus::Error as i32, "{:#?}", flaky[0]);
    assert_eq!(
        attribute(flaky[0], "kind").as_deref(),
        Some("test.fails_once")
    );
    assert_eq!(attribute(flaky[1], "attempt").as_deref(), Some("2"));
    assert_eq!(attribute(flaky[1], "items_out").as_deref(), Some("1"));
    assert_eq!(attribute(flaky[1], "error"), None);
    assert_ne!(
        flaky[1].status.as_ref().map(|status| status.code),
        Some(SpanStatus::Error as i32)
    );
    // The wait: parked in the first invocation (neither output nor error), done in the second,
    // under the execution span of another invocation.
    let approval = attempts(&nodes, "Approval");
    assert_eq!(approval.len(), 2, "{approval:#?}");
    assert_eq!(attribute(approval[0], "items_out"), None);
    assert_eq!(attribute(approval[0], "error"), None);
    assert_eq!(attribute(approval[1], "items_out").as_deref(), Some("1"));
    assert_ne!(approval[0].parent_span_id, approval[1].parent_span_id);

    // A trace of its own: the invocations are its root spans, one trace id across both.
    let (own_trace, _, nodes) = execution_tree(&spans, "traced-2", 2);
    assert_ne!(hex(&own_trace), TRACE_ID);
    for invocation in spans.iter().filter(|span| {
        span.name == "invocation" && attribute(span, "execution_id").as_deref() == Some("traced-2")
    }) {
        assert!(invocation.parent_span_id.is_empty(), "{invocation:#?}");
    }
    assert_eq!(attempts(&nodes, "Flaky").len(), 2);

    // Nothing else is exported (the Lambda runtime's own span would be a trace of its own).
    for span in &spans {
        assert!(
            span.trace_id == trace_id || span.trace_id == own_trace,
            "{span:#?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_endpoint_delays_no_invocation_and_fails_none() {
    // A port nobody listens on: bound, then freed.
    let endpoint = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let dir = tempfile::tempdir().unwrap();
    let api = RuntimeApi::start().await;
    let _function = Function(
        api.function(FUNCTION)
            .env("HETUMIND_STATE", format!("file://{}", dir.path().display()))
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
            .spawn()
            .unwrap(),
    );
    let start = json!({ "request_type": "execute_workflow",
        "workflow": { "id": "e", "nodes": [{ "name": "E", "kind": "test.echo" }] },
        "input_data": [{ "json": { "n": 1 } }] });
    let began = std::time::Instant::now();
    let done = response(api.invoke(start, Duration::from_secs(20)).await);
    assert_eq!(done["next_action"], json!({ "type": "complete" }), "{done}");
    assert_eq!(done["output_data"][0]["json"], json!({ "n": 1 }));
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
}
