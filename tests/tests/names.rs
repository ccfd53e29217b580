//! Names and ids of any accepted length, in any script, in every store: node names of 30
//! Chinese characters, of 100 emoji and of 512 characters of mixed scripts, and an execution id
//! of 512 characters, run, resume after a crash-like interruption and are read back through
//! the engine on `file://`, `mem://` and S3 (moto). Short names keep the keys of earlier
//! releases, and a store error that cannot succeed on retry is not reported as retryable.

#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hetumind::engine::{Engine, EngineError};
use hetumind::model::{
    ExecuteWorkflow, ExecutionState, ExecutionStatus, NextAction, NodeState, Request, Workflow,
};
use hetumind::prelude::*;
use hetumind::store::{
    Condition, ExecutionKeys, FsStore, MAX_SEGMENT_BYTES, MemStore, S3Store, StateStore,
    StoreError, Version, encode_segment, workflow_key,
};
use serde_json::{Value, json};

#[path = "support/moto.rs"]
mod support;

static STAMPS: AtomicU64 = AtomicU64::new(1);

/// Emits a number no other run emitted: a stored output tells which run produced it.
#[node(kind = "names.stamp")]
async fn stamp(Items(_items): Items<Value>) -> Result<u64, NodeError> {
    Ok(STAMPS.fetch_add(1, Ordering::SeqCst))
}

/// `chars` characters cycling through several scripts and key-hostile punctuation, ending
/// with `last`.
fn mixed(chars: usize, last: char) -> String {
    let cycle: Vec<char> = "aZ9-_ é中😀Ωжاक/.%\\~한".chars().collect();
    let mut text: String = cycle.iter().cycle().take(chars - 1).collect();
    text.push(last);
    text
}

/// An execution id and the names of its two chained nodes.
struct Case {
    execution_id: String,
    first: String,
    second: String,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            execution_id: "chinese".to_owned(),
            first: "数据处理节点".repeat(5),
            second: "结束".to_owned(),
        },
        Case {
            execution_id: "emoji".to_owned(),
            first: "😀".repeat(100),
            second: "end".to_owned(),
        },
        // Two names identical up to the shortened prefix, and a 512-character id.
        Case {
            execution_id: mixed(hetumind::model::MAX_NAME_CHARS, '1'),
            first: mixed(hetumind::model::MAX_NAME_CHARS, 'a'),
            second: mixed(hetumind::model::MAX_NAME_CHARS, 'b'),
        },
    ]
}

fn workflow(first: &str, second: &str) -> Workflow {
    serde_json::from_value(json!({
        "id": "names",
        "nodes": [
            { "name": first, "kind": "names.stamp" },
            { "name": second, "kind": "names.stamp" }
        ],
        "connections": { first: { "main": [[{ "node": second }]] } }
    }))
    .unwrap()
}

fn execute(workflow: Workflow, execution_id: &str) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some(execution_id.to_owned()),
        input_data: None,
        trigger: None,
        metadata: Default::default(),
    })
}

fn json_of(items: &[hetumind::ItemData]) -> Vec<Value> {
    items.iter().map(|item| item.json.clone()).collect()
}

/// A node's stored items, through `Engine::node_output`.
async fn node_items(engine: &Engine, execution_id: &str, node: &str) -> Vec<Value> {
    let outputs = engine
        .node_output(execution_id, node)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no stored output for `{node}`"));
    json_of(&outputs.concat())
}

