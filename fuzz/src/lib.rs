//! What the fuzz targets share: one runtime, the registries, and an engine on an in-memory
//! store with the example workflows stored and triggers mapped to them, so that an event is
//! parsed and routed for real without any network.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hetumind::config::{CallerWorkflows, Triggers};
use hetumind::engine::{Engine, EngineOptions};
use hetumind::lambda::Handler;
use hetumind::model::Workflow;
use hetumind::store::MemStore;
use hetumind::{NodeRegistration, Registry};

// Links the built-in nodes, whose registrations the binary collects at link time.
use hetumind_nodes as _;

/// The one node that reaches the network; the lambda targets leave it out of their registry.
pub const NETWORK_NODE: &str = "core.http_request";

/// Workflows stored in every engine of [`handler`]: the examples (none of which uses the
/// network), and two small ones.
pub const STORED: &[&str] = &[
    include_str!("../../examples/workflows/signup-webhook.json"),
    include_str!("../../examples/workflows/order-events.json"),
    include_str!("../../examples/workflows/order-routing.json"),
    include_str!("../../examples/workflows/support-digest.json"),
    include_str!("../../examples/workflows/appointment-reminders.json"),
    r#"{ "id": "echo", "nodes": [{ "name": "Echo", "kind": "core.no_op" }] }"#,
    r#"{ "id": "pause", "nodes": [
        { "name": "Start", "kind": "core.manual_trigger" },
        { "name": "Pause", "kind": "core.wait", "parameters": { "amount": 1, "unit": "hours" } },
        { "name": "After", "kind": "core.no_op" }
    ], "connections": {
        "Start": { "main": [[{ "node": "Pause" }]] },
        "Pause": { "main": [[{ "node": "After" }]] }
    } }"#,
];

/// A single-threaded runtime with timers, built once.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cannot start a runtime")
    })
}

/// Every node linked into the fuzz binaries: the built-in ones.
pub fn registry() -> &'static Registry {
    Registry::global().expect("no duplicate nodes")
}

/// The built-in nodes but the one that reaches the network.
pub fn offline_registry() -> &'static Registry {
    static OFFLINE: OnceLock<Registry> = OnceLock::new();
    OFFLINE.get_or_init(|| {
        let nodes: Vec<&'static NodeRegistration> = registry()
            .iter()
            .filter(|node| node.kind != NETWORK_NODE)
            .collect();
        Registry::new(nodes).expect("no duplicate nodes")
    })
}

/// The stored workflows, parsed once.
fn stored() -> &'static [Workflow] {
    static STORED_WORKFLOWS: OnceLock<Vec<Workflow>> = OnceLock::new();
    STORED_WORKFLOWS.get_or_init(|| {
        STORED
            .iter()
            .map(|text| serde_json::from_str(text).expect("a stored workflow parses"))
            .collect()
    })
}

/// How every trigger is routed: each kind of trigger to an example workflow, and a caller may
/// name any workflow.
pub fn triggers() -> Triggers {
    let mut triggers = Triggers::default();
    for (trigger, workflow) in [
        ("http", "signup-webhook"),
        ("schedule", "support-digest"),
        ("schedule:nightly-digest", "support-digest"),
        ("event", "echo"),
        ("event:com.example.shop:Order Placed", "order-events"),
        ("sqs", "echo"),
        ("sqs:orders", "order-routing"),
    ] {
        triggers
            .workflows
            .insert(trigger.to_owned(), workflow.to_owned());
    }
    triggers.caller_workflows = CallerWorkflows::Any;
    triggers
}

/// A Lambda handler as `lambda_main!()` builds it, on a fresh in-memory store holding
/// [`STORED`]: nodes run on the engine's task, and no wait is slept in-process.
pub async fn handler() -> Handler {
    let engine =
        Engine::new(offline_registry(), Arc::new(MemStore::new())).with_options(EngineOptions {
            max_inline_wait: Duration::ZERO,
            node_threads: false,
            ..EngineOptions::default()
        });
    for workflow in stored() {
        engine
            .put_workflow(workflow)
            .await
            .expect("an example workflow is stored");
    }
    Handler::new(engine, triggers())
}

/// Handles `events` in order on one fresh handler (a later event can resume what an earlier
/// one started); every answer must serialize.
pub fn handle_all(events: Vec<serde_json::Value>) {
    runtime().block_on(async {
        let handler = handler().await;
        for event in events {
            match handler.handle(event, 0).await {
                Ok(answer) => {
                    serde_json::to_vec(&answer).expect("an answer serializes");
                }
                Err(error) => {
                    // The error types and messages the runtime reports.
                    let _ = (error.error_type(), error.to_string());
                }
            }
        }
    });
}

/// Whether `value` written and read back as the store does is the same value (numbers to the
/// last digit: Hetumind builds serde_json with `float_roundtrip`).
pub fn round_trips<T>(value: &T) -> bool
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let written = serde_json::to_vec(value).expect("a value serializes");
    let read: T = serde_json::from_slice(&written).expect("a written value reads back");
    serde_json::to_value(value).expect("a value converts")
        == serde_json::to_value(&read).expect("a value converts")
}
