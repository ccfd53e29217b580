//! Benchmark: fan-out dispatch.
//!
//! 1. A worker's store traffic does not grow with the execution: the time, the bytes read and
//!    written, and the store calls of one `execute_node` task, in executions of 100 and 1,000
//!    fan-out nodes, on `file://` and on `s3://` (a real S3-compatible server, `moto_server`).
//!    Target: flat, within 1.3x. Compared like with like: tasks that carry their
//!    specification (a small input: every task of 100, the first few hundred of 1,000, as many
//!    as the answer has room for) and tasks whose specification is stored (an input of 5 KB,
//!    too large to carry).
//! 2. 100,000 items through a pass-through node with `batch_size` 10,000: 10 tasks run in
//!    parallel, the output byte for byte the inline run's; both times are reported.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way it does a
//! quick smoke run on `file://` only.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use hetumind::engine::{Drive, Engine};
use hetumind::model::{
    ExecuteNode, ExecuteWorkflow, ItemData, NextAction, Request, Response, Task, Workflow,
};
use hetumind::prelude::*;
use hetumind::store::{FsStore, StateStore};
use serde_json::{Value, json};

#[path = "common/stores.rs"]
mod stores;

use stores::Counting;

/// Passes its item on.
#[node(kind = "bench.pass", nonblocking)]
async fn pass(Item(value): Item<Value>) -> Result<Value, NodeError> {
    Ok(value)
}

fn start(workflow: Workflow, id: &str, input: Vec<ItemData>) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some(id.to_owned()),
        input_data: Some(input),
        trigger: None,
        metadata: serde_json::Map::new(),
    })
}

fn task(id: &str, task: &Task) -> Request {
    Request::ExecuteNode(ExecuteNode {
        execution_id: id.to_owned(),
        node_name: task.node_name.clone(),
        batch: task.batch,
        spec: task.spec.clone(),
        input_data: None,
        metadata: serde_json::Map::new(),
    })
}

fn tasks(response: &Response) -> Vec<Task> {
    match &response.next_action {
        NextAction::FanOut { tasks } => tasks.clone(),
        other => panic!("expected fan_out, got {other:?}"),
    }
}

/// A start node fanning out to `width` fan-out nodes.
fn wide(width: usize) -> Workflow {
    let names: Vec<String> = (0..width).map(|i| format!("w{i}")).collect();
    let mut nodes = vec![json!({ "name": "Start", "kind": "bench.pass" })];
    nodes.extend(
        names
            .iter()
            .map(|name| json!({ "name": name, "kind": "bench.pass", "dispatch": "fan_out" })),
    );
    let targets: Vec<Value> = names.iter().map(|name| json!({ "node": name })).collect();
    serde_json::from_value(json!({
        "id": "wide", "nodes": nodes, "connections": { "Start": { "main": [targets] } }
    }))
    .expect("a valid workflow")
}

/// One `execute_node` task of an execution of `width` fan-out nodes on `input`, on average
/// over `sample` tasks spread over those that carry their specification (`carried`) or those
/// whose specification is stored: (µs, bytes read, bytes written, store calls).
fn per_task(
    runtime: &tokio::runtime::Runtime,
    store: &Arc<dyn StateStore>,
    (width, carried): (usize, bool),
    input: &Value,
    sample: usize,
    id: &str,
) -> (f64, f64, f64, f64) {
    let counting = Arc::new(Counting::new(Arc::clone(store)));
    let engine = Engine::new(
        hetumind::Registry::global().expect("registry"),
        Arc::clone(&counting) as Arc<dyn StateStore>,
    );
    let first = runtime
        .block_on(engine.handle(start(wide(width), id, vec![input.clone().into()]), None))
        .expect("the execution starts");
    let handed = tasks(&first);
    assert_eq!(handed.len(), width, "every node handed out in one answer");
    let kind: Vec<&Task> = handed
        .iter()
        .filter(|task| task.spec.is_some() == carried)
        .collect();
    assert!(kind.len() >= sample, "{} tasks of the kind", kind.len());
    let step = (kind.len() / sample).max(1);
    let chosen: Vec<&Task> = kind.into_iter().step_by(step).take(sample).collect();
    counting.take();
    let started = Instant::now();
    for chosen in &chosen {
        runtime
            .block_on(engine.handle(task(id, chosen), None))
            .expect("the task runs");
    }
    let micros = started.elapsed().as_secs_f64() * 1e6;
    let (read, written, calls) = counting.take();
    let count = chosen.len() as f64;
    (
        micros / count,
        read as f64 / count,
        written as f64 / count,
        calls as f64 / count,
    )
}

