//! `core.http_request`'s outbound policy as a deployed function has it: from its environment
//! (`HETUMIND_HTTP_ALLOW`, `AWS_LAMBDA_RUNTIME_API`), through the test binary as a child
//! process, against real servers on loopback. Unset, the list refuses them all; set, it allows
//! what it lists; malformed, it fails the request naming the entry; proxies from the
//! environment are not used; under Lambda the Runtime API is refused even where loopback is
//! allowed. The binary is the examples function, which links every built-in node.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header::{CONTENT_TYPE, LOCATION};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::any;
use serde_json::{Value, json};

#[path = "../../tests/tests/support/runtime_api.rs"]
mod runtime_api;

use runtime_api::{Function, Outcome, RuntimeApi};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-examples");

/// A server on a free port of `address` that counts the requests it gets and answers them
/// with `{"ok": true}`, except `/redirect?URL`, answered 302 to `URL`.
struct Server {
    base: String,
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    async fn start(address: &str) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let router = Router::new().fallback(any(move |uri: Uri| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match (uri.path(), uri.query()) {
                    ("/redirect", Some(to)) => {
                        (StatusCode::FOUND, [(LOCATION, to.to_owned())], "").into_response()
                    }
                    _ => ([(CONTENT_TYPE, "application/json")], r#"{"ok":true}"#).into_response(),
                }
            }
        }));
        let listener = tokio::net::TcpListener::bind((address, 0)).await.unwrap();
        let bound = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base: format!("http://{bound}"),
            port: bound.port(),
            hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// A workflow of one `core.http_request` to `url`, not retried.
fn workflow(url: &str) -> Value {
    json!({ "id": "call", "nodes": [{
        "name": "Call", "kind": "core.http_request",
        "parameters": { "url": url, "timeout_ms": 3000 },
        "retry": { "max_attempts": 1 }
    }] })
}

/// Runs `workflow(url)` with `hetumind-examples run --json`, with `allow` as `HETUMIND_HTTP_ALLOW`
/// (`None`: unset) and the other variables of `env`; the response and the process's output.
async fn run(url: &str, allow: Option<&str>, env: &[(&str, String)]) -> (Value, Output) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("workflow.json");
    std::fs::write(&file, workflow(url).to_string()).unwrap();
    let mut command = Command::new(BIN);
    command
        .arg("run")
        .arg(&file)
        .arg("--json")
        .env(
            "HETUMIND_STATE",
            format!("file://{}", dir.path().join("state").display()),
        )
        .env_remove("HETUMIND_TRIGGERS")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("HETUMIND_HTTP_ALLOW");
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    if let Some(allow) = allow {
        command.env("HETUMIND_HTTP_ALLOW", allow);
    }
    command.envs(env.iter().map(|(name, value)| (name, value)));
    // The servers run on this test's runtime: wait for the process off it.
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let response = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: {}\n{stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (response, output)
}

/// Expects the run to have succeeded with the server's answer.
fn succeeded(response: &Value, output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{response}");
    assert_eq!(response["status"], "success", "{response}");
    assert_eq!(
        response["output_data"][0]["json"]["status"], 200,
        "{response}"
    );
    assert_eq!(
        response["output_data"][0]["json"]["body"],
        json!({ "ok": true })
    );
}

