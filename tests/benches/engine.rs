//! Benchmark: engine overhead per node, with no-op nodes on the `mem://` store.
//!
//! Targets: at most 5 µs per node of engine overhead on a 10,000-node graph, both a chain and
//! a wide fan-out of `#[node(nonblocking)]` no-op nodes (what every built-in node is); the
//! per-node cost at 100,000 nodes within 1.3× of that at 10,000; peak memory of the 10,000-node
//! execution at most 64 MB; a 4-wide × 10-deep graph of sleeping nodes finishing in its
//! critical path, not in the sum of its waves; and, as a user waits for it, the whole command
//! line process (`run WF.json --state mem:// --json`: start, read and parse the file, validate,
//! run, print) at most 4 µs per node at 10,000 nodes, linear to 100,000, peak RSS at most
//! 64 MB. The `*-threads` cases run nodes that do not promise to be non-blocking, each handed
//! to a thread of its own: the hand-off's cost is reported beside the engine alone.
//!
//! Every execution runs in a child process of this binary, so that each peak memory figure
//! (`VmHWM`) is its own and no run warms the allocator for the next. Times are medians of
//! several runs taken in turns; the engine's time is measured around `Engine::handle` alone,
//! everything included: validation, scheduling, output serialization, store writes, the final
//! state. The command line's is the child process's whole life, measured by this process.
//!
//! With `HETUMIND_BENCH_BASELINE` naming an earlier build of this benchmark (one since
//! `nonblocking`, whose child runs `shape:size` and the command line as this one does), every
//! case runs that binary in turn with this one and reports the ratio (new / old).
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way it does a
//! quick smoke run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{
    Connection, ExecuteWorkflow, NextAction, NodeConnections, NodeInstance, OnError, Request,
    Workflow, WorkflowSettings,
};
use hetumind::prelude::*;
use hetumind::store::MemStore;
use serde_json::{Map, Value, json};

/// Passes its item on, on the engine's own thread.
#[node(kind = "bench.noop", nonblocking)]
async fn noop(Item(value): Item<Value>) -> Result<Value, NodeError> {
    Ok(value)
}

/// Passes its item on, handed to a thread of its own like any node that does not promise to
/// be non-blocking.
#[node(kind = "bench.noop_threads")]
async fn noop_threads(Item(value): Item<Value>) -> Result<Value, NodeError> {
    Ok(value)
}

/// Sleeps for `ms` milliseconds, then passes its item on.
#[node(kind = "bench.sleep")]
async fn sleep(Params(ms): Params<u64>, Item(value): Item<Value>) -> Result<Value, NodeError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(value)
}

const CHILD: &str = "HETUMIND_ENGINE_BENCH_CHILD";
const BASELINE: &str = "HETUMIND_BENCH_BASELINE";

/// One measured case: a shape and a size, run by this binary and by the baseline alike.
struct Case {
    shape: &'static str,
    size: usize,
}