fn main() -> ExitCode {
    let full = std::env::args().any(|arg| arg == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let stores = stores::stores(full, &runtime, dir.path(), "fan-bench");
    let (widths, sample) = if full {
        ([100, 1000], 100)
    } else {
        ([10, 100], 10)
    };
    let mut verdicts = Vec::new();
    let mut run = 0;
    // A small input: specifications carried; 5 KB: stored.
    let kinds = [
        ("carried", true, json!(1)),
        ("stored", false, json!({ "pad": "x".repeat(5000) })),
    ];
    for (name, store) in &stores {
        for (kind, carried, input) in &kinds {
            let mut figures = Vec::new();
            // Twice in turns, keeping the faster: a noisy spell of this shared machine spreads
            // over both sizes instead of spoiling one.
            for _ in 0..2 {
                for &width in &widths {
                    run += 1;
                    let measured = per_task(
                        &runtime,
                        store,
                        (width, *carried),
                        input,
                        sample,
                        &format!("t{run}"),
                    );
                    figures.push((width, measured));
                }
            }
            let best = |width: usize| {
                figures
                    .iter()
                    .filter(|(w, _)| *w == width)
                    .map(|(_, measured)| *measured)
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .expect("measured")
            };
            for &width in &widths {
                let (micros, read, written, calls) = best(width);
                println!(
                    "{name:<4} {kind:<7} {width:>5} fan-out nodes: {micros:>8.0} µs, {read:>6.0} B read, {written:>6.0} B written, {calls:.1} store calls per execute_node task"
                );
            }
            let (small, large) = (best(widths[0]), best(widths[1]));
            for (what, ratio) in [
                ("time", large.0 / small.0),
                ("bytes", (large.1 + large.2) / (small.1 + small.2)),
            ] {
                verdicts.push((
                    format!(
                        "{name} {what} per task ({kind} specification), {} over {} nodes <= 1.3x",
                        widths[1], widths[0]
                    ),
                    ratio <= 1.3,
                    format!("{ratio:.2}x"),
                ));
            }
        }
    }

    // 100,000 items through a batched pass-through node, against the inline run.
    let items = if full { 100_000 } else { 2_000 };
    let batch = items / 10;
    let input: Vec<ItemData> = (0..items).map(|n| json!({ "n": n }).into()).collect();
    let node = |dispatch: &str, batch_size: Option<usize>| {
        let mut node = json!({ "name": "P", "kind": "bench.pass", "dispatch": dispatch });
        if let Some(size) = batch_size {
            node["batch_size"] = json!(size);
        }
        serde_json::from_value::<Workflow>(json!({ "id": "batches", "nodes": [node] }))
            .expect("a valid workflow")
    };
    let store: Arc<dyn StateStore> = Arc::new(FsStore::new(dir.path().join("batches")));
    let engine = Engine::new(
        hetumind::Registry::global().expect("registry"),
        Arc::clone(&store),
    );
    let drive = Drive::sleeping_up_to(std::time::Duration::ZERO);
    let started = Instant::now();
    runtime
        .block_on(engine.drive(start(node("inline", None), "inline", input.clone()), &drive))
        .expect("the inline run");
    let inline_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    let first = runtime
        .block_on(engine.handle(start(node("fan_out", Some(batch)), "batched", input), None))
        .expect("the batched run starts");
    let handed = tasks(&first);
    let workers: Vec<_> = handed
        .iter()
        .map(|t| {
            let (engine, request) = (engine.clone(), task("batched", t));
            runtime.spawn(async move { engine.handle(request, None).await })
        })
        .collect();
    for worker in workers {
        runtime
            .block_on(worker)
            .expect("the worker joins")
            .expect("the batch runs");
    }
    let last = runtime
        .block_on(engine.handle(Request::resume("batched"), None))
        .expect("the batched run finishes");
    let batched_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(last.next_action, NextAction::Complete);
    let output = |id: &str| {
        runtime
            .block_on(store.get(&format!("executions/{id}/nodes/P/1.json")))
            .expect("the store reads")
            .expect("the output is stored")
            .bytes
    };
    let identical = output("inline") == output("batched");
    println!(
        "{items} items, batch_size {batch}: {} tasks; inline {inline_ms:.0} ms, fanned out and joined {batched_ms:.0} ms (tasks in parallel on 2 cores, one process)",
        handed.len()
    );
    verdicts.push((
        format!(
            "{items} items in {} batches, output identical to inline",
            handed.len()
        ),
        identical && handed.len() == 10,
        format!("{} tasks, identical: {identical}", handed.len()),
    ));

    let mut failed = false;
    for (what, ok, figure) in &verdicts {
        println!("{:<5} {what}: {figure}", if *ok { "PASS" } else { "MISS" });
        failed |= !ok;
    }
    if failed && full {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
