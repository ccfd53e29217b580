//! The execution index against a real PostgreSQL (a cluster per test binary, see
//! `support/postgres.rs`), and `executions list`, `executions show` and `index rebuild`
//! through the real binary, with the index and by walking the store.

#![allow(clippy::unwrap_used)]

#[path = "support/postgres.rs"]
mod postgres;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hetumind::engine::{Engine, NodeEvent, Observer};
use hetumind::index::{ExecutionFilter, ExecutionIndex, PostgresIndex};
use hetumind::model::{ExecutionStatus, Request};
use hetumind::store::MemStore;
// The test nodes (`test.echo`, `test.fail`, `test.fails_once`).
use hetumind_tests as _;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-test");

fn run_cli(dir: &std::path::Path, index: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env(
            "HETUMIND_STATE",
            format!("file://{}", dir.join("state").display()),
        )
        .env_remove("HETUMIND_INDEX");
    if let Some(url) = index {
        command.env("HETUMIND_INDEX", url);
    }
    command.output().unwrap()
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success() || output.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn workflow(id: &str, kind: &str) -> Value {
    json!({ "id": id, "nodes": [
        { "name": "In", "kind": "test.echo" },
        { "name": "Work", "kind": kind, "retry": { "max_attempts": 2, "initial_interval_ms": 10 } }
    ], "connections": { "In": { "main": [[{ "node": "Work" }]] } } })
}

async fn start(engine: &Engine, workflow: Value, trigger: Option<&str>) -> String {
    let mut request = json!({ "request_type": "execute_workflow", "workflow": workflow });
    if let Some(trigger) = trigger {
        request["trigger"] = json!(trigger);
    }
    let request = Request::from_json(request).unwrap();
    engine.handle(request, None).await.unwrap().execution_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_execution_is_indexed_with_its_status_trigger_and_counts() {
    let Some(server) = postgres::Postgres::start() else {
        return;
    };
    let index: Arc<dyn ExecutionIndex> = Arc::new(PostgresIndex::new(&server.url).unwrap());
    let engine = Engine::new(
        hetumind::Registry::global().unwrap(),
        Arc::new(MemStore::new()),
    )
    .with_index(Arc::clone(&index));
    let retried = start(&engine, workflow("orders", "test.fails_once"), Some("sqs")).await;
    let failed = start(&engine, workflow("orders", "test.fail"), None).await;
    let other = start(&engine, workflow("billing", "test.echo"), Some("cli")).await;

    let all = index.list(&ExecutionFilter::default()).await.unwrap();
    let ids: Vec<&str> = all
        .iter()
        .map(|record| record.execution_id.as_str())
        .collect();
    assert_eq!(ids, [other.as_str(), failed.as_str(), retried.as_str()]);
    let by_id = |id: &str| all.iter().find(|record| record.execution_id == id).unwrap();
    let retried = by_id(&retried);
    assert_eq!(retried.status, ExecutionStatus::Success);
    assert_eq!(retried.trigger, "sqs");
    assert_eq!((retried.nodes.total, retried.nodes.succeeded), (2, 2));
    assert!(retried.finished_at.is_some());
    let failed = by_id(&failed);
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.trigger, "request");
    assert_eq!(failed.failed_node.as_deref(), Some("Work"));
    assert!(
        failed.error.as_deref().unwrap().contains("cannot handle"),
        "{failed:?}"
    );
    assert_eq!((failed.nodes.succeeded, failed.nodes.failed), (1, 1));

    let failed_orders = ExecutionFilter {
        status: Some(ExecutionStatus::Failed),
        workflow_id: Some("orders".to_owned()),
        ..ExecutionFilter::default()
    };
    let listed = index.list(&failed_orders).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].execution_id, failed.execution_id);
    let limited = ExecutionFilter {
        limit: Some(1),
        since: Some(by_id(&other).started_at),
        ..ExecutionFilter::default()
    };
    assert_eq!(index.list(&limited).await.unwrap()[0].execution_id, other);

    // The rows are what the store says: rebuilt from the store, they are the same.
    let from_store = ExecutionFilter::default().apply(engine.execution_records().await.unwrap());
    index.replace_all(&from_store).await.unwrap();
    assert_eq!(
        index.list(&ExecutionFilter::default()).await.unwrap(),
        from_store
    );
}

/// Counts the index writes given up.
#[derive(Debug, Default)]
struct Failures(AtomicUsize);

