//! The HTTP trigger refuses bad requests before any execution starts: a method the workflow's
//! `core.webhook_trigger` does not accept (405 with `Allow`), and requests its `auth` does not
//! authenticate: a static API key, or an HMAC-SHA256 signature over the timestamp and raw body
//! with a replay window (401 without a credential, 403 with a wrong or expired one, 500 when
//! the function lacks the secret). Driven through `Handler::handle` with API Gateway events,
//! and through `invoke` on the command line with the secret in the process environment.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use hetumind::config::{Config, Triggers};
use hetumind::engine::Engine;
use hetumind::lambda::Handler;
use hetumind::model::Workflow;
use hetumind::store::{Condition, MemStore, StateStore, workflow_key};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[path = "support/events.rs"]
mod events;

// The built-in nodes, core.webhook_trigger among them.
use hetumind_nodes as _;

/// The secret every test configures; no answer may ever hold it.
const SECRET: &str = "s3cr3t-ORDERS-value-9f2c";
/// The variable holding it.
const SECRET_VAR: &str = "ORDERS_WEBHOOK_SECRET";

/// A workflow `hook` whose only node is a `core.webhook_trigger` with `parameters`: its answer
/// is the request the trigger passes on.
fn hook(parameters: &Value) -> Workflow {
    serde_json::from_value(json!({
        "id": "hook",
        "nodes": [{ "name": "Hook", "kind": "core.webhook_trigger", "parameters": parameters }]
    }))
    .unwrap()
}

/// A handler for workflow `hook` with `parameters`, mapped to the HTTP trigger, reading
/// secrets from `env` (not the process environment); and its store.
async fn setup(parameters: &Value, env: &[(&str, &str)]) -> (Handler, Arc<MemStore>) {
    let store = Arc::new(MemStore::new());
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store.clone());
    engine.put_workflow(&hook(parameters)).await.unwrap();
    (handler_on(engine, env), store)
}

fn handler_on(engine: Engine, env: &[(&str, &str)]) -> Handler {
    let triggers = Config::triggers(&|name: &str| {
        (name == "HETUMIND_TRIGGERS").then(|| r#"{"http":"hook"}"#.to_owned())
    })
    .unwrap();
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    Handler::new(engine, triggers).with_secret_env(move |name| env.get(name).cloned())
}

/// An API Gateway REST (payload 1.0) request `METHOD /orders` with `headers` and `body`
/// (base64-encoded in the event when `base64`).
fn rest(method: &str, headers: &Value, body: &[u8], base64: bool) -> Value {
    let body = if base64 {
        base64::engine::general_purpose::STANDARD.encode(body)
    } else {
        String::from_utf8(body.to_vec()).unwrap()
    };
    json!({
        "resource": "/orders", "path": "/orders", "httpMethod": method,
        "headers": headers, "multiValueHeaders": {},
        "queryStringParameters": null, "multiValueQueryStringParameters": null,
        "pathParameters": null, "stageVariables": null,
        "requestContext": { "accountId": "1", "resourceId": "r", "stage": "prod",
            "requestId": "req", "identity": {}, "resourcePath": "/orders",
            "httpMethod": method, "apiId": "a" },
        "body": body, "isBase64Encoded": base64
    })
}

/// `sha256=` and the hex of HMAC-SHA256(`secret`, `"{timestamp}.{body}"`), as a caller signs.
fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Signed headers for `body` at `timestamp`.
fn signed(timestamp: i64, body: &[u8]) -> Value {
    json!({
        "Content-Type": "application/json",
        "X-Hetumind-Timestamp": timestamp.to_string(),
        "X-Hetumind-Signature": sign(SECRET, timestamp, body),
    })
}

fn hmac_params() -> Value {
    json!({ "methods": ["POST"], "auth": { "scheme": "hmac_sha256", "secret": { "env": SECRET_VAR } } })
}

fn api_key_params() -> Value {
    json!({ "auth": { "scheme": "api_key", "header": "X-Orders-Key", "secret": { "env": SECRET_VAR } } })
}

/// Every key in the store but the stored workflows: what executions wrote.
async fn execution_keys(store: &MemStore) -> Vec<String> {
    store
        .list("")
        .await
        .unwrap()
        .into_iter()
        .filter(|key| !key.starts_with("workflows/"))
        .collect()
}

/// Everything the store holds, as text.
async fn stored_text(store: &MemStore) -> String {
    let mut text = String::new();
    for key in store.list("").await.unwrap() {
        if let Some(stored) = store.get(&key).await.unwrap() {
            text.push_str(&String::from_utf8_lossy(&stored.bytes));
        }
    }
    text
}

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
}