/// Runs `case` to completion, reads every output back, then loses the second node's output
/// and the state's progress as a crash between the two writes would, and resumes: the first
/// node's stored output is adopted, not run again.
async fn runs_and_resumes(store: Arc<dyn StateStore>, case: &Case) {
    let engine = Engine::new(hetumind::Registry::global().unwrap(), Arc::clone(&store));
    let Case {
        execution_id: id,
        first,
        second,
    } = case;
    let response = engine
        .handle(execute(workflow(first, second), id), None)
        .await
        .unwrap_or_else(|error| panic!("{first}: {error}"));
    assert_eq!(response.next_action, NextAction::Complete);
    assert_eq!(response.status, ExecutionStatus::Success);

    let first_items = node_items(&engine, id, first).await;
    let second_items = node_items(&engine, id, second).await;
    assert_ne!(first_items, second_items);
    assert_eq!(
        json_of(response.output_data.as_ref().unwrap()),
        second_items
    );
    assert_eq!(
        json_of(&engine.final_output(id).await.unwrap()),
        second_items
    );
    let state = engine.execution_state(id).await.unwrap();
    for node in [first, second] {
        assert!(
            matches!(
                state.nodes.get(node),
                Some(NodeState::Success { attempt: 1, .. })
            ),
            "{node}: {:?}",
            state.nodes.get(node)
        );
    }

    // As a crash leaves it: the second node's output never written, the state still running
    // and its lease expired.
    let keys = ExecutionKeys::new(id);
    let listed = store.list(&keys.node_outputs(second)).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    store.delete(&listed[0]).await.unwrap();
    let stored = store.get(&keys.state()).await.unwrap().unwrap();
    let mut state: ExecutionState = serde_json::from_slice(&stored.bytes).unwrap();
    state.status = ExecutionStatus::Running;
    state.lease = None;
    state.nodes.clear();
    store
        .put(
            &keys.state(),
            serde_json::to_vec(&state).unwrap(),
            Condition::Match(stored.version),
        )
        .await
        .unwrap();

    let resumed = engine.handle(Request::resume(id), None).await.unwrap();
    assert_eq!(resumed.status, ExecutionStatus::Success);
    assert_eq!(node_items(&engine, id, first).await, first_items);
    let rerun = node_items(&engine, id, second).await;
    assert_ne!(rerun, second_items);
    assert_eq!(json_of(resumed.output_data.as_ref().unwrap()), rerun);
    assert_eq!(json_of(&engine.final_output(id).await.unwrap()), rerun);
    assert_eq!(store.list(&keys.outputs()).await.unwrap().len(), 2);
}

async fn every_case(store: Arc<dyn StateStore>) {
    for case in cases() {
        runs_and_resumes(Arc::clone(&store), &case).await;
    }
}

#[tokio::test]
async fn file_store_holds_names_of_any_length_and_script() {
    let dir = tempfile::tempdir().unwrap();
    every_case(Arc::new(FsStore::new(dir.path().join("state")))).await;
}

#[tokio::test]
async fn mem_store_holds_names_of_any_length_and_script() {
    every_case(Arc::new(MemStore::new())).await;
}

#[tokio::test]
async fn s3_store_holds_names_of_any_length_and_script() {
    let Some(moto) = support::moto() else { return };
    moto.create_bucket("names").await;
    let prefix = "deployments/order-processing-production/hetumind-state";
    every_case(Arc::new(S3Store::with_client(
        "names",
        prefix,
        moto.client(),
    )))
    .await;
    // Every key fits S3's 1,024 bytes with room to spare, the prefix included.
    let objects = moto
        .client()
        .list_objects_v2()
        .bucket("names")
        .send()
        .await
        .unwrap();
    let longest = objects
        .contents()
        .iter()
        .map(|object| object.key().unwrap().len())
        .max()
        .unwrap();
    assert!(
        longest <= prefix.len() + 1 + 2 * MAX_SEGMENT_BYTES + 40,
        "{longest}"
    );
}

#[test]
fn short_names_keep_the_keys_of_earlier_releases() {
    let keys = ExecutionKeys::new("exec 1");
    assert_eq!(keys.prefix(), "executions/exec%201/");
    assert_eq!(keys.state(), "executions/exec%201/state.json");
    assert_eq!(keys.workflow(), "executions/exec%201/workflow.json");
    assert_eq!(keys.input(), "executions/exec%201/input.json");
    assert_eq!(keys.outputs(), "executions/exec%201/nodes/");
    assert_eq!(
        keys.output("Send Mail", 2),
        "executions/exec%201/nodes/Send%20Mail/2.json"
    );
    assert_eq!(keys.node_outputs(""), "executions/exec%201/nodes/%/");
    assert_eq!(workflow_key("orders"), "workflows/orders.json");
    assert_eq!(workflow_key("a/b"), "workflows/a%2Fb.json");
    assert_eq!(encode_segment("é🙂."), "%C3%A9%F0%9F%99%82%2E");
    // The longest encodings that are not shortened: exactly as before.
    let ascii = "a".repeat(MAX_SEGMENT_BYTES);
    assert_eq!(encode_segment(&ascii), ascii);
    let chinese = "中".repeat(MAX_SEGMENT_BYTES / 9);
    assert_eq!(
        encode_segment(&chinese),
        "%E4%B8%AD".repeat(MAX_SEGMENT_BYTES / 9)
    );
    let last = ExecutionKeys::new(&chinese).output(&ascii, 1);
    assert_eq!(
        last,
        format!("executions/{}/nodes/{ascii}/1.json", "%E4%B8%AD".repeat(26))
    );
}

