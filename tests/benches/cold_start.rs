//! Benchmark: Lambda cold start of a Hetumind function against a bare `lambda_runtime` function.
//! Targets: init at most 1.25x the bare function's with the S3 store configured; the first
//! response to a 5-node workflow at most 2x the bare function's first (echo) response. The
//! first response is judged on `mem://`, so that it measures the SDK (init, engine, response)
//! and not the latency of a store's writes, which any code that persists pays alike; the
//! figure on `file://` is printed too.
//!
//! Both are real processes (built with the `cargo bench` profile, and non-PIE as the guide
//! recommends for Lambda binaries: tests/build.rs) started against the Runtime
//! API emulator of the tests, one fresh process and emulator per measurement, alternating
//! between the two binaries so that machine noise hits both alike. Init is the time from spawn
//! to the function's first `GET /runtime/invocation/next` (what Lambda reports as init
//! duration, plus exec); the first response is the time from spawn until the first invocation's
//! response arrives. The S3 store points at an address where nothing listens: a function that
//! touched the network during init would fail or stall there.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way (such as by
//! `cargo test --benches`) it does a quick smoke run.
//!
//! The first response is also measured with `OTEL_EXPORTER_OTLP_ENDPOINT` naming an OTLP/HTTP
//! receiver the bench runs (answering every export at once): with the `otel` feature, which this
//! crate's tests enable, the spans are exported and flushed within the invocation; built without
//! it, the variable changes nothing. `HETUMIND_COLD_START_BINARY` names another Hetumind
//! function to measure than the test binary, such as one built without the feature.
//!
//! And with `HETUMIND_INDEX` naming a PostgreSQL cluster the bench starts (as the index tests
//! do; skipped with a message when PostgreSQL is not installed): init must not change, since
//! nothing connects before the first write; the first response pays the connection, the
//! schema check and the execution's two row writes.

// The emulator is test code: it states its expectations with unwrap.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "../tests/support/runtime_api.rs"]
mod runtime_api;

#[path = "../tests/support/postgres.rs"]
mod postgres;

use runtime_api::{Function, Outcome, RuntimeApi};

const HETUMIND: &str = env!("CARGO_BIN_EXE_hetumind-test");
const BARE: &str = env!("CARGO_BIN_EXE_hello-lambda");

const INIT_TARGET: f64 = 1.25;
const FIRST_RESPONSE_TARGET: f64 = 2.0;

/// What one process start measured.
struct Start {
    init: Duration,
    first_response: Duration,
}

/// A function process just spawned against its own emulator.
struct Spawned {
    api: RuntimeApi,
    _function: Function,
    at: Instant,
}

async fn spawn(binary: &str, env: &[(&str, String)]) -> Spawned {
    let api = RuntimeApi::start().await;
    let mut command = api.function(binary);
    command.envs(env.iter().map(|(key, value)| (*key, value)));
    let at = Instant::now();
    let function = Function(command.spawn().expect("the function starts"));
    Spawned {
        api,
        _function: function,
        at,
    }
}

/// Starts `binary` as a function with `env`, invokes it once with `event`, and times both.
async fn start(binary: &str, env: &[(&str, String)], event: Value) -> Start {
    let spawned = spawn(binary, env).await;
    let outcome = spawned.api.invoke(event, Duration::from_secs(30)).await;
    let first_response = spawned.at.elapsed();
    assert!(
        matches!(outcome, Outcome::Response(_)),
        "{binary} failed: {outcome:?}"
    );
    let init = spawned
        .api
        .first_poll()
        .expect("the function asked for an event")
        .duration_since(spawned.at);
    Start {
        init,
        first_response,
    }
}

