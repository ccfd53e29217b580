//! Benchmark: what durable state costs. For chains of nodes on `file://` and `s3://` (a real
//! S3-compatible server, `moto_server`), the total bytes written to the store and the time per
//! node, as the node count and the output size grow. Bytes written must grow linearly with
//! both (each node writes its own output once; the small state object is written twice per
//! invocation), never with the size of the whole execution per node: also when every node
//! runs in an invocation of its own (`execute_node`, as an orchestrator fanning out does).
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way it does a
//! quick smoke run on `file://` only.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{ExecuteNode, ExecuteWorkflow, NextAction, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::StateStore;
use serde_json::{Map, Value, json};

#[path = "common/stores.rs"]
mod stores;

use stores::Counting;

/// Emits an item holding `bytes` bytes of text.
#[node(kind = "bench.blob")]
async fn blob(Params(bytes): Params<usize>, Item(_): Item<Value>) -> Result<Value, NodeError> {
    Ok(json!({ "data": "x".repeat(bytes) }))
}

fn chain(nodes: usize, bytes: usize) -> Workflow {
    let names: Vec<String> = (0..nodes).map(|i| format!("n{i}")).collect();
    let list: Vec<Value> = names
        .iter()
        .map(|name| json!({ "name": name, "kind": "bench.blob", "parameters": bytes }))
        .collect();
    let connections: Map<String, Value> = names
        .windows(2)
        .map(|pair| (pair[0].clone(), json!({ "main": [[{ "node": pair[1] }]] })))
        .collect();
    serde_json::from_value(
        json!({ "id": "store-bench", "nodes": list, "connections": connections }),
    )
    .expect("a valid workflow")
}

/// Runs one execution, in one invocation or (`stepwise`) one invocation per node:
/// (bytes written, writes, seconds).
fn measure(
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn StateStore>,
    nodes: usize,
    bytes: usize,
    id: &str,
    stepwise: bool,
) -> (u64, u64, f64) {
    let counting = Arc::new(Counting::new(store));
    let engine = Engine::new(
        hetumind::Registry::global().expect("registry"),
        counting.clone(),
    );
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(chain(nodes, bytes))),
        execution_id: Some(id.to_owned()),
        input_data: None,
        trigger: None,
        metadata: Map::new(),
    });
    let started = Instant::now();
    let response = if stepwise {
        // No budget for the first invocation: it only creates the execution.
        let creating = engine.clone().with_options(EngineOptions {
            max_invocation: Some(Duration::ZERO),
            safety_margin: Duration::ZERO,
            ..EngineOptions::default()
        });
        runtime
            .block_on(creating.handle(request, None))
            .expect("the execution starts");
        for node in 0..nodes {
            let step = Request::ExecuteNode(ExecuteNode {
                execution_id: id.to_owned(),
                node_name: format!("n{node}"),
                batch: None,
                spec: None,
                input_data: None,
                metadata: Map::new(),
            });
            runtime
                .block_on(engine.handle(step, None))
                .expect("the node runs");
        }
        // The workers stored every output; a resume adopts them and finishes.
        runtime
            .block_on(engine.handle(Request::resume(id), None))
            .expect("the execution finishes")
    } else {
        runtime
            .block_on(engine.handle(request, None))
            .expect("the execution runs")
    };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(response.next_action, NextAction::Complete);
    (
        counting.written.load(Ordering::Relaxed),
        counting.writes.load(Ordering::Relaxed),
        seconds,
    )
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stores = stores::stores(full, &runtime, dir.path(), "store-bench");
    let (counts, sizes, steps): (&[usize], &[usize], &[usize]) = if full {
        (&[250, 500, 1000], &[100, 1_000, 10_000], &[100, 200, 400])
    } else {
        (&[20, 40], &[100, 1_000], &[10, 20])
    };
    let largest = counts[counts.len() - 1];
    let mut run = 0;
    for (name, store) in &stores {
        // Measures one execution, prints its figures, and returns its bytes written per node.
        let mut bytes_per_node = |nodes: usize, bytes: usize, stepwise: bool| {
            run += 1;
            let (written, writes, seconds) = measure(
                &runtime,
                Arc::clone(store),
                nodes,
                bytes,
                &format!("run-{run}"),
                stepwise,
            );
            let how = if stepwise {
                ", one invocation per node"
            } else {
                ""
            };
            println!(
                "{name:<4} {nodes:>5} nodes x {bytes:>6} B{how}: {written:>10} B written in {writes:>5} writes, {:>6.0} B/node, {:>7.1} µs/node",
                written as f64 / nodes as f64,
                seconds * 1e6 / nodes as f64
            );
            written as f64 / nodes as f64
        };
        let by_count: Vec<f64> = counts
            .iter()
            .map(|&nodes| bytes_per_node(nodes, sizes[0], false))
            .collect();
        let by_size: Vec<(usize, f64)> = sizes
            .iter()
            .map(|&bytes| (bytes, bytes_per_node(largest, bytes, false)))
            .collect();
        let by_step: Vec<f64> = steps
            .iter()
            .map(|&nodes| bytes_per_node(nodes, sizes[0], true))
            .collect();
        println!(
            "{name:<4} bytes/node across node counts varies by {:.2}x in one invocation, {:.2}x with one invocation per node (linear in node count when ~1)",
            spread(&by_count),
            spread(&by_step)
        );
        for pair in by_size.windows(2) {
            let ((small, small_per), (large, large_per)) = (pair[0], pair[1]);
            println!(
                "{name:<4} output {small} -> {large} B: bytes/node grow by {:.0} B for {} B more output",
                large_per - small_per,
                large - small
            );
        }
    }
}

/// The largest value over the smallest.
fn spread(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::MIN, f64::max)
        / values.iter().copied().fold(f64::MAX, f64::min)
}