#[tokio::test]
async fn short_names_are_stored_where_earlier_releases_stored_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store);
    engine
        .handle(execute(workflow("Send Mail", "plain"), "exec 1"), None)
        .await
        .unwrap();
    for path in [
        "executions/exec%201/state.json",
        "executions/exec%201/workflow.json",
        "executions/exec%201/input.json",
        "executions/exec%201/nodes/Send%20Mail/1.json",
        "executions/exec%201/nodes/plain/1.json",
    ] {
        assert!(dir.path().join(path).is_file(), "{path}");
    }
}

#[tokio::test]
async fn a_long_name_is_shortened_with_a_readable_prefix_and_a_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::new(dir.path()));
    let engine = Engine::new(hetumind::Registry::global().unwrap(), store);
    let name = "数据处理节点".repeat(5);
    engine
        .handle(execute(workflow(&name, "end"), "e"), None)
        .await
        .unwrap();
    let segment = encode_segment(&name);
    assert!(segment.len() <= MAX_SEGMENT_BYTES, "{segment}");
    let (readable, digest) = segment.rsplit_once('.').unwrap();
    // 201 bytes are left for the readable part: 22 characters of 9 encoded bytes.
    assert_eq!(
        percent_decode(readable),
        "数据处理节点".repeat(3) + "数据处理"
    );
    assert_eq!(digest.len(), 32);
    assert!(
        dir.path()
            .join(format!("executions/e/nodes/{segment}/1.json"))
            .is_file()
    );
}

fn percent_decode(text: &str) -> String {
    let mut bytes = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(&tail[..2]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            rest = &tail[2..];
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn assert_permanent<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::Other(message)) => assert!(!message.is_empty()),
        other => panic!("{what}: expected a permanent store error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_file_store_under_a_regular_file_fails_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "not a directory").unwrap();
    let store = Arc::new(FsStore::new(file.join("state")));
    let key = "executions/e/state.json";
    assert_permanent(store.get(key).await, "get");
    assert_permanent(
        store.put(key, b"{}".to_vec(), Condition::Create).await,
        "put",
    );
    assert_permanent(store.list("executions/").await, "list");

    let engine = Engine::new(hetumind::Registry::global().unwrap(), store);
    let error = engine
        .handle(execute(workflow("A", "B"), "e"), None)
        .await
        .unwrap_err();
    assert!(matches!(error, EngineError::Store(_)), "{error:?}");
    assert_eq!(error.error_type(), "Hetumind.StoreError");
}

#[tokio::test]
async fn a_key_too_long_for_a_file_name_fails_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    // Too long for a file name; and long enough for a name, not for its lock file.
    for segment in ["a".repeat(300), "b".repeat(250)] {
        let key = format!("executions/e/{segment}");
        assert_permanent(
            store.put(&key, b"{}".to_vec(), Condition::Create).await,
            &key,
        );
        assert_permanent(store.get(&key).await, &key);
    }
}

#[tokio::test]
async fn s3_keys_too_long_and_missing_buckets_fail_for_good() {
    let Some(moto) = support::moto() else { return };
    moto.create_bucket("long-keys").await;
    let store = S3Store::with_client("long-keys", "prefix", moto.client());
    let key = format!("executions/{}/state.json", "a".repeat(1100));
    assert_permanent(
        store.put(&key, b"{}".to_vec(), Condition::Create).await,
        "put",
    );
    assert_permanent(store.get(&key).await, "get");

    // A missing bucket is not a missing object.
    let store = S3Store::with_client("no-such-bucket", "prefix", moto.client());
    let key = "executions/e/state.json";
    assert_permanent(store.get(key).await, "get");
    assert_permanent(
        store.put(key, b"{}".to_vec(), Condition::Create).await,
        "put",
    );
    let stored = Condition::Match(Version("\"etag\"".to_owned()));
    assert_permanent(store.put(key, b"{}".to_vec(), stored).await, "update");
}

#[test]
fn the_command_line_runs_a_chinese_named_node_on_the_default_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let name = "数据处理节点".repeat(5);
    let workflow = json!({ "id": "中文", "nodes": [
        { "name": name, "kind": "test.echo" },
        { "name": "输出", "kind": "test.echo" }
    ], "connections": { name.as_str(): { "main": [[{ "node": "输出" }]] } } });
    std::fs::write(dir.path().join("workflow.json"), workflow.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_hetumind-test"))
        .args([
            "run",
            "workflow.json",
            "--execution-id",
            &"执行".repeat(100),
        ])
        .current_dir(dir.path())
        .env_remove("HETUMIND_STATE")
        .env_remove("HETUMIND_TRIGGERS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, json!([{}]));
    assert!(dir.path().join(".hetumind/executions").is_dir());
}
