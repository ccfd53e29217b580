//! The deployed state machine (`examples/deploy/statemachine.asl.json`), run for real by the
//! `aws-local-stepfunctions` interpreter (`tests/sfn/run.mjs`), every Lambda task served by a
//! process of its own (`hetumind-test invoke EVENT.json --state URL`), on `file://` and on S3
//! (`moto_server`). Each test runs its scenario on both stores at once.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

#[path = "support/moto.rs"]
mod support;

#[path = "support/sfn.rs"]
mod sfn;

use sfn::{Run, Store, invocations, outputs};

/// The stores a scenario runs on: `file://`, and S3 unless `moto_server` is missing outside CI.
fn stores(bucket: &str) -> Vec<Store> {
    let mut stores = vec![Store::file()];
    stores.extend(Store::s3(bucket));
    stores
}

/// Runs the state machine with `input(i)` on `stores[i]`, on every store at once; the reports,
/// in the order of `stores`.
fn run_all(
    tools: &Path,
    stores: &[Store],
    env: &[(&str, &str)],
    input: impl Fn(usize) -> Value,
) -> Vec<Value> {
    let runs: Vec<Run> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| Run::start(tools, store, &input(i), env))
        .collect();
    runs.into_iter().map(Run::finish).collect()
}

fn assert_succeeded(report: &Value) {
    assert_eq!(report["status"], "succeeded", "{report:#}");
    assert_eq!(
        report["output"]["next_action"]["type"], "complete",
        "{report}"
    );
    assert_eq!(report["output"]["status"], "success", "{report}");
}

fn items(values: &[Value]) -> Value {
    values
        .iter()
        .map(|value| json!({ "json": value }))
        .collect()
}

#[test]
fn a_stored_workflow_runs_to_its_end_and_a_handed_off_execution_is_continued() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-straight");
    let workflow = json!({
        "id": "straight",
        "nodes": [
            { "name": "A", "kind": "test.echo" },
            { "name": "B", "kind": "test.sleep", "parameters": 10 },
            { "name": "C", "kind": "test.echo" }
        ],
        "connections": {
            "A": { "main": [[{ "node": "B" }]] },
            "B": { "main": [[{ "node": "C" }]] }
        }
    });
    for store in &stores {
        store.put_workflow(&workflow);
    }
    let given = [json!({ "n": 1 }), json!({ "n": 2 })];
    let started = run_all(
        &tools,
        &stores,
        &[],
        |_| json!({ "workflow_id": "straight", "input_data": items(&given) }),
    );
    for report in &started {
        assert_succeeded(report);
        assert_eq!(outputs(report), given, "{report}");
        // One invocation ran the whole chain: nothing to fan out, no wait.
        assert_eq!(report["invocations"], json!({ "execute_workflow": 1 }));
    }

    // The other input: an execution handed off by its id. Asked again about a finished
    // execution, the function answers as it did, output included.
    let continued = run_all(
        &tools,
        &stores,
        &[],
        |i| json!({ "execution_id": started[i]["output"]["execution_id"] }),
    );
    for (report, first) in continued.iter().zip(&started) {
        assert_succeeded(report);
        assert_eq!(
            report["output"]["execution_id"],
            first["output"]["execution_id"]
        );
        assert_eq!(outputs(report), given, "{report}");
        assert_eq!(report["invocations"], json!({ "resume_execution": 1 }));
    }
}

#[test]
fn a_wait_is_slept_in_the_wait_state_until_resume_at() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-wait");
    // Six seconds: the function sleeps through waits of up to five seconds itself
    // (`max_inline_wait`), so a shorter one never reaches the state machine.
    let workflow = json!({
        "id": "waits",
        "nodes": [
            { "name": "W", "kind": "test.wait", "parameters": 6 },
            { "name": "E", "kind": "test.echo" }
        ],
        "connections": { "W": { "main": [[{ "node": "E" }]] } }
    });
    for store in &stores {
        store.put_workflow(&workflow);
    }
    let reports = run_all(
        &tools,
        &stores,
        &[],
        |_| json!({ "workflow_id": "waits", "input_data": items(&[json!("later")]) }),
    );
    for report in &reports {
        assert_succeeded(report);
        assert_eq!(outputs(report), [json!("later")]);
        // The start answered `wait`; the resume after the Wait state finished it.
        assert_eq!(
            report["invocations"],
            json!({ "execute_workflow": 1, "resume_execution": 1 })
        );
        assert!(report["wall_ms"].as_u64().unwrap() >= 5_000, "{report}");
    }
}

/// `Ask` says where the approval goes, `Approval` waits for it (at most `limit` seconds when
/// given), `E` passes its items on.
fn approval(limit: Option<u64>) -> Value {
    json!({
        "id": "approval",
        "nodes": [
            { "name": "Ask", "kind": "test.say", "parameters": {
                "approve_at": "{% resume_url(\"Approval\") %}" } },
            { "name": "Approval", "kind": "test.signal", "parameters": limit },
            { "name": "E", "kind": "test.echo" }
        ],
        "connections": {
            "Ask": { "main": [[{ "node": "Approval" }]] },
            "Approval": { "main": [[{ "node": "E" }]] }
        }
    })
}