/// Starts `binary` and returns its init time, without invoking it.
async fn start_init_only(binary: &str, env: &[(&str, String)]) -> Duration {
    let spawned = spawn(binary, env).await;
    let waited = Instant::now();
    loop {
        if let Some(polled) = spawned.api.first_poll() {
            return polled.duration_since(spawned.at);
        }
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "{binary} never asked for an event"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

fn verdict(ratio: f64, target: f64, full: bool) -> &'static str {
    match (full, ratio <= target) {
        (false, _) => "no verdict in a quick smoke run (pass --bench to measure)",
        (true, true) => "PASS",
        (true, false) => "FAIL",
    }
}

/// A chain of five echo nodes.
fn five_nodes() -> Value {
    let names = ["One", "Two", "Three", "Four", "Five"];
    let nodes: Vec<Value> = names
        .iter()
        .map(|name| json!({ "name": name, "kind": "test.echo" }))
        .collect();
    let connections: serde_json::Map<String, Value> = names
        .windows(2)
        .map(|pair| {
            (
                pair[0].to_owned(),
                json!({ "main": [[{ "node": pair[1] }]] }),
            )
        })
        .collect();
    json!({
        "request_type": "execute_workflow",
        "workflow": { "id": "five", "nodes": nodes, "connections": connections },
        "input_data": [{ "json": { "hello": "world" } }]
    })
}

/// An OTLP/HTTP receiver on 127.0.0.1 and a free port that accepts every export; its base URL.
async fn otlp_receiver() -> String {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(|_: axum::body::Bytes| async { axum::http::StatusCode::OK }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{address}")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let chosen = std::env::var("HETUMIND_COLD_START_BINARY").ok();
    let hetumind = chosen.as_deref().unwrap_or(HETUMIND);
    let rounds = if full { 31 } else { 2 };
    let dir = std::env::temp_dir().join(format!("hetumind-cold-start-{}", std::process::id()));

    let s3 = [
        ("HETUMIND_STATE", "s3://cold-start/prefix".to_owned()),
        // Nothing listens on port 9: any request during init would fail.
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "cold".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "start".to_owned()),
    ];
    let file = [("HETUMIND_STATE", format!("file://{}", dir.display()))];
    let memory = [("HETUMIND_STATE", "mem://".to_owned())];
    let traced = [
        ("HETUMIND_STATE", "mem://".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver().await),
    ];
    let server = postgres::Postgres::start();
    let indexed = server.as_ref().map(|server| {
        [
            ("HETUMIND_STATE", "mem://".to_owned()),
            ("HETUMIND_INDEX", server.url.clone()),
        ]
    });
    let (mut bare, mut init_s3) = (Vec::new(), Vec::new());
    let (mut first_memory, mut first_file, mut first_traced) = (Vec::new(), Vec::new(), Vec::new());
    let mut first_indexed = Vec::new();
    for round in 0..rounds {
        bare.push(start(BARE, &[], json!({ "hello": round })).await);
        init_s3.push(start_init_only(hetumind, &s3).await);
        first_memory.push(start(hetumind, &memory, five_nodes()).await);
        first_file.push(start(hetumind, &file, five_nodes()).await);
        first_traced.push(start(hetumind, &traced, five_nodes()).await);
        if let Some(indexed) = &indexed {
            first_indexed.push(start(hetumind, indexed, five_nodes()).await);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    let bare_init = median(bare.iter().map(|start| start.init).collect());
    let hetumind_init = median(init_s3);
    let hetumind_init_file = median(first_file.iter().map(|start| start.init).collect());
    let first_response =
        |starts: &[Start]| median(starts.iter().map(|start| start.first_response).collect());
    let bare_first = first_response(&bare);
    let hetumind_first = first_response(&first_memory);
    let hetumind_first_file = first_response(&first_file);
    let init_ratio = hetumind_init.as_secs_f64() / bare_init.as_secs_f64();
    let first_ratio = hetumind_first.as_secs_f64() / bare_first.as_secs_f64();
    println!("cold_start: medians of {rounds} process starts each, alternating");
    println!(
        "cold_start: init: bare lambda_runtime {}, Hetumind with s3:// configured {} \
         (file:// {}): {init_ratio:.2}x, target <= {INIT_TARGET}x: {}",
        millis(bare_init),
        millis(hetumind_init),
        millis(hetumind_init_file),
        verdict(init_ratio, INIT_TARGET, full),
    );
    println!(
        "cold_start: first response: bare echo {}, Hetumind 5-node workflow on mem:// {}: \
         {first_ratio:.2}x, target <= {FIRST_RESPONSE_TARGET}x: {}",
        millis(bare_first),
        millis(hetumind_first),
        verdict(first_ratio, FIRST_RESPONSE_TARGET, full),
    );
    println!(
        "cold_start: first response on file:// (every node's output and the state fsynced): {}",
        millis(hetumind_first_file),
    );
    let traced = median(first_traced.iter().map(|start| start.init).collect());
    println!(
        "cold_start: with OTEL_EXPORTER_OTLP_ENDPOINT set (mem://): init {}, first response {} \
         (the spans exported and flushed, with the otel feature)",
        millis(traced),
        millis(first_response(&first_traced)),
    );
    if !first_indexed.is_empty() {
        let init = |starts: &[Start]| median(starts.iter().map(|start| start.init).collect());
        println!(
            "cold_start: with HETUMIND_INDEX (a local PostgreSQL, mem://): init {} (without: {}), \
             first response {} (without: {}): the connection, the schema check and two row writes",
            millis(init(&first_indexed)),
            millis(init(&first_memory)),
            millis(first_response(&first_indexed)),
            millis(hetumind_first),
        );
    }
}
