//! Benchmark: engine overhead per node, with no-op nodes on the `mem://` store.
//!
//! Targets (issue 3): at most 5 µs per node of engine overhead on a 10,000-node graph, both a
//! chain and a wide fan-out (measured with node code on the engine's own task, `*-inline`; by
//! default every node run is handed to a thread of its own, whose cost is reported beside it);
//! the per-node cost at 100,000 nodes within 1.3× of that at 10,000; peak memory of
//! the 10,000-node execution at most 64 MB; and a 4-wide × 10-deep graph of sleeping nodes
//! finishing in its critical path, not in the sum of its waves.
//!
//! Every execution runs in a child process of this binary, so that each peak memory figure
//! (`VmHWM`) is its own and no run warms the allocator for the next. Times are medians of
//! several runs taken in turns; the engine's time is measured around `Engine::handle` alone, everything
//! included: validation, scheduling, output serialization, store writes, the final state.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way it does a
//! quick smoke run.

use hetumind::model::ExecuteWorkflow;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{NextAction, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use serde_json::{Map, Value, json};

/// Passes its item on.
#[node(kind = "bench.noop")]
async fn noop(Item(value): Item<Value>) -> Result<Value, NodeError> {
    Ok(value)
}

/// Sleeps for `ms` milliseconds, then passes its item on.
#[node(kind = "bench.sleep")]
async fn sleep(Params(ms): Params<u64>, Item(value): Item<Value>) -> Result<Value, NodeError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(value)
}

const CHILD: &str = "HETUMIND_ENGINE_BENCH_CHILD";

fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(CHILD) {
        return child(&spec);
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let (small, large, runs) = if full {
        (10_000, 100_000, 9)
    } else {
        (200, 2_000, 1)
    };
    let mut verdicts = Vec::new();

    // The runs of every case take turns, so that a noisy spell of this shared machine spreads
    // over all of them instead of spoiling one.
    // `*-inline` run node code on the engine's own task (`node_threads: false`): the engine's
    // overhead alone, the baseline of the thread hand-off each node run pays by default.
    let cases: Vec<(&str, usize)> = ["chain", "fanout"]
        .into_iter()
        .flat_map(|shape| [(shape, small), (shape, large)])
        .chain([("chain-inline", small), ("fanout-inline", small)])
        .collect();
    let mut samples: Vec<Vec<(f64, u64)>> = vec![Vec::new(); cases.len()];
    for _ in 0..runs {
        for (case, &(shape, size)) in cases.iter().enumerate() {
            samples[case].push(spawn(shape, size));
        }
    }
    let mut per_node = Vec::new();
    for (&(shape, size), samples) in cases.iter().zip(&samples) {
        let mut nanos: Vec<f64> = samples.iter().map(|(ns, _)| *ns).collect();
        nanos.sort_by(f64::total_cmp);
        let median = nanos[nanos.len() / 2];
        let peak_kb = samples.iter().map(|(_, kb)| *kb).max().unwrap_or(0);
        let micros = median / f64::from(u32::try_from(size).unwrap_or(u32::MAX)) / 1_000.0;
        println!(
            "engine {shape:<6} {size:>7} nodes: {micros:6.2} µs/node ({:8.1} ms, median of {runs}), peak RSS {:6.1} MB",
            median / 1e6,
            kb_to_mb(peak_kb)
        );
        per_node.push((shape, size, micros, peak_kb));
    }
    for shape in ["chain", "fanout"] {
        let inline = format!("{shape}-inline");
        let of = |name: &str| {
            per_node
                .iter()
                .find(|(s, n, ..)| *s == name && *n == small)
                .map(|(_, _, micros, _)| *micros)
        };
        if let (Some(threaded), Some(inline_us)) = (of(shape), of(&inline)) {
            println!(
                "{shape} {small} nodes: node threads add {:.2} µs per node run ({:.2}x the engine alone)",
                threaded - inline_us,
                threaded / inline_us
            );
            verdicts.push((
                format!("{shape} {small} nodes, engine alone <= 5 µs/node"),
                inline_us <= 5.0,
                format!("{inline_us:.2} µs"),
            ));
        }
        let at = |size| {
            per_node
                .iter()
                .find(|(s, n, ..)| *s == shape && *n == size)
                .copied()
        };
        if let (Some((_, _, small_us, small_kb)), Some((_, _, large_us, _))) =
            (at(small), at(large))
        {
            let ratio = large_us / small_us;
            verdicts.push((
                format!("{shape} {large}/{small} per-node ratio <= 1.3"),
                ratio <= 1.3,
                format!("{ratio:.2}x"),
            ));
            verdicts.push((
                format!("{shape} {small} nodes peak <= 64 MB"),
                kb_to_mb(small_kb) <= 64.0,
                format!("{:.1} MB", kb_to_mb(small_kb)),
            ));
        }
    }

    // Eager scheduling: 4 lanes of 10 sleeping nodes whose durations alternate out of phase
    // (50, 10, 50, ... and 10, 50, 10, ...). Every lane takes 300 ms (the critical path);
    // waiting for each wave's slowest node would take 10 x 50 = 500 ms.
    let (grid_ns, _) = spawn("grid", 0);
    let grid_ms = grid_ns / 1e6;
    println!("grid 4x10 (critical path 300 ms, waves 500 ms): {grid_ms:.1} ms");
    verdicts.push((
        "grid finishes near its critical path (< 400 ms)".to_owned(),
        grid_ms < 400.0,
        format!("{grid_ms:.1} ms"),
    ));

    let mut failed = false;
    for (what, ok, figure) in &verdicts {
        println!("{:<5} {what}: {figure}", if *ok { "PASS" } else { "MISS" });
        failed |= !ok;
    }
    if full && failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// Runs one execution in a child process: (nanoseconds in `Engine::handle`, peak RSS in kB).
fn spawn(shape: &str, size: usize) -> (f64, u64) {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let output = Command::new(exe)
        .env(CHILD, format!("{shape}:{size}"))
        .output()
        .expect("the child runs");
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    let mut fields = text.split_whitespace();
    let nanos = fields
        .next()
        .and_then(|field| field.parse().ok())
        .expect("nanoseconds");
    let peak = fields
        .next()
        .and_then(|field| field.parse().ok())
        .expect("peak kB");
    (nanos, peak)
}

fn child(spec: &str) -> ExitCode {
    let (shape, size) = spec.split_once(':').expect("shape:size");
    let size: usize = size.parse().expect("a size");
    let (shape, node_threads) = match shape.strip_suffix("-inline") {
        Some(shape) => (shape, false),
        None => (shape, true),
    };
    let workflow = match shape {
        "chain" => chain(size),
        "fanout" => fanout(size),
        _ => grid(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let registry = hetumind::Registry::global().expect("no duplicate nodes");
    let engine = Engine::new(registry, Arc::new(MemStore::new())).with_options(EngineOptions {
        node_threads,
        ..EngineOptions::default()
    });
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some("bench".to_owned()),
        input_data: Some(vec![json!({ "n": 1 }).into()]),
        metadata: Map::new(),
    });
    let started = Instant::now();
    let response = runtime
        .block_on(engine.handle(request, None))
        .expect("the execution runs");
    let elapsed = started.elapsed();
    assert_eq!(response.next_action, NextAction::Complete);
    println!("{} {}", elapsed.as_nanos(), peak_rss_kb());
    ExitCode::SUCCESS
}

/// The process's peak resident set size, from `/proc/self/status` (0 where unavailable).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn node(name: &str, kind: &str, parameters: &Value) -> Value {
    json!({ "name": name, "kind": kind, "parameters": parameters })
}

