//! Benchmark: typed per-item conversion through a passthrough node (each-item mode, `Item<T>` of
//! a small struct returned unchanged), on one core. Target: at least 1,000,000 items/s.
//!
//! The node's registration is invoked directly, as the engine does, on batches of 100,000 items
//! on a current-thread runtime. In the same run and on the same items, the raw serde cost (the
//! struct deserialized from each item's `json` and serialized back, without the node machinery)
//! is the baseline; the ratio of the two is the SDK's overhead. Each figure is the median of the
//! rounds, which alternate between the two. Dropping the produced items is not timed, in either.
//!
//! A second node does the same with parameters (`Params<T>` of a few fields and lists): the ratio
//! of its throughput to the plain passthrough's, in the same rounds, is what parameters cost per
//! item.
//!
//! The same node then takes its `label` from each item by an expression, `{% .name %}`: its
//! parameters are evaluated and deserialized for every item. Target: at least 1,000,000
//! items/s too.
//!
//! Under `cargo bench` (which passes `--bench`) it measures fully; run any other way (such as by
//! `cargo test --benches`) it does a quick smoke run.

use std::sync::Arc;
use std::time::Instant;

use hetumind::expression::Parameters;
use hetumind::model::OnError;
use hetumind::prelude::*;
use hetumind::{Invocation, NodeOutput, NodeRegistration, Registry, RunInfo};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The target throughput, in items per second.
const TARGET: f64 = 1_000_000.0;

#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Record {
    id: u64,
    name: String,
    score: f64,
    active: bool,
}

/// Passes each record on unchanged.
#[node(kind = "bench.passthrough")]
async fn passthrough(Item(record): Item<Record>) -> Result<Record, NodeError> {
    Ok(record)
}

/// Parameters a node of moderate complexity might take.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
struct Scoring {
    label: String,
    threshold: f64,
    weights: Vec<f64>,
    tags: Vec<String>,
}

/// Passes each record on unchanged, given parameters it reads.
#[node(kind = "bench.passthrough_params")]
async fn passthrough_params(
    Params(scoring): Params<Scoring>,
    Item(record): Item<Record>,
) -> Result<Record, NodeError> {
    std::hint::black_box((
        &scoring.label,
        scoring.threshold,
        &scoring.weights,
        &scoring.tags,
    ));
    Ok(record)
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let (batch, rounds) = if full { (100_000, 21) } else { (1_000, 1) };
    let registry = Registry::global().expect("a valid registry");
    let registration = registry
        .get("bench.passthrough", 1)
        .expect("the passthrough node is linked");
    let items: Arc<[ItemData]> = (0..batch).map(record).map(ItemData::new).collect();
    let invocation = Invocation {
        parameters: Arc::new(parameters(json!({}))),
        items: Arc::clone(&items),
        run: Arc::new(RunInfo::new("bench-execution", "passthrough", 1)),
        on_error: OnError::Stop,
        only_items: None,
    };
    let with_params = registry
        .get("bench.passthrough_params", 1)
        .expect("the passthrough node with parameters is linked");
    let scoring = |label: &str| {
        json!({
            "label": label,
            "threshold": 0.75,
            "weights": [0.5, 0.25, 0.125, 0.125],
            "tags": ["alpha", "beta", "gamma"]
        })
    };
    let params_invocation = Invocation {
        parameters: Arc::new(parameters(scoring("scoring"))),
        ..invocation.clone()
    };
    let expression_invocation = Invocation {
        parameters: Arc::new(parameters(scoring("{% .name %}"))),
        ..invocation.clone()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");

    // The node must really pass every item through, unchanged, for the figure to mean anything.
    let output = through_node(&runtime, registration, &invocation);
    assert_eq!(output.outputs.len(), 1, "one output");
    assert!(
        output.outputs[0]
            .iter()
            .zip(items.iter())
            .all(|(out, input)| out.json == input.json),
        "the passthrough changed an item"
    );
    assert_eq!(output.outputs[0].len(), batch);
    let output = through_node(&runtime, with_params, &params_invocation);
    assert_eq!(output.outputs[0].len(), batch);
    let output = through_node(&runtime, with_params, &expression_invocation);
    assert_eq!(output.outputs[0].len(), batch);
    assert_eq!(raw_serde(&items).len(), batch);

    let mut node_rates = Vec::with_capacity(rounds);
    let mut raw_rates = Vec::with_capacity(rounds);
    let mut params_rates = Vec::with_capacity(rounds);
    let mut expression_rates = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let output = through_node(&runtime, registration, &invocation);
        node_rates.push(batch as f64 / start.elapsed().as_secs_f64());
        drop(std::hint::black_box(output));

        let start = Instant::now();
        let output = raw_serde(&items);
        raw_rates.push(batch as f64 / start.elapsed().as_secs_f64());
        drop(std::hint::black_box(output));

        let start = Instant::now();
        let output = through_node(&runtime, with_params, &params_invocation);
        params_rates.push(batch as f64 / start.elapsed().as_secs_f64());
        drop(std::hint::black_box(output));

        let start = Instant::now();
        let output = through_node(&runtime, with_params, &expression_invocation);
        expression_rates.push(batch as f64 / start.elapsed().as_secs_f64());
        drop(std::hint::black_box(output));
    }
    let node = median(node_rates);
    let raw = median(raw_rates);
    let params = median(params_rates);
    let expression = median(expression_rates);
    let verdict = |rate: f64| match (full, rate >= TARGET) {
        (true, true) => format!("PASS [median of {rounds} rounds of {batch} items, one core]"),
        (true, false) => format!("FAIL [median of {rounds} rounds of {batch} items, one core]"),
        (false, _) => "no verdict in a quick smoke run (pass --bench to measure)".to_owned(),
    };
    println!(
        "passthrough: {} items/s (raw serde {} items/s, overhead {:.2}x) target >= {}: {}",
        thousands(node),
        thousands(raw),
        raw / node,
        thousands(TARGET),
        verdict(node),
    );
    println!(
        "passthrough with parameters: {} items/s ({:.2}x the time per item of the passthrough without)",
        thousands(params),
        node / params,
    );
    println!(
        "passthrough with a field-reference expression in its parameters: {} items/s ({:.2}x the time per item of the same parameters without) target >= {}: {}",
        thousands(expression),
        params / expression,
        thousands(TARGET),
        verdict(expression),
    );
}

/// Node parameters as a workflow would give them.
fn parameters(value: Value) -> Parameters {
    Parameters::new(value).expect("the parameters' expressions compile")
}

/// Input item `i`: a record with a few fields.
fn record(i: usize) -> Value {
    json!({
        "id": i,
        "name": format!("record-{i}"),
        "score": i as f64 * 0.5,
        "active": i.is_multiple_of(2),
    })
}

/// The batch through the node's registration, as the engine invokes it.
fn through_node(
    runtime: &tokio::runtime::Runtime,
    registration: &NodeRegistration,
    invocation: &Invocation,
) -> NodeOutput {
    runtime
        .block_on((registration.invoke)(invocation.clone()))
        .expect("the passthrough never fails")
}

/// The same conversion with serde alone: each item's `json` into the struct and back.
fn raw_serde(items: &[ItemData]) -> Vec<ItemData> {
    items
        .iter()
        .map(|item| {
            let record = Record::deserialize(&item.json).expect("a record");
            ItemData::new(serde_json::to_value(&record).expect("serializable"))
        })
        .collect()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `1234567.8` as `1,234,568`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}
