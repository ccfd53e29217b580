//! The S3 server goes away in the middle of an execution and comes back: the invocation either
//! completes or ends with a retryable error, and a later resume completes the execution with
//! nothing lost. The outage is real: the store talks to the server through a TCP proxy that the
//! test closes (connections refused) and opens again on the same port.

#![allow(clippy::unwrap_used)]

use hetumind::model::{ExecuteWorkflow, ResumeExecution};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{NextAction, NodeState, Request, Workflow};
use hetumind::prelude::*;
use hetumind::store::S3Store;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

#[path = "support/moto.rs"]
mod support;

const NODES: usize = 12;
static RUNS: [AtomicU32; NODES] = [const { AtomicU32::new(0) }; NODES];

/// Counts its runs by position, sleeps 100 ms, passes the item on.
#[node(kind = "fault.step")]
async fn step(Params(index): Params<usize>, Item(value): Item<Value>) -> Result<Value, NodeError> {
    RUNS[index].fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(value)
}

/// A TCP proxy to `target` on a port of its own, which can be closed and opened again.
struct Proxy {
    port: u16,
    target: String,
    tasks: Option<JoinSet<()>>,
}

impl Proxy {
    async fn start(target: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut proxy = Self {
            port,
            target: target.to_owned(),
            tasks: None,
        };
        proxy.open().await;
        proxy
    }

    async fn open(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let target = self.target.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        self.tasks = Some(tasks);
    }

    /// Closes the listener and every open connection.
    async fn close(&mut self) {
        if let Some(mut tasks) = self.tasks.take() {
            tasks.shutdown().await;
        }
    }
}

fn workflow() -> Workflow {
    let names: Vec<String> = (0..NODES).map(|i| format!("N{i}")).collect();
    let nodes: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| json!({ "name": name, "kind": "fault.step", "parameters": i }))
        .collect();
    let mut connections = serde_json::Map::new();
    for pair in names.windows(2) {
        connections.insert(pair[0].clone(), json!({ "main": [[{ "node": pair[1] }]] }));
    }
    serde_json::from_value(json!({ "id": "fault", "nodes": nodes, "connections": connections }))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_outage_mid_execution_loses_nothing() {
    let Some(moto) = support::moto() else { return };
    moto.create_bucket("fault").await;
    let mut proxy = Proxy::start(moto.endpoint.trim_start_matches("http://")).await;
    let client = support::client_for(&format!("http://127.0.0.1:{}", proxy.port));
    let store = Arc::new(S3Store::with_client("fault", "", client));
    let engine =
        Engine::new(hetumind::Registry::global().unwrap(), store).with_options(EngineOptions {
            lease: Duration::from_millis(500),
            ..EngineOptions::default()
        });
    let request = Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow())),
        execution_id: Some("fault-1".to_owned()),
        input_data: Some(vec![json!({ "n": 1 }).into()]),
        trigger: None,
        metadata: serde_json::Map::new(),
    });
    let running = tokio::spawn({
        let engine = engine.clone();
        async move { engine.handle(request, None).await }
    });
    // Four or five nodes in, the server disappears for two seconds.
    tokio::time::sleep(Duration::from_millis(450)).await;
    proxy.close().await;
    let first = running.await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.open().await;

    eprintln!(
        "first invocation: {:?}",
        first.as_ref().map(|r| &r.next_action)
    );
    match &first {
        Ok(response) => assert_eq!(response.next_action, NextAction::Complete),
        Err(error) => assert_eq!(error.error_type(), "Hetumind.Retryable", "{error}"),
    }
    // Resume until done: a live lease of the failed invocation is waited out.
    let response = loop {
        match engine
            .handle(
                Request::ResumeExecution(ResumeExecution {
                    execution_id: "fault-1".to_owned(),
                    node_name: None,
                    input_data: None,
                    task_token: None,
                    metadata: serde_json::Map::new(),
                }),
                None,
            )
            .await
        {
            Ok(response) => break response,
            Err(error) if error.error_type() == "Hetumind.StateConflict" => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("resume failed: {error}"),
        }
    };
    assert_eq!(response.next_action, NextAction::Complete, "{response:?}");
    assert_eq!(response.output_data.unwrap()[0].json, json!({ "n": 1 }));

    // Nothing lost: every node's result is stored, and only a node in flight during the outage
    // ran more than once.
    let state = engine.execution_state("fault-1").await.unwrap();
    for i in 0..NODES {
        assert!(
            matches!(state.nodes[&format!("N{i}")], NodeState::Success { .. }),
            "N{i}"
        );
    }
    let reruns: Vec<usize> = (0..NODES)
        .filter(|&i| RUNS[i].load(Ordering::SeqCst) > 1)
        .collect();
    assert!(reruns.len() <= 1, "nodes run more than once: {reruns:?}");
    assert!(RUNS.iter().all(|runs| runs.load(Ordering::SeqCst) >= 1));
}