/// Expects the run to have failed with an error that says each of `says`.
fn failed(response: &Value, output: &Output, says: &[&str]) {
    assert_eq!(output.status.code(), Some(1), "{response}");
    assert_eq!(response["status"], "failed", "{response}");
    let error = response["error"].as_str().unwrap();
    for expected in says {
        assert!(
            error.contains(expected),
            "`{error}` does not say `{expected}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_refused_unless_the_environment_allows_it() {
    let server = Server::start("127.0.0.1").await;
    let url = format!("{}/data", server.base);

    let (response, output) = run(&url, None, &[]).await;
    failed(
        &response,
        &output,
        &[
            &format!("GET {url}: refused `127.0.0.1`: 127.0.0.1 is a loopback address"),
            "HETUMIND_HTTP_ALLOW can allow it",
        ],
    );
    let (response, output) = run(&url, Some(""), &[]).await;
    failed(&response, &output, &["refused `127.0.0.1`"]);
    assert_eq!(server.hits(), 0, "nothing reached the server");

    // By address, and by a range holding it.
    for allow in ["127.0.0.1", "10.0.0.0/8, 127.0.0.0/8", "[::1], 127.0.0.1 ,"] {
        let (response, output) = run(&url, Some(allow), &[]).await;
        succeeded(&response, &output);
    }
    assert_eq!(server.hits(), 3);
    // Another address, or a range without it, does not allow it.
    for allow in ["127.0.0.2", "127.0.1.0/24", "localhost"] {
        let (response, output) = run(&url, Some(allow), &[]).await;
        failed(&response, &output, &["refused `127.0.0.1`"]);
    }
    assert_eq!(server.hits(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_name_is_judged_by_its_addresses_or_allowed_by_name() {
    let server = Server::start("127.0.0.1").await;
    let url = format!("http://localhost:{}/data", server.port);

    let (response, output) = run(&url, None, &[]).await;
    failed(
        &response,
        &output,
        &[
            &format!("GET {url}: refused `localhost`: it resolves only to refused addresses"),
            "127.0.0.1 is a loopback address",
            "HETUMIND_HTTP_ALLOW can allow it",
        ],
    );
    assert_eq!(server.hits(), 0);
    for allow in ["localhost", "LOCALHOST.", "127.0.0.1", "127.0.0.0/8"] {
        let (response, output) = run(&url, Some(allow), &[]).await;
        succeeded(&response, &output);
    }
    assert_eq!(server.hits(), 4);
    // Another name does not allow it.
    let (response, output) = run(&url, Some("*.localhost, example.com"), &[]).await;
    failed(&response, &output, &["refused `localhost`"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_allow_list_fails_naming_the_entry() {
    let server = Server::start("127.0.0.1").await;
    let url = format!("{}/data", server.base);
    for (allow, says) in [
        (
            "127.0.0.1, 10.0.0.0/33",
            "HETUMIND_HTTP_ALLOW: `10.0.0.0/33` is not a CIDR range",
        ),
        (
            "127.0.0.1:8080",
            "HETUMIND_HTTP_ALLOW: `127.0.0.1:8080` is not an IP address",
        ),
        ("*", "HETUMIND_HTTP_ALLOW: `*` is not an IP address"),
    ] {
        let (response, output) = run(&url, Some(allow), &[]).await;
        failed(&response, &output, &[&format!("GET {url}: {says}")]);
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_from_the_environment_are_not_used() {
    let server = Server::start("127.0.0.1").await;
    let proxy = Server::start("127.0.0.1").await;
    let url = format!("{}/data", server.base);
    let env: Vec<(&str, String)> = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .into_iter()
        .map(|name| (name, proxy.base.clone()))
        .collect();

    // Through the proxy, the proxy would resolve the name and reach the refused address: it is
    // not used, the name is resolved and refused here.
    let by_name = format!("http://localhost:{}/data", server.port);
    let (response, output) = run(&by_name, None, &env).await;
    failed(&response, &output, &["refused `localhost`"]);
    let (response, output) = run(&url, None, &env).await;
    failed(&response, &output, &["refused `127.0.0.1`"]);
    // Allowed: straight to the server.
    let (response, output) = run(&url, Some("127.0.0.1"), &env).await;
    succeeded(&response, &output);
    assert_eq!((server.hits(), proxy.hits()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_is_refused_under_lambda_even_where_loopback_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start("127.0.0.1").await;
    let api = RuntimeApi::start().await;
    let _function = Function(
        api.function(BIN)
            .env("HETUMIND_STATE", format!("file://{}", dir.path().display()))
            .env("HETUMIND_HTTP_ALLOW", "127.0.0.0/8, localhost")
            .env_remove("HETUMIND_TRIGGERS")
            .spawn()
            .unwrap(),
    );
    let invoke = |id: &str, url: String| {
        let request = json!({
            "request_type": "execute_workflow",
            "workflow": workflow(&url),
            "execution_id": id
        });
        api.invoke(request, Duration::from_secs(20))
    };
    let response = |outcome: Outcome| match outcome {
        Outcome::Response(value) => value,
        Outcome::Error {
            error_type,
            message,
        } => panic!("{error_type}: {message}"),
    };

    // Loopback is allowed...
    let done = response(invoke("allowed", format!("{}/data", server.base)).await);
    assert_eq!(done["status"], "success", "{done}");
    assert_eq!(server.hits(), 1);
    // ... but not the Runtime API: a workflow would take the next event, or answer this one.
    let port = api.address.port();
    let says = format!(
        "the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API={}), which no configuration allows",
        api.address
    );
    let next = "/2018-06-01/runtime/invocation/next";
    for (id, url) in [
        ("literal", format!("http://{}{next}", api.address)),
        ("mapped", format!("http://[::ffff:127.0.0.1]:{port}{next}")),
        ("name", format!("http://localhost:{port}{next}")),
        (
            "redirect",
            format!("{}/redirect?http://{}{next}", server.base, api.address),
        ),
        (
            "redirect-name",
            format!("{}/redirect?http://localhost:{port}{next}", server.base),
        ),
    ] {
        let done = response(invoke(id, url.clone()).await);
        assert_eq!(done["status"], "failed", "{url}: {done}");
        let error = done["error"].as_str().unwrap();
        assert!(
            error.contains(&says),
            "{url}: `{error}` does not say `{says}`"
        );
        assert!(!error.contains("HETUMIND_HTTP_ALLOW"), "{error}");
    }
    // The function still serves its invocations: none was taken by a workflow.
    let done = response(invoke("after", format!("{}/data", server.base)).await);
    assert_eq!(done["status"], "success", "{done}");
}