impl Observer for Failures {
    fn node_finished(&self, _event: &NodeEvent<'_>) {}

    fn index_failed(&self, _execution_id: &str) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_index_that_cannot_be_reached_never_fails_an_execution() {
    // Nothing listens on the port of a listener just closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let index = PostgresIndex::new(&format!("postgres://nobody@127.0.0.1:{port}/none")).unwrap();
    let failures = Arc::new(Failures::default());
    let store = Arc::new(MemStore::new());
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store)
        .with_index(Arc::new(index))
        .with_observer(Arc::clone(&failures) as Arc<dyn Observer>);
    let id = start(&engine, workflow("orders", "test.echo"), None).await;
    let state = engine.execution_state(&id).await.unwrap();
    assert_eq!(state.status, ExecutionStatus::Success);
    // The start and the end, each given up after its tries.
    assert_eq!(failures.0.load(Ordering::SeqCst), 2);
}

#[test]
fn a_malformed_index_address_is_an_error_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(dir.path(), Some("mysql://x"), &["executions", "list"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HETUMIND_INDEX"), "{stderr}");
}

#[test]
fn the_command_line_lists_shows_and_rebuilds_with_and_without_the_index() {
    let Some(server) = postgres::Postgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = Some(server.url.as_str());
    let write = |name: &str, value: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path.display().to_string()
    };
    let retried = write("retried.json", &workflow("orders", "test.fails_once"));
    let failing = write("failing.json", &workflow("orders", "test.fail"));
    // Run with the index for one, without for the other: `index rebuild` catches up.
    let first = json_of(&run_cli(dir.path(), url, &["run", &retried, "--json"]));
    let second = json_of(&run_cli(dir.path(), None, &["run", &failing, "--json"]));
    let first_id = first["execution_id"].as_str().unwrap();
    let second_id = second["execution_id"].as_str().unwrap();

    let indexed = json_of(&run_cli(dir.path(), url, &["executions", "list", "--json"]));
    assert_eq!(indexed.as_array().unwrap().len(), 1, "{indexed}");
    assert_eq!(indexed[0]["trigger"], "cli");
    let rebuilt = run_cli(dir.path(), url, &["index", "rebuild"]);
    assert!(
        rebuilt.status.success(),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    let args = [
        "executions",
        "list",
        "--status",
        "failed",
        "--workflow",
        "orders",
        "--json",
    ];
    let from_index = json_of(&run_cli(dir.path(), url, &args));
    let from_store = json_of(&run_cli(dir.path(), None, &args));
    assert_eq!(from_index, from_store);
    assert_eq!(from_index.as_array().unwrap().len(), 1, "{from_index}");
    assert_eq!(from_index[0]["execution_id"], second_id);
    assert_eq!(from_index[0]["failed_node"], "Work");

    // `show`: the timeline holds both attempts of the retried node.
    let shown = json_of(&run_cli(
        dir.path(),
        None,
        &["executions", "show", first_id, "--json"],
    ));
    assert_eq!(shown["execution"]["status"], "success");
    let runs: Vec<(String, u64, String)> = shown["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            (
                run["node"].as_str().unwrap().to_owned(),
                run["attempt"].as_u64().unwrap(),
                run["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let runs: Vec<(&str, u64, &str)> = runs
        .iter()
        .map(|(node, attempt, outcome)| (node.as_str(), *attempt, outcome.as_str()))
        .collect();
    // The retry is slept in-process: one run of attempt 2.
    assert_eq!(
        runs,
        [("In", 1, "succeeded"), ("Work", 2, "succeeded")],
        "{shown}"
    );
    let last = shown["runs"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&last["items_in"], &last["items_out"]),
        (&json!(1), &json!(1)),
        "{shown}"
    );
    assert_eq!(shown["output_keys"].as_array().unwrap().len(), 2, "{shown}");
    let text = run_cli(dir.path(), None, &["executions", "show", first_id]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("timeline") && text.contains("Work"), "{text}");
    let missing = run_cli(
        dir.path(),
        None,
        &["executions", "show", "no-such-execution"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-execution"));

    // `cleanup` deletes the rows of the executions it deletes.
    let cleaned = run_cli(dir.path(), url, &["cleanup", "--older-than", "0"]);
    assert!(
        cleaned.status.success(),
        "{}",
        String::from_utf8_lossy(&cleaned.stderr)
    );
    let left = json_of(&run_cli(dir.path(), url, &["executions", "list", "--json"]));
    assert_eq!(left, json!([]));
}
