//! Crash safety with real processes: a runner is killed with SIGKILL at random points, then
//! the execution is resumed, 50 times. Every execution completes, no node whose result was
//! stored ever runs again, and every file of the store parses at every moment we look.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const RUNNER: &str = env!("CARGO_BIN_EXE_hetumind-test");
const ROUNDS: u32 = 50;

/// A diamond with a tail: A -> (B, C, D) -> E -> F -> G, every node recording its runs.
fn workflow(log: &Path) -> Value {
    let node = |name: &str| {
        json!({ "name": name, "kind": "test.record",
                "parameters": { "log": log, "pause_ms": 40 } })
    };
    let nodes = ["A", "B", "C", "D", "E", "F", "G"].map(node);
    json!({
        "id": "crash",
        "nodes": nodes,
        "connections": {
            "A": { "main": [[{ "node": "B" }, { "node": "C" }, { "node": "D" }]] },
            "B": { "main": [[{ "node": "E" }]] },
            "C": { "main": [[{ "node": "E" }]] },
            "D": { "main": [[{ "node": "E" }]] },
            "E": { "main": [[{ "node": "F" }]] },
            "F": { "main": [[{ "node": "G" }]] }
        }
    })
}

fn runner(args: &[&str], state: &str) -> Command {
    let mut command = Command::new(RUNNER);
    command
        .args(args)
        .args(["--state", state, "--json"])
        .env("HETUMIND_LEASE_MS", "300")
        .stdin(Stdio::null());
    command
}

/// Every file of the store parses as JSON (temporary and lock files are hidden, starting with
/// `.`, and are not part of the store).
fn assert_store_readable(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            assert_store_readable(&path);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                serde_json::from_slice::<Value>(&bytes).is_ok(),
                "{} does not parse: {:?}",
                path.display(),
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}

/// Resumes (or, when the start itself was cut short, starts again) until the execution
/// completes; a live lease of the killed runner is waited out.
fn finish(workflow: &Path, id: &str, state: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let resumed = runner(&["resume", id], state).output().unwrap();
        let stderr = String::from_utf8_lossy(&resumed.stderr).into_owned();
        let output = if resumed.status.code() == Some(2) && stderr.contains("not found") {
            runner(
                &["run", workflow.to_str().unwrap(), "--execution-id", id],
                state,
            )
            .output()
            .unwrap()
        } else {
            resumed
        };
        if output.status.success() {
            return output;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("is being advanced by invocation"),
            "unexpected failure: {stderr}"
        );
        assert!(
            Instant::now() < deadline,
            "the execution never completed: {stderr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn killed_runners_lose_nothing_and_never_rerun_a_stored_node() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    let store_dir = dir.path().join("state");
    let state = format!("file://{}", store_dir.display());
    let workflow_path = dir.path().join("workflow.json");
    std::fs::write(&workflow_path, workflow(&log).to_string()).unwrap();
    let mut killed_mid_run = 0;

    for round in 0..ROUNDS {
        let id = format!("crash-{round}");
        let mut child = runner(
            &[
                "run",
                workflow_path.to_str().unwrap(),
                "--execution-id",
                &id,
            ],
            &state,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // The whole run takes about 7 x 20 ms on average; kill anywhere in it, or just after.
        std::thread::sleep(Duration::from_millis(u64::from(round * 37 % 230)));
        if child.try_wait().unwrap().is_none() {
            killed_mid_run += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_store_readable(&store_dir);

        let output = finish(&workflow_path, &id, &state);
        let response: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(response["status"], "success", "{response}");
        assert_store_readable(&store_dir);

        // The token each node's stored output holds is the last run of that node in the log:
        // no node ran again once its result was stored.
        let mut last_run: HashMap<String, String> = HashMap::new();
        let prefix = format!("{id}:");
        for line in std::fs::read_to_string(&log).unwrap().lines() {
            let (node, token) = line.split_once(' ').unwrap();
            if token.starts_with(&prefix) {
                last_run.insert(node.to_owned(), token.to_owned());
            }
        }
        for node in ["A", "B", "C", "D", "E", "F", "G"] {
            let stored: Value = serde_json::from_slice(&output_of(&store_dir, &id, node))
                .unwrap_or_else(|error| panic!("round {round}: node {node}: {error}"));
            let token = stored[0][0]["json"]["token"].as_str().unwrap();
            assert_eq!(
                last_run.get(node).map(String::as_str),
                Some(token),
                "round {round}: node {node} ran again after its result {token} was stored"
            );
        }
    }
    // The kill points must actually fall inside runs, not only after them.
    assert!(
        killed_mid_run >= ROUNDS / 2,
        "only {killed_mid_run} kills landed mid-run"
    );
}

/// A short wait is slept in-process, but recorded first, with when the node started: a runner
/// killed while sleeping leaves the rest of the wait to the resume, not the whole of it again.
#[test]
fn a_runner_killed_during_a_short_wait_leaves_only_the_rest_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = format!("file://{}", dir.path().join("state").display());
    let workflow_path = dir.path().join("workflow.json");
    let workflow = json!({ "id": "wait", "nodes": [
        { "name": "W", "kind": "test.wait", "parameters": 5 },
        { "name": "Out", "kind": "test.echo" }
    ], "connections": { "W": { "main": [[{ "node": "Out" }]] } } });
    std::fs::write(&workflow_path, workflow.to_string()).unwrap();

    let mut child = runner(
        &[
            "run",
            workflow_path.to_str().unwrap(),
            "--execution-id",
            "w",
        ],
        &state,
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Kill the runner three seconds into the wait, measured from when it recorded it (a
    // loaded machine may take a while to start the process: the wall clock of the test says
    // nothing about when the wait began).
    let state_file = dir.path().join("state/executions/w/state.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    let resume_at = loop {
        let recorded = std::fs::read(&state_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(at) = recorded
            .as_ref()
            .and_then(|state| state["nodes"]["W"]["resume_at"].as_str())
        {
            break at.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        }
        assert!(Instant::now() < deadline, "the wait was never recorded");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_secs(3));
    assert!(child.try_wait().unwrap().is_none(), "the run ended early");
    child.kill().unwrap();
    child.wait().unwrap();

    let output = finish(&workflow_path, "w", &state);
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["status"], "success", "{response}");
    // Started over, the wait would end five seconds after the kill, at least three seconds past
    // the recorded wake time; kept, it ends at that time (plus the resume's own work, which a
    // loaded machine has taken 1.4 s over).
    let finished: Value = serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
    let finished_at = finished["updated_at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    assert!(finished_at >= resume_at, "{finished_at} < {resume_at}");
    assert!(
        finished_at - resume_at < chrono::TimeDelta::milliseconds(2_500),
        "the wait started over after the kill: it ended at {finished_at}, due at {resume_at}"
    );
}

/// The one stored output of `node` (its file under `executions/{id}/nodes/{node}/`, hidden
/// temporary files of interrupted writes aside).
fn output_of(store_dir: &Path, id: &str, node: &str) -> Vec<u8> {
    let dir = store_dir.join(format!("executions/{id}/nodes/{node}"));
    let outputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("node {node} has no output ({}): {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(outputs.len(), 1, "node {node}: {outputs:?}");
    std::fs::read(&outputs[0]).unwrap()
}