fn main() -> ExitCode {
    match std::env::var(CHILD).as_deref() {
        Ok("cli") => return cli_child(),
        Ok(spec) => return child(spec),
        Err(_) => {}
    }
    let full = std::env::args().any(|arg| arg == "--bench");
    let (small, large, runs) = if full {
        (10_000, 100_000, 9)
    } else {
        (200, 2_000, 1)
    };
    let baseline = std::env::var_os(BASELINE).map(PathBuf::from);
    let files = tempfile::tempdir().expect("a temporary directory");
    let mut verdicts = Vec::new();

    // The runs of every case take turns, so that a noisy spell of this shared machine spreads
    // over all of them instead of spoiling one.
    let mut cases = Vec::new();
    for shape in ["chain", "fanout"] {
        for size in [small, large] {
            cases.push(Case { shape, size });
        }
    }
    for shape in ["chain-threads", "fanout-threads"] {
        cases.push(Case { shape, size: small });
    }
    for shape in ["cli-chain", "cli-fanout"] {
        for size in [small, large] {
            cases.push(Case { shape, size });
        }
    }
    let mut samples: Vec<Vec<(f64, u64)>> = vec![Vec::new(); cases.len()];
    let mut old_samples: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for _ in 0..runs {
        for (index, case) in cases.iter().enumerate() {
            let exe = std::env::current_exe().expect("the bench binary's path");
            samples[index].push(measure(&exe, case.shape, case.size, files.path()));
            if let Some(old) = &baseline {
                old_samples[index].push(measure(old, case.shape, case.size, files.path()).0);
            }
        }
    }
    let mut per_node = Vec::new();
    for ((case, samples), old) in cases.iter().zip(&samples).zip(&old_samples) {
        let mut nanos: Vec<f64> = samples.iter().map(|(ns, _)| *ns).collect();
        let middle = median(&mut nanos);
        let peak_kb = samples.iter().map(|(_, kb)| *kb).max().unwrap_or(0);
        let micros = middle / count(case.size) / 1_000.0;
        let versus = if old.is_empty() {
            String::new()
        } else {
            let old_micros = median(&mut old.clone()) / count(case.size) / 1_000.0;
            format!(
                "; baseline {old_micros:6.2} µs/node, new/old {:.2}x",
                micros / old_micros
            )
        };
        println!(
            "{:<14} {:>7} nodes: {micros:6.2} µs/node ({:8.1} ms, median of {runs}), peak RSS {:6.1} MB{versus}",
            case.shape,
            case.size,
            middle / 1e6,
            kb_to_mb(peak_kb)
        );
        per_node.push((case.shape, case.size, micros, peak_kb));
    }
    let at = |shape: &str, size| {
        per_node
            .iter()
            .find(|(s, n, ..)| *s == shape && *n == size)
            .map(|(_, _, micros, kb)| (*micros, *kb))
    };
    for (shape, limit_us) in [
        ("chain", 5.0),
        ("fanout", 5.0),
        ("cli-chain", 4.0),
        ("cli-fanout", 4.0),
    ] {
        let (Some((small_us, small_kb)), Some((large_us, _))) =
            (at(shape, small), at(shape, large))
        else {
            continue;
        };
        verdicts.push((
            format!("{shape} {small} nodes <= {limit_us} µs/node"),
            small_us <= limit_us,
            format!("{small_us:.2} µs"),
        ));
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
    for shape in ["chain", "fanout"] {
        if let (Some((alone, _)), Some((threads, _))) =
            (at(shape, small), at(&format!("{shape}-threads"), small))
        {
            println!(
                "{shape} {small} nodes: a thread of its own adds {:.2} µs per node run ({:.2}x the engine alone)",
                threads - alone,
                threads / alone
            );
        }
    }

    // Eager scheduling: 4 lanes of 10 sleeping nodes whose durations alternate out of phase
    // (50, 10, 50, ... and 10, 50, 10, ...). Every lane takes 300 ms (the critical path);
    // waiting for each wave's slowest node would take 10 x 50 = 500 ms.
    let exe = std::env::current_exe().expect("the bench binary's path");
    let (grid_ns, _) = measure(&exe, "grid", 0, files.path());
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

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn count(size: usize) -> f64 {
    f64::from(u32::try_from(size.max(1)).unwrap_or(u32::MAX))
}

fn kb_to_mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// One run of a case in a child process of `exe` (this binary or the baseline): (nanoseconds,
/// peak RSS in kB).
fn measure(exe: &Path, shape: &str, size: usize, files: &Path) -> (f64, u64) {
    let Some(cli_shape) = shape.strip_prefix("cli-") else {
        return spawn_child(exe, &format!("{shape}:{size}"));
    };
    let path = files.join(format!("{cli_shape}-{size}.json"));
    if !path.exists() {
        let workflow = build(cli_shape, size);
        let text = serde_json::to_string(&workflow).expect("a workflow serializes");
        std::fs::write(&path, text).expect("the workflow file is written");
    }
    let started = Instant::now();
    let output = Command::new(exe)
        .env(CHILD, "cli")
        .args(["run", path.to_str().expect("a UTF-8 path")])
        .args(["--state", "mem://", "--json"])
        .stdout(Stdio::null())
        .output()
        .expect("the command line runs");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the run failed: {stderr}");
    let peak = stderr
        .lines()
        .last()
        .and_then(|line| line.parse().ok())
        .expect("peak kB");
    (elapsed.as_secs_f64() * 1e9, peak)
}

/// Runs `exe` as an engine child for `spec` (`shape:size`): (nanoseconds in `Engine::handle`,
/// peak RSS in kB).
fn spawn_child(exe: &Path, spec: &str) -> (f64, u64) {
    let output = Command::new(exe)
        .env(CHILD, spec)
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

/// The command line of this binary, exactly as a `lambda_main!()` binary runs it; the peak
/// RSS goes last on standard error.
fn cli_child() -> ExitCode {
    let code = hetumind::entry::main();
    eprintln!("{}", peak_rss_kb());
    code
}

fn child(spec: &str) -> ExitCode {
    let (shape, size) = spec.split_once(':').expect("shape:size");
    let size: usize = size.parse().expect("a size");
    let workflow = build(shape, size);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a runtime");
    let registry = hetumind::Registry::global().expect("no duplicate nodes");
    let engine = Engine::new(registry, Arc::new(MemStore::new())).with_options(EngineOptions {
        ..EngineOptions::default()
    });
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some("bench".to_owned()),
        input_data: Some(vec![json!({ "n": 1 }).into()]),
        trigger: None,
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

/// The workflow of a shape: `chain` or `fanout` of no-op nodes (`-threads`: of nodes handed to
/// threads of their own), or the sleeping grid.
fn build(shape: &str, size: usize) -> Workflow {
    let (shape, kind) = match shape.strip_suffix("-threads") {
        Some(shape) => (shape, "bench.noop_threads"),
        None => (shape, "bench.noop"),
    };
    match shape {
        "chain" => chain(size, kind),
        "fanout" => fanout(size, kind),
        _ => grid(),
    }
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

/// The workflows are built as the values they are, not through a JSON tree: a tree of 100,000
/// nodes would leave hundreds of megabytes of freed memory behind in the child, for the
/// engine's allocations to land in.
fn node(name: &str, kind: &str, parameters: Value) -> NodeInstance {
    NodeInstance {
        name: name.to_owned(),
        kind: kind.to_owned(),
        version: None,
        parameters,
        retry: None,
        timeout_ms: None,
        on_error: OnError::default(),
        dispatch: None,
        batch_size: None,
    }
}

fn targets<'a>(names: impl IntoIterator<Item = &'a str>) -> NodeConnections {
    let targets = names
        .into_iter()
        .map(|name| Connection {
            node: name.to_owned(),
            kind: "main".to_owned(),
            index: 0,
        })
        .collect();
    [("main", vec![targets])].into_iter().collect()
}

fn workflow(
    nodes: Vec<NodeInstance>,
    connections: BTreeMap<String, NodeConnections>,
    concurrency: u32,
) -> Workflow {
    Workflow {
        id: "bench".to_owned(),
        name: String::new(),
        settings: WorkflowSettings {
            max_concurrency: concurrency,
            ..WorkflowSettings::default()
        },
        nodes,
        connections,
    }
}

fn chain(size: usize, kind: &str) -> Workflow {
    let names: Vec<String> = (0..size).map(|i| format!("n{i}")).collect();
    let nodes = names
        .iter()
        .map(|name| node(name, kind, json!({})))
        .collect();
    let connections = names
        .windows(2)
        .map(|pair| (pair[0].clone(), targets([pair[1].as_str()])))
        .collect();
    workflow(nodes, connections, 16)
}

fn fanout(size: usize, kind: &str) -> Workflow {
    let names: Vec<String> = (1..size).map(|i| format!("n{i}")).collect();
    let mut nodes = vec![node("root", kind, json!({}))];
    nodes.extend(names.iter().map(|name| node(name, kind, json!({}))));
    let connections =
        std::iter::once(("root".to_owned(), targets(names.iter().map(String::as_str)))).collect();
    workflow(nodes, connections, 16)
}

fn grid() -> Workflow {
    let mut nodes = vec![node("start", "bench.noop", json!({}))];
    let mut connections = BTreeMap::new();
    let mut firsts = Vec::new();
    for lane in 0..4 {
        for depth in 0..10 {
            let name = format!("l{lane}d{depth}");
            let ms = if (lane + depth) % 2 == 0 { 50 } else { 10 };
            nodes.push(node(&name, "bench.sleep", json!(ms)));
            if depth == 0 {
                firsts.push(name);
            } else {
                connections.insert(format!("l{lane}d{}", depth - 1), targets([name.as_str()]));
            }
        }
    }
    connections.insert(
        "start".to_owned(),
        targets(firsts.iter().map(String::as_str)),
    );
    workflow(nodes, connections, 4)
}
