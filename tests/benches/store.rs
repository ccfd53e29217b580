//! Benchmark: what durable state costs. For chains of nodes on `file://` and `s3://` (a real
//! S3-compatible server, `moto_server`), the total bytes written to the store and the time per
//! node, as the node count and the output size grow. Bytes written must grow linearly with
//! both (each node writes its own output once; the state is written twice per invocation),
//! never with the size of the whole execution per node.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way it does a
//! quick smoke run on `file://` only.

use hetumind::model::ExecuteWorkflow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hetumind::BoxFuture;
use hetumind::engine::Engine;
use hetumind::model::{NextAction, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::{Condition, FsStore, S3Store, StateStore, StoreError, Stored, Version};
use serde_json::{Map, Value, json};

#[path = "../tests/support/moto.rs"]
mod support;

/// Emits an item holding `bytes` bytes of text.
#[node(kind = "bench.blob")]
async fn blob(Params(bytes): Params<usize>, Item(_): Item<Value>) -> Result<Value, NodeError> {
    Ok(json!({ "data": "x".repeat(bytes) }))
}

/// A store that counts the bytes written through it.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn StateStore>,
    written: AtomicU64,
    writes: AtomicU64,
}

impl StateStore for Counting {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        self.inner.get(key)
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        self.written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.inner.put(key, bytes, condition)
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.inner.list(prefix)
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete(key)
    }
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

/// Runs one execution: (bytes written, writes, seconds).
fn measure(
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn StateStore>,
    nodes: usize,
    bytes: usize,
    id: &str,
) -> (u64, u64, f64) {
    let counting = Arc::new(Counting {
        inner: store,
        written: AtomicU64::new(0),
        writes: AtomicU64::new(0),
    });
    let engine = Engine::new(
        hetumind::Registry::global().expect("registry"),
        counting.clone(),
    );
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(chain(nodes, bytes))),
        execution_id: Some(id.to_owned()),
        input_data: None,
        metadata: Map::new(),
    });
    let started = Instant::now();
    let response = runtime
        .block_on(engine.handle(request, None))
        .expect("the execution runs");
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
    let mut stores: Vec<(&str, Arc<dyn StateStore>)> =
        vec![("file", Arc::new(FsStore::new(dir.path())))];
    if full && let Some(moto) = support::moto() {
        runtime.block_on(moto.create_bucket("store-bench"));
        stores.push((
            "s3",
            Arc::new(S3Store::with_client("store-bench", "bench", moto.client())),
        ));
    }
    let (counts, sizes): (&[usize], &[usize]) = if full {
        (&[250, 500, 1000], &[100, 1_000, 10_000])
    } else {
        (&[20, 40], &[100, 1_000])
    };
    let largest = counts[counts.len() - 1];
    let mut run = 0;
    for (name, store) in &stores {
        let mut by_count = Vec::new();
        for &nodes in counts {
            run += 1;
            let (written, writes, seconds) = measure(
                &runtime,
                Arc::clone(store),
                nodes,
                sizes[0],
                &format!("run-{run}"),
            );
            println!(
                "{name:<4} {nodes:>5} nodes x {:>6} B: {written:>10} B written in {writes:>5} writes, {:>6.0} B/node, {:>7.1} µs/node",
                sizes[0],
                written as f64 / nodes as f64,
                seconds * 1e6 / nodes as f64
            );
            by_count.push(written as f64 / nodes as f64);
        }
        let mut by_size = Vec::new();
        for &bytes in sizes {
            run += 1;
            let (written, writes, seconds) = measure(
                &runtime,
                Arc::clone(store),
                largest,
                bytes,
                &format!("run-{run}"),
            );
            println!(
                "{name:<4} {largest:>5} nodes x {bytes:>6} B: {written:>10} B written in {writes:>5} writes, {:>6.0} B/node, {:>7.1} µs/node",
                written as f64 / largest as f64,
                seconds * 1e6 / largest as f64
            );
            by_size.push((bytes, written as f64 / largest as f64));
        }
        let spread = by_count.iter().copied().fold(f64::MIN, f64::max)
            / by_count.iter().copied().fold(f64::MAX, f64::min);
        println!(
            "{name:<4} bytes/node across node counts varies by {spread:.2}x (linear in node count when ~1)"
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
