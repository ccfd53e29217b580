//! Benchmark: the deployed state machine (`examples/deploy/statemachine.asl.json`) driving a
//! wide fan-out for real: the `aws-local-stepfunctions` interpreter (`tests/sfn/run.mjs`) runs
//! it, every Lambda task a process of its own (`hetumind-test invoke`). 200 fan-out nodes that
//! each sleep one second, `max_concurrency` 50, on `s3://` (a real S3-compatible server,
//! `moto_server`): the ideal is 4 s (four rounds of 50 one-second nodes), the target at most
//! 2x that. It prints the wall time (median of three runs, each on a fresh bucket), the ratio,
//! and where the time went: the start (which hands the 200 tasks out), the workers, the resume
//! (which adopts their outputs). The same on `file://` for comparison.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way it does a
//! quick smoke run (20 nodes of 200 ms, `max_concurrency` 10, on `file://`) with no verdict.
//! Outside CI it is skipped when the interpreter is not installed
//! (`.ci/install-tools aws-local-stepfunctions`).

use serde_json::{Map, Value, json};

#[path = "../tests/support/moto.rs"]
mod support;

#[path = "../tests/support/sfn.rs"]
mod sfn;

use sfn::{Run, Store};

/// The target: at most this many times the ideal wall time.
const TARGET: f64 = 2.0;

/// Start (inline) -> `nodes` fan-out nodes sleeping `ms` each -> Join (inline).
fn fan_out(nodes: usize, ms: u64) -> Value {
    let names: Vec<String> = (0..nodes).map(|i| format!("N{i:03}")).collect();
    let mut list = vec![json!({ "name": "Start", "kind": "test.echo", "dispatch": "inline" })];
    list.extend(
        names
            .iter()
            .map(|name| json!({ "name": name, "kind": "test.sleep", "parameters": ms })),
    );
    list.push(json!({ "name": "Join", "kind": "test.echo", "dispatch": "inline" }));
    let mut connections = Map::new();
    let all: Vec<Value> = names.iter().map(|name| json!({ "node": name })).collect();
    connections.insert("Start".to_owned(), json!({ "main": [all] }));
    for name in &names {
        connections.insert(name.clone(), json!({ "main": [[{ "node": "Join" }]] }));
    }
    json!({
        "id": "wide",
        "settings": { "dispatch": "fan_out" },
        "nodes": list,
        "connections": connections
    })
}

/// One run's figures, in milliseconds.
struct Figures {
    wall: u64,
    start: u64,
    workers: u64,
    worker_mean: u64,
    resume: u64,
}

fn measure(
    tools: &std::path::Path,
    store: &Store,
    nodes: usize,
    ms: u64,
    concurrency: usize,
) -> Figures {
    let report = Run::start(
        tools,
        store,
        &json!({ "workflow_id": "wide", "max_concurrency": concurrency }),
        &[],
    )
    .finish();
    assert_eq!(report["status"], "succeeded", "{report}");
    assert_eq!(
        report["last_response"]["output_data"]
            .as_array()
            .map(Vec::len),
        Some(nodes),
        "every node's item reached the join"
    );
    assert_eq!(sfn::invocations(&report, "execute_node"), nodes as u64);
    assert_eq!(report["peak_workers"], concurrency, "{report}");
    let timing = |kind: &str, field: &str| report["timings"][kind][field].as_u64().unwrap_or(0);
    let figures = Figures {
        wall: report["wall_ms"].as_u64().unwrap_or(0),
        start: timing("execute_workflow", "total_ms"),
        workers: timing("execute_node", "last_ms") - timing("execute_node", "first_ms"),
        worker_mean: timing("execute_node", "total_ms") / nodes as u64,
        resume: timing("resume_execution", "total_ms"),
    };
    println!(
        "step_functions: {:<5} {nodes} nodes x {ms} ms, {concurrency} at once: {:>6} ms \
         (start {} ms, workers {} ms at {} ms each on average ({} ms asleep), resume {} ms)",
        store.url.split(':').next().unwrap_or_default(),
        figures.wall,
        figures.start,
        figures.workers,
        figures.worker_mean,
        ms,
        figures.resume,
    );
    figures
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let Some(tools) = sfn::interpreter() else {
        return;
    };
    let (nodes, ms, concurrency, runs): (usize, u64, usize, usize) = if full {
        (200, 1000, 50, 3)
    } else {
        (20, 200, 10, 1)
    };
    let ideal = nodes.div_ceil(concurrency) as u64 * ms;
    let workflow = fan_out(nodes, ms);

    let mut stores = Vec::new();
    if full {
        for run in 1..=runs {
            match Store::s3(&format!("sfn-bench-{run}")) {
                Some(store) => stores.push(store),
                None => break,
            }
        }
    }
    let compare = Store::file();
    let measured_on_s3 = !stores.is_empty();
    if !measured_on_s3 {
        stores.push(Store::file());
    }
    let mut walls: Vec<(u64, Figures)> = stores
        .iter()
        .map(|store| {
            store.put_workflow(&workflow);
            let figures = measure(&tools, store, nodes, ms, concurrency);
            (figures.wall, figures)
        })
        .collect();
    walls.sort_by_key(|(wall, _)| *wall);
    let (median, _) = walls[walls.len() / 2];
    if measured_on_s3 {
        compare.put_workflow(&workflow);
        measure(&tools, &compare, nodes, ms, concurrency);
    }
    let ratio = median as f64 / ideal as f64;
    let verdict = match (full && measured_on_s3, ratio <= TARGET) {
        (false, _) => "no verdict in a quick smoke run (pass --bench to measure on s3://)",
        (true, true) => "PASS",
        (true, false) => "FAIL",
    };
    println!(
        "step_functions: {nodes} fan-out nodes x {ms} ms, max_concurrency {concurrency}, on {}: \
         {median} ms (median of {}) against the ideal {ideal} ms: {ratio:.2}x, target <= {TARGET}x: {verdict}",
        if measured_on_s3 { "s3://" } else { "file://" },
        walls.len(),
    );
}