/// Sends `event`; asserts the answer is `status` with an `error` naming each of `mentions`
/// and never the secret, and that no execution was started.
async fn refused(
    handler: &Handler,
    store: &MemStore,
    event: Value,
    status: u16,
    mentions: &[&str],
) -> Value {
    let answer = handler.handle(event, 0).await.unwrap();
    assert_eq!(answer["statusCode"], status, "{answer}");
    let error = body(&answer)["error"].as_str().unwrap().to_owned();
    for mention in mentions {
        assert!(error.contains(mention), "`{mention}` not in: {error}");
    }
    assert!(!answer.to_string().contains(SECRET), "{answer}");
    assert_eq!(
        execution_keys(store).await,
        Vec::<String>::new(),
        "{answer}"
    );
    answer
}

/// Sends `event`; asserts it is answered 200 and returns the request the trigger passed on.
async fn accepted(handler: &Handler, event: Value) -> Value {
    let answer = handler.handle(event, 0).await.unwrap();
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert!(!answer.to_string().contains(SECRET), "{answer}");
    body(&answer)[0].clone()
}

// ---------------------------------------------------------------------------------------------
// Methods

#[tokio::test]
async fn a_method_the_trigger_does_not_accept_is_405_with_allow_and_starts_nothing() {
    let (handler, store) = setup(&json!({ "methods": ["POST", "PUT"] }), &[]).await;
    let answer = refused(
        &handler,
        &store,
        rest("GET", &json!({}), b"", false),
        405,
        &["`GET`", "POST, PUT"],
    )
    .await;
    assert_eq!(answer["headers"]["allow"], "POST, PUT", "{answer}");
    assert_eq!(body(&answer)["error_type"], "Hetumind.MethodNotAllowed");
    // Before authentication: a refused method needs no credential.
    let (handler, store) = setup(
        &json!({ "methods": ["POST"], "auth": api_key_params()["auth"] }),
        &[(SECRET_VAR, SECRET)],
    )
    .await;
    let answer = refused(
        &handler,
        &store,
        rest("DELETE", &json!({}), b"", false),
        405,
        &["`DELETE`"],
    )
    .await;
    assert_eq!(answer["headers"]["allow"], "POST", "{answer}");

    // An accepted method, in any case, starts the workflow.
    let (handler, store) = setup(&json!({ "methods": ["POST", "PUT"] }), &[]).await;
    let request = accepted(&handler, rest("put", &json!({}), b"{}", false)).await;
    assert_eq!(request["method"], "put");
    assert!(!execution_keys(&store).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// API keys

#[tokio::test]
async fn an_api_key_missing_is_401_wrong_is_403_right_is_accepted_and_redacted() {
    let (handler, store) = setup(&api_key_params(), &[(SECRET_VAR, SECRET)]).await;
    let answer = refused(
        &handler,
        &store,
        rest("POST", &json!({ "X-Api-Key": SECRET }), b"{}", false),
        401,
        &["`x-orders-key`", "missing"],
    )
    .await;
    assert_eq!(body(&answer)["error_type"], "Hetumind.Unauthenticated");
    for wrong in [
        "wrong",
        "",
        "s3cr3t-ORDERS-value-9f2",
        "s3cr3t-ORDERS-value-9f2cc",
    ] {
        let answer = refused(
            &handler,
            &store,
            rest("POST", &json!({ "X-Orders-Key": wrong }), b"{}", false),
            403,
            &["`x-orders-key`", "API key"],
        )
        .await;
        assert_eq!(body(&answer)["error_type"], "Hetumind.Forbidden");
    }

    let request = accepted(
        &handler,
        rest(
            "POST",
            &json!({ "X-Orders-Key": SECRET, "X-Request-Id": "req-7" }),
            br#"{"order": 1}"#,
            false,
        ),
    )
    .await;
    assert_eq!(request["body"], json!({ "order": 1 }));
    // A header outside HETUMIND_REDACT_HEADERS, redacted since it holds the key.
    assert_eq!(request["headers"]["x-orders-key"], Triggers::REDACTED);
    assert_eq!(request["headers"]["x-request-id"], "req-7");
    let stored = stored_text(&store).await;
    assert!(stored.contains("req-7"), "the request was stored");
    assert!(!stored.contains(SECRET), "{stored}");
}

#[tokio::test]
async fn the_api_key_header_defaults_to_x_api_key() {
    let (handler, store) = setup(
        &json!({ "auth": { "scheme": "api_key", "secret": { "env": SECRET_VAR } } }),
        &[(SECRET_VAR, SECRET)],
    )
    .await;
    refused(
        &handler,
        &store,
        rest("POST", &json!({}), b"", false),
        401,
        &["`x-api-key`"],
    )
    .await;
    let request = accepted(
        &handler,
        rest("POST", &json!({ "x-api-key": SECRET }), b"", false),
    )
    .await;
    assert_eq!(request["headers"]["x-api-key"], Triggers::REDACTED);
}

// ---------------------------------------------------------------------------------------------
// HMAC signatures

#[tokio::test]
async fn a_signed_request_is_accepted_through_both_api_gateway_payloads() {
    let (handler, store) = setup(&hmac_params(), &[(SECRET_VAR, SECRET)]).await;
    let payload = br#"{"order":42,"note":"caf\u00e9"}"#;
    let request = accepted(
        &handler,
        rest("POST", &signed(now(), payload), payload, false),
    )
    .await;
    assert_eq!(request["body"]["order"], 42);
    assert!(!execution_keys(&store).await.is_empty());

    let text = r#"{"order": 43}"#;
    let request = accepted(
        &handler,
        events::http_api("/orders", &signed(now(), text.as_bytes()), text),
    )
    .await;
    assert_eq!(request["body"]["order"], 43);
    // A signature in capitals is the same signature.
    let timestamp = now();
    let mut headers = signed(timestamp, text.as_bytes());
    headers["X-Hetumind-Signature"] = json!(format!(
        "sha256={}",
        sign(SECRET, timestamp, text.as_bytes())["sha256=".len()..].to_uppercase()
    ));
    accepted(&handler, events::http_api("/orders", &headers, text)).await;
}

#[tokio::test]
async fn a_wrong_signature_or_a_tampered_body_or_timestamp_is_403() {
    let (handler, store) = setup(&hmac_params(), &[(SECRET_VAR, SECRET)]).await;
    let payload = br#"{"amount": 100}"#;
    let timestamp = now();
    let mismatch = ["`x-hetumind-signature`", "does not match"];

    // Signed with another secret.
    let mut headers = signed(timestamp, payload);
    headers["X-Hetumind-Signature"] = json!(sign("another-secret", timestamp, payload));
    refused(
        &handler,
        &store,
        rest("POST", &headers, payload, false),
        403,
        &mismatch,
    )
    .await;
    // The body changed after signing.
    refused(
        &handler,
        &store,
        rest(
            "POST",
            &signed(timestamp, payload),
            br#"{"amount": 1000}"#,
            false,
        ),
        403,
        &mismatch,
    )
    .await;
    // Whitespace counts: the raw body is signed, not its JSON.
    refused(
        &handler,
        &store,
        rest(
            "POST",
            &signed(timestamp, payload),
            br#"{"amount":100}"#,
            false,
        ),
        403,
        &mismatch,
    )
    .await;
    // The timestamp changed after signing (within the window).
    let mut headers = signed(timestamp, payload);
    headers["X-Hetumind-Timestamp"] = json!((timestamp - 1).to_string());
    let answer = refused(
        &handler,
        &store,
        rest("POST", &headers, payload, false),
        403,
        &mismatch,
    )
    .await;
    assert_eq!(body(&answer)["error_type"], "Hetumind.Forbidden");

    // Malformed credentials are wrong ones.
    for (header, value, mention) in [
        ("X-Hetumind-Signature", "deadbeef", "`sha256=`"),
        ("X-Hetumind-Signature", "sha256=not-hex", "`sha256=`"),
        ("X-Hetumind-Signature", "sha256=abcd", "does not match"),
        ("X-Hetumind-Timestamp", "yesterday", "Unix time"),
    ] {
        let mut headers = signed(timestamp, payload);
        headers[header] = json!(value);
        refused(
            &handler,
            &store,
            rest("POST", &headers, payload, false),
            403,
            &[mention],
        )
        .await;
    }
}

#[tokio::test]
async fn a_timestamp_outside_the_window_is_403_as_a_replay() {
    let (handler, store) = setup(&hmac_params(), &[(SECRET_VAR, SECRET)]).await;
    let payload = b"{}";
    // Correctly signed, but too old or too far ahead of the default 300 s.
    for timestamp in [now() - 301 - 5, now() + 301 + 5, 0, i64::MAX] {
        refused(
            &handler,
            &store,
            rest("POST", &signed(timestamp, payload), payload, false),
            403,
            &["`x-hetumind-timestamp`", "300 seconds", "replay"],
        )
        .await;
    }
    // Within it, both ways.
    accepted(
        &handler,
        rest("POST", &signed(now() - 250, payload), payload, false),
    )
    .await;
    accepted(
        &handler,
        rest("POST", &signed(now() + 250, payload), payload, false),
    )
    .await;

    // A tolerance of the workflow's choice, and header names of its choice.
    let (handler, store) = setup(
        &json!({ "auth": { "scheme": "hmac_sha256", "secret": { "env": SECRET_VAR },
            "tolerance_seconds": 60, "timestamp_header": "X-Sent-At",
            "signature_header": "X-Signature" } }),
        &[(SECRET_VAR, SECRET)],
    )
    .await;
    let custom = |timestamp: i64| json!({ "x-sent-at": timestamp.to_string(), "x-signature": sign(SECRET, timestamp, payload) });
    refused(
        &handler,
        &store,
        rest("POST", &custom(now() - 120), payload, false),
        403,
        &["`x-sent-at`", "60 seconds"],
    )
    .await;
    refused(
        &handler,
        &store,
        rest("POST", &signed(now(), payload), payload, false),
        401,
        &["`x-sent-at`"],
    )
    .await;
    accepted(&handler, rest("POST", &custom(now() - 30), payload, false)).await;
}

#[tokio::test]
async fn a_request_without_its_signature_headers_is_401() {
    let (handler, store) = setup(&hmac_params(), &[(SECRET_VAR, SECRET)]).await;
    let payload = b"{}";
    let headers = signed(now(), payload);
    for (remove, mention) in [
        (
            vec!["X-Hetumind-Timestamp"],
            "`x-hetumind-timestamp` header is missing",
        ),
        (
            vec!["X-Hetumind-Signature"],
            "`x-hetumind-signature` header is missing",
        ),
        (
            vec!["X-Hetumind-Timestamp", "X-Hetumind-Signature"],
            "is missing",
        ),
    ] {
        let mut headers = headers.clone();
        for header in remove {
            headers.as_object_mut().unwrap().remove(header);
        }
        let answer = refused(
            &handler,
            &store,
            rest("POST", &headers, payload, false),
            401,
            &[mention],
        )
        .await;
        assert_eq!(body(&answer)["error_type"], "Hetumind.Unauthenticated");
    }
}

#[tokio::test]
async fn a_base64_body_is_signed_over_its_decoded_bytes() {
    let (handler, store) = setup(&hmac_params(), &[(SECRET_VAR, SECRET)]).await;
    let payload = "{\"name\": \"Zoë\", \"emoji\": \"🦀\"}".as_bytes();
    let timestamp = now();
    // Signed over the base64 text: not the body as sent.
    let encoded = base64::engine::general_purpose::STANDARD.encode(payload);
    let mut headers = signed(timestamp, payload);
    headers["X-Hetumind-Signature"] = json!(sign(SECRET, timestamp, encoded.as_bytes()));
    refused(
        &handler,
        &store,
        rest("POST", &headers, payload, true),
        403,
        &["does not match"],
    )
    .await;
    // Signed over the decoded bytes.
    let request = accepted(
        &handler,
        rest("POST", &signed(timestamp, payload), payload, true),
    )
    .await;
    assert_eq!(request["body"]["name"], "Zoë");
}

// ---------------------------------------------------------------------------------------------
// Configuration errors

#[tokio::test]
async fn a_missing_or_empty_secret_variable_is_500_naming_it_and_accepts_nothing() {
    for env in [&[][..], &[(SECRET_VAR, "")][..]] {
        for parameters in [hmac_params(), api_key_params()] {
            let (handler, store) = setup(&parameters, env).await;
            let payload = b"{}";
            let mut headers = signed(now(), payload);
            headers["X-Orders-Key"] = json!(SECRET);
            let answer = refused(
                &handler,
                &store,
                rest("POST", &headers, payload, false),
                500,
                &[SECRET_VAR, "not set or empty", "`hook`"],
            )
            .await;
            assert_eq!(body(&answer)["error_type"], "Hetumind.TriggerMisconfigured");
            // And without credentials: 500 as well, never 200.
            refused(
                &handler,
                &store,
                rest("POST", &json!({}), payload, false),
                500,
                &[SECRET_VAR],
            )
            .await;
        }
    }
}

#[tokio::test]
async fn malformed_auth_parameters_are_refused_by_validation_and_500_at_request_time() {
    let engine = Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    );
    for (auth, mentions) in [
        (json!({ "scheme": "bearer" }), &["auth", "bearer"][..]),
        (
            json!({ "scheme": "api_key", "secret": { "ssm": "/orders" } }),
            &["auth", "ssm"][..],
        ),
        (
            json!({ "scheme": "api_key", "secret": SECRET }),
            &["auth"][..],
        ),
        (
            json!({ "scheme": "hmac_sha256", "secret": { "env": SECRET_VAR }, "tolerance": 5 }),
            &["auth", "tolerance"][..],
        ),
        (
            json!({ "scheme": "api_key", "header": "bad header", "secret": { "env": SECRET_VAR } }),
            &["auth", "`bad header` is not a valid header name"][..],
        ),
    ] {
        let workflow = hook(&json!({ "auth": auth }));
        let error = engine
            .put_workflow(&workflow)
            .await
            .unwrap_err()
            .to_string();
        for mention in mentions {
            assert!(error.contains(mention), "`{mention}` not in: {error}");
        }
        assert!(
            !error.contains(SECRET) || auth["secret"] == SECRET,
            "{error}"
        );

        // Stored all the same (written by hand): the trigger refuses every request.
        let store = Arc::new(MemStore::new());
        store
            .put(
                &workflow_key("hook"),
                serde_json::to_vec(&workflow).unwrap(),
                Condition::Create,
            )
            .await
            .unwrap();
        let engine = Engine::new(hetumind::Registry::global().unwrap(), store.clone());
        let handler = handler_on(engine, &[(SECRET_VAR, SECRET)]);
        let answer = handler
            .handle(rest("POST", &json!({}), b"{}", false), 0)
            .await
            .unwrap();
        assert_eq!(answer["statusCode"], 500, "{answer}");
        let error = body(&answer)["error"].as_str().unwrap().to_owned();
        assert!(
            error.contains("node `Hook`") && error.contains("parameter `auth`"),
            "{error}"
        );
        assert_eq!(execution_keys(&store).await, Vec::<String>::new());
    }
}

#[test]
fn the_trigger_schema_documents_methods_and_auth() {
    let registry = hetumind::Registry::global().unwrap();
    let trigger = registry.latest("core.webhook_trigger").unwrap();
    let schema = serde_json::to_string(&(trigger.params_schema)()).unwrap();
    for part in [
        "\"methods\"",
        "\"auth\"",
        "api_key",
        "hmac_sha256",
        "x-api-key",
        "x-hetumind-signature",
        "x-hetumind-timestamp",
        "tolerance_seconds",
        "\"env\"",
        "Secrets Manager",
    ] {
        assert!(schema.contains(part), "`{part}` not in {schema}");
    }
    // A workflow with them validates.
    (trigger.check_params)(&hmac_params()).unwrap();
    (trigger.check_params)(&api_key_params()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The command line

/// Set in the child process that `invoke_checks_the_signature_with_the_process_environment`
/// starts.
const CHILD_VAR: &str = "HETUMIND_INBOUND_AUTH_CHILD";

/// `invoke` on the command line, as a developer runs it with an API Gateway event file: the
/// secret comes from the process environment. Runs in a child process of this test binary (a
/// test cannot set its own environment), which runs `hetumind::cli::run` with the built-in
/// nodes linked.
#[test]
fn invoke_checks_the_signature_with_the_process_environment() {
    let dir = tempfile::tempdir().unwrap();
    let state = format!("file://{}", dir.path().join("state").display());
    // Stored as a deployment stores it.
    let workflow = dir.path().join("state").join(workflow_key("hook"));
    std::fs::create_dir_all(workflow.parent().unwrap()).unwrap();
    std::fs::write(
        &workflow,
        serde_json::to_vec(&hook(&hmac_params())).unwrap(),
    )
    .unwrap();
    let payload = br#"{"order": 7}"#;
    let good = dir.path().join("signed.json");
    let event = rest("POST", &signed(now(), payload), payload, true);
    std::fs::write(&good, event.to_string()).unwrap();
    let mut tampered = event.clone();
    tampered["body"] = json!(base64::engine::general_purpose::STANDARD.encode(br#"{"order": 8}"#));
    let bad = dir.path().join("tampered.json");
    std::fs::write(&bad, tampered.to_string()).unwrap();

    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["cli_child", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_VAR, dir.path())
        .env("HETUMIND_STATE", &state)
        .env("HETUMIND_TRIGGERS", r#"{"http":"hook"}"#)
        .env(SECRET_VAR, SECRET)
        .env_remove("HETUMIND_CALLER_WORKFLOWS")
        .env_remove("HETUMIND_STATE_MACHINE_ARN")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 passed"), "the child ran: {stdout}");
    // The answers `invoke` printed: the tampered request first.
    let refused = stdout.find("\"statusCode\": 403").expect(&stdout);
    let accepted = stdout.find("\"statusCode\": 200").expect(&stdout);
    assert!(refused < accepted, "{stdout}");
    assert!(stdout.contains("does not match"), "{stdout}");
    assert!(!stdout.contains(SECRET), "{stdout}");
}

/// The child of `invoke_checks_the_signature_with_the_process_environment`.
#[tokio::test]
#[ignore = "run by invoke_checks_the_signature_with_the_process_environment"]
async fn cli_child() {
    let Some(dir) = std::env::var_os(CHILD_VAR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let cli = |args: &[&str]| {
        let args: Vec<std::ffi::OsString> = std::iter::once("hetumind")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        hetumind::cli::run(args)
    };
    let path = |name: &str| dir.join(name).display().to_string();
    let executions = || {
        std::fs::read_dir(dir.join("state/executions"))
            .map(Iterator::count)
            .unwrap_or(0)
    };
    // Refused: nothing starts. `invoke` prints the HTTP answer and succeeds.
    assert_eq!(
        cli(&["invoke", &path("tampered.json")]).await,
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(executions(), 0);
    assert_eq!(
        cli(&["invoke", &path("signed.json")]).await,
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(executions(), 1);
}