fn target(name: &str) -> Value {
    json!({ "node": name })
}

fn workflow(nodes: &[Value], connections: &Map<String, Value>, concurrency: u32) -> Workflow {
    serde_json::from_value(json!({
        "id": "bench",
        "settings": { "max_concurrency": concurrency },
        "nodes": nodes,
        "connections": connections
    }))
    .expect("a valid workflow")
}

fn chain(size: usize) -> Workflow {
    let names: Vec<String> = (0..size).map(|i| format!("n{i}")).collect();
    let nodes: Vec<Value> = names
        .iter()
        .map(|name| node(name, "bench.noop", &json!({})))
        .collect();
    let connections: Map<String, Value> = names
        .windows(2)
        .map(|pair| (pair[0].clone(), json!({ "main": [[target(&pair[1])]] })))
        .collect();
    workflow(&nodes, &connections, 16)
}

fn fanout(size: usize) -> Workflow {
    let names: Vec<String> = (1..size).map(|i| format!("n{i}")).collect();
    let mut nodes = vec![node("root", "bench.noop", &json!({}))];
    nodes.extend(
        names
            .iter()
            .map(|name| node(name, "bench.noop", &json!({}))),
    );
    let targets: Vec<Value> = names.iter().map(|name| target(name)).collect();
    let connections: Map<String, Value> =
        std::iter::once(("root".to_owned(), json!({ "main": [targets] }))).collect();
    workflow(&nodes, &connections, 16)
}

fn grid() -> Workflow {
    let mut nodes = vec![node("start", "bench.noop", &json!({}))];
    let mut connections = Map::new();
    let mut firsts = Vec::new();
    for lane in 0..4 {
        for depth in 0..10 {
            let name = format!("l{lane}d{depth}");
            let ms = if (lane + depth) % 2 == 0 { 50 } else { 10 };
            nodes.push(node(&name, "bench.sleep", &json!(ms)));
            if depth == 0 {
                firsts.push(target(&name));
            } else {
                connections.insert(
                    format!("l{lane}d{}", depth - 1),
                    json!({ "main": [[target(&name)]] }),
                );
            }
        }
    }
    connections.insert("start".to_owned(), json!({ "main": [firsts] }));
    workflow(&nodes, &connections, 4)
}