#[test]
fn a_signal_is_awaited_in_the_await_signal_task_not_polled() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-signal");
    for store in &stores {
        store.put_workflow(&approval(None));
    }
    let signals = json!([{ "node_name": "Approval",
        "input_data": [{ "json": { "approved": true, "by": "ana" } }] }])
    .to_string();
    let reports = run_all(
        &tools,
        &stores,
        &[("HETUMIND_SFN_SIGNALS", &signals)],
        |_| json!({ "workflow_id": "approval" }),
    );
    for report in &reports {
        assert_succeeded(report);
        assert_eq!(outputs(report), [json!({ "approved": true, "by": "ana" })]);
        // The start answered `await_signal`; the AwaitSignal task's invocation kept the token;
        // the signal's invocation finished the execution, and its answer ended the loop.
        assert_eq!(
            report["invocations"],
            json!({ "execute_workflow": 1, "resume_execution": 2 }),
            "{report}"
        );
        assert_eq!(report["signals"], 1, "{report}");
    }
}

#[test]
fn a_signal_s_time_limit_times_the_task_out_and_the_loop_resumes() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-signal-limit");
    // Six seconds: the function sleeps through waits of up to five seconds itself.
    for store in &stores {
        store.put_workflow(&approval(Some(6)));
    }
    let reports = run_all(
        &tools,
        &stores,
        &[],
        |_| json!({ "workflow_id": "approval", "input_data": items(&[json!({ "order": 3 })]) }),
    );
    for report in &reports {
        assert_succeeded(report);
        // No signal: the node's own item passed on once the limit was over.
        let out = outputs(report);
        assert_eq!(out.len(), 1, "{report}");
        assert!(out[0]["approve_at"].is_string(), "{report}");
        assert_eq!(report["signals"], 0, "{report}");
        assert!(report["wall_ms"].as_u64().unwrap() >= 5_000, "{report}");
    }
}

#[test]
fn twenty_fan_out_nodes_run_once_each_ten_at_a_time() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-fan-out");
    let names: Vec<String> = (0..20).map(|i| format!("N{i:02}")).collect();
    let workflow = |log: &str| {
        let mut nodes = vec![json!({ "name": "Start", "kind": "test.echo", "dispatch": "inline" })];
        nodes.extend(names.iter().map(|name| {
            json!({ "name": name, "kind": "test.record", "parameters": { "log": log, "fixed_ms": 300 } })
        }));
        nodes.push(json!({ "name": "Join", "kind": "test.echo", "dispatch": "inline" }));
        let mut connections = serde_json::Map::new();
        let fan: Vec<Value> = names.iter().map(|name| json!({ "node": name })).collect();
        connections.insert("Start".into(), json!({ "main": [fan] }));
        for name in &names {
            connections.insert(name.clone(), json!({ "main": [[{ "node": "Join" }]] }));
        }
        json!({
            "id": "fan",
            "settings": { "dispatch": "fan_out" },
            "nodes": nodes,
            "connections": connections
        })
    };
    for store in &stores {
        store.put_workflow(&workflow(&store.path("runs.log")));
    }
    let reports = run_all(
        &tools,
        &stores,
        &[],
        |_| json!({ "workflow_id": "fan", "max_concurrency": 10 }),
    );
    for (report, store) in reports.iter().zip(&stores) {
        assert_succeeded(report);
        // The Map ran one execute_node invocation per node, ten at once.
        assert_eq!(invocations(report, "execute_node"), 20, "{report}");
        assert_eq!(report["peak_workers"], 10, "{report}");
        assert_eq!(report["errors"], json!({}), "{report}");
        // Each node ran exactly once, and its run is the one whose output was adopted.
        let log = std::fs::read_to_string(store.path("runs.log")).unwrap();
        let runs: BTreeMap<&str, &str> = log
            .lines()
            .map(|line| line.split_once(' ').unwrap())
            .collect();
        assert_eq!(log.lines().count(), 20, "{log}");
        assert_eq!(runs.keys().copied().collect::<Vec<_>>(), names, "{log}");
        let mut tokens: Vec<String> = outputs(report)
            .iter()
            .map(|output| output["token"].as_str().unwrap().to_owned())
            .collect();
        tokens.sort();
        let mut logged: Vec<String> = runs.values().map(|token| (*token).to_owned()).collect();
        logged.sort();
        assert_eq!(tokens, logged);
    }
}

#[test]
fn a_batched_node_runs_a_worker_per_batch_and_joins_them_in_order() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-batches");
    let workflow = json!({
        "id": "batched",
        "settings": { "dispatch": "fan_out" },
        "nodes": [{ "name": "B", "kind": "test.sleep", "parameters": 20, "batch_size": 3 }]
    });
    for store in &stores {
        store.put_workflow(&workflow);
    }
    let given: Vec<Value> = (0..7).map(|n| json!({ "n": n })).collect();
    let reports = run_all(
        &tools,
        &stores,
        &[],
        |_| json!({ "workflow_id": "batched", "input_data": items(&given) }),
    );
    for report in &reports {
        assert_succeeded(report);
        // Seven items in batches of three: three workers.
        assert_eq!(invocations(report, "execute_node"), 3, "{report}");
        assert_eq!(outputs(report), given, "{report}");
    }
}

