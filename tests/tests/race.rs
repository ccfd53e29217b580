//! Two processes resume the same execution at the same moment, 50 times: each time exactly one
//! advances it and the other gets `Hetumind.StateConflict`, and no update is lost. Eight
//! processes run the same fan-out task at once: one runs it, seven are turned away.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use hetumind::store::{FsStore, S3Store, StateStore};
use serde_json::{Value, json};

#[path = "support/moto.rs"]
mod support;

const CONTENDER: &str = env!("CARGO_BIN_EXE_race-step");
const STEPS: usize = 50;

fn contend(
    state: &str,
    id: &str,
    node: &str,
    env: &[(&'static str, String)],
) -> std::process::Child {
    Command::new(CONTENDER)
        .args([state, id, node])
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn racing_resumes_on_the_file_store_let_exactly_one_advance() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("state");
    let state = format!("file://{}", store_dir.display());
    let store = FsStore::new(&store_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let done = || runtime.block_on(stored_outputs(&store));
    race(&state, &[], &done, dir.path());
}

#[test]
fn racing_resumes_on_the_s3_store_let_exactly_one_advance() {
    let Some(moto) = support::moto() else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(moto.create_bucket("race"));
    let dir = tempfile::tempdir().unwrap();
    let store = S3Store::with_client("race", "runs", moto.client());
    let done = || runtime.block_on(stored_outputs(&store));
    race("s3://race/runs", &moto.env(), &done, dir.path());
}

/// How many steps of the raced execution have a stored output (the record of a success).
async fn stored_outputs(store: &dyn StateStore) -> usize {
    store.list("executions/race-1/nodes/").await.unwrap().len()
}

/// Runs the race on the store `state` names; `done` counts the steps recorded as done.
fn race(
    state: &str,
    env: &[(&'static str, String)],
    done: &dyn Fn() -> usize,
    work: &std::path::Path,
) {
    let log = work.join("steps.log");
    // A chain of steps that each take 300 ms: long enough for both contenders to be inside
    // the same invocation window.
    let names: Vec<String> = (0..STEPS).map(|i| format!("S{i:02}")).collect();
    let nodes: Vec<Value> = names
        .iter()
        .map(|name| json!({ "name": name, "kind": "test.record", "parameters": { "log": log, "fixed_ms": 300 } }))
        .collect();
    let mut connections = serde_json::Map::new();
    for pair in names.windows(2) {
        connections.insert(pair[0].clone(), json!({ "main": [[{ "node": pair[1] }]] }));
    }
    let workflow = work.join("race.json");
    std::fs::write(
        &workflow,
        json!({ "id": "race", "nodes": nodes, "connections": connections }).to_string(),
    )
    .unwrap();
    let started = Command::new(CONTENDER)
        .args([state, "race-1", workflow.to_str().unwrap()])
        .envs(env.iter().map(|(name, value)| (name, value)))
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");

    for round in 1..=STEPS {
        let node = &names[round - 1];
        let (a, b) = (
            contend(state, "race-1", node, env),
            contend(state, "race-1", node, env),
        );
        let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
        let codes: Vec<Option<i32>> = outputs.iter().map(|output| output.status.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            [Some(0), Some(10)],
            "round {round}: {:?}",
            outputs
                .iter()
                .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
                .collect::<Vec<_>>()
        );
        // Exactly one more step is recorded as done: the winner's update is never lost.
        assert_eq!(done(), round, "round {round}");
    }
    // Every step ran exactly once.
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), STEPS, "{lines}");
}

/// Eight processes run the same fan-out task at once, on the file store and on S3: the node
/// runs once, the seven others get `Hetumind.StateConflict`, and its output is stored once.
#[test]
fn eight_workers_on_one_task_run_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("state");
    let state = format!("file://{}", store_dir.display());
    eight_workers(&state, &[], dir.path());
    if let Some(moto) = support::moto() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(moto.create_bucket("race-eight"));
        let dir = tempfile::tempdir().unwrap();
        eight_workers("s3://race-eight/runs", &moto.env(), dir.path());
    }
}

fn eight_workers(state: &str, env: &[(&'static str, String)], work: &std::path::Path) {
    let log = work.join("runs.log");
    let workflow = work.join("fan.json");
    std::fs::write(
        &workflow,
        json!({ "id": "fan", "settings": { "dispatch": "fan_out" }, "nodes": [
            { "name": "Once", "kind": "test.record", "parameters": { "log": log, "fixed_ms": 3000 } }
        ] })
        .to_string(),
    )
    .unwrap();
    // The start hands the node out (its task is stored) and runs nothing.
    let started = Command::new(CONTENDER)
        .args([state, "fan-1", workflow.to_str().unwrap()])
        .envs(env.iter().map(|(name, value)| (name, value)))
        .env("RACE_STEP_HAND_OUT", "1")
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    let stdout = String::from_utf8_lossy(&started.stdout);
    assert!(stdout.contains("fan_out"), "{stdout}");
    let workers: Vec<_> = (0..8)
        .map(|_| contend(state, "fan-1", "Once", env))
        .collect();
    let mut codes: Vec<Option<i32>> = workers
        .into_iter()
        .map(|worker| worker.wait_with_output().unwrap().status.code())
        .collect();
    codes.sort_unstable();
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 1, "the node ran once: {lines}");
    // The node takes 3 s: every worker started while the first held it.
    let mut expected = vec![Some(0)];
    expected.extend([Some(10); 7]);
    assert_eq!(codes, expected, "one ran it, seven were turned away");
}