#[test]
fn a_killed_worker_s_node_is_taken_over_once_its_lease_ends() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-killed");
    for store in &stores {
        store.put_workflow(&json!({
            "id": "killed",
            "settings": { "dispatch": "fan_out" },
            "nodes": [
                { "name": "Slow", "kind": "test.record", "parameters": { "log": store.path("runs.log"), "fixed_ms": 1500 } },
                { "name": "Quick", "kind": "test.echo" }
            ]
        }));
    }
    // The first worker of Slow dies half a second in; its claim's lease (two seconds, renewed
    // while it ran) then runs out and the re-invoked task takes the node over.
    let env = [
        ("HETUMIND_LEASE_MS", "2000"),
        ("HETUMIND_SFN_KILL", "Slow:500"),
    ];
    let reports = run_all(
        &tools,
        &stores,
        &env,
        |_| json!({ "workflow_id": "killed" }),
    );
    for (report, store) in reports.iter().zip(&stores) {
        assert_succeeded(report);
        assert_eq!(report["kills"], 1, "{report}");
        assert_eq!(report["errors"]["Lambda.Unknown"], 1, "{report}");
        // Quick, the killed worker, and at least one more for Slow.
        assert!(invocations(report, "execute_node") >= 3, "{report}");
        // The killed run never recorded anything; the run that took over did, once, with
        // the dead worker's attempt.
        let log = std::fs::read_to_string(store.path("runs.log")).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        let id = report["output"]["execution_id"].as_str().unwrap();
        let outputs = outputs(report);
        let token = outputs[0]["token"].as_str().unwrap();
        assert!(token.starts_with(&format!("{id}:Slow:1-")), "{token}");
        assert!(log.trim_end().ends_with(token), "{log}");
        assert_eq!(outputs[1], json!({}));
    }
}

#[test]
fn a_node_held_past_the_worker_s_retries_is_left_to_the_resume() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-held");
    for store in &stores {
        store.put_workflow(&json!({
            "id": "held",
            "settings": { "dispatch": "fan_out" },
            "nodes": [
                { "name": "Slow", "kind": "test.record", "parameters": { "log": store.path("runs.log"), "fixed_ms": 1000 } }
            ]
        }));
    }
    // The worker dies at once, and its claim's lease (eight seconds) outlasts the re-invoked
    // task's retries (50 ms apart here): the iteration gives the node up, and the resume waits
    // for the lease to end, hands the node out again, and a new worker takes it over.
    let env = [
        ("HETUMIND_LEASE_MS", "8000"),
        ("HETUMIND_SFN_KILL", "Slow:300"),
        ("HETUMIND_SFN_RETRY_MS", "ExecuteNode:50"),
    ];
    let reports = run_all(&tools, &stores, &env, |_| json!({ "workflow_id": "held" }));
    for (report, store) in reports.iter().zip(&stores) {
        assert_succeeded(report);
        assert_eq!(report["kills"], 1, "{report}");
        // The first try and twenty retries met the dead worker's claim, then the catch.
        assert_eq!(report["errors"]["Hetumind.StateConflict"], 21, "{report}");
        // The task twice (the killed worker, the one that took over) and the retries.
        assert_eq!(invocations(report, "execute_node"), 23, "{report}");
        // The resume after the Map answered `wait` until the lease's end; the next one
        // handed the node out again; the last completed.
        assert_eq!(invocations(report, "resume_execution"), 3, "{report}");
        let log = std::fs::read_to_string(store.path("runs.log")).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        let id = report["output"]["execution_id"].as_str().unwrap();
        let token = outputs(report)[0]["token"].as_str().unwrap().to_owned();
        assert!(token.starts_with(&format!("{id}:Slow:1-")), "{token}");
    }
}

#[test]
fn a_node_that_fails_for_good_fails_the_execution() {
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let stores = stores("sfn-failed");
    let workflow = json!({
        "id": "failing",
        "settings": { "dispatch": "fan_out" },
        "nodes": [
            { "name": "Bad", "kind": "test.fail" },
            { "name": "Good", "kind": "test.echo" }
        ]
    });
    for store in &stores {
        store.put_workflow(&workflow);
    }
    let reports = run_all(
        &tools,
        &stores,
        &[],
        |_| json!({ "workflow_id": "failing", "input_data": items(&[json!("x")]) }),
    );
    for report in &reports {
        assert_eq!(report["status"], "failed", "{report:#}");
        assert_eq!(report["error"], "Hetumind.ExecutionFailed");
        let cause = report["cause"].as_str().unwrap();
        assert!(
            cause.contains("Bad") && cause.contains("cannot handle"),
            "{cause}"
        );
        assert_eq!(report["last_response"]["next_action"]["type"], "failed");
        // Both workers ran; the worker of Bad answered `failed` and the resume failed it.
        assert_eq!(invocations(report, "execute_node"), 2, "{report}");
        assert_eq!(invocations(report, "resume_execution"), 1, "{report}");
    }
}
