//! Nodes run through `NodeTest`, exactly as the engine calls them: each-item and all modes, the
//! output forms (`T`, `Vec<T>`, `Option<T>`, `Routed<T>`), lineage, `on_error`, the context a
//! node sees, parameter checking, and what the registration says about a node.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hetumind::model::{ItemData, ItemSource, OnError};
use hetumind::prelude::*;
use hetumind::retry::Jitter;
use hetumind::testing::{NodeTest, TestError};
use hetumind::{ErrorKind, ExecuteMode, NodeRegistration, Registry, RetryPolicy};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The nodes under test.
// ---------------------------------------------------------------------------------------------

/// Upper-cases every text.
#[node(kind = "nt.upper")]
async fn upper(Item(text): Item<String>) -> Result<String, NodeError> {
    Ok(text.to_uppercase())
}

/// Sums all numbers.
#[node(kind = "nt.sum")]
async fn sum(Items(numbers): Items<i64>) -> Result<i64, NodeError> {
    Ok(numbers.iter().sum())
}

/// Counts to `n`, giving `n` items.
#[node(kind = "nt.count")]
async fn count(Item(n): Item<u32>) -> Result<Vec<u32>, NodeError> {
    Ok((1..=n).collect())
}

/// Keeps even numbers.
#[node(kind = "nt.evens")]
async fn evens(Item(n): Item<i64>) -> Result<Option<i64>, NodeError> {
    Ok((n % 2 == 0).then_some(n))
}

/// Sends small numbers one way and large ones the other.
#[node(kind = "nt.size", outputs("small", "large"))]
async fn size(Item(n): Item<i64>) -> Result<Routed<i64>, NodeError> {
    Ok(if n < 10 {
        Routed::to("small", n)
    } else {
        Routed::to("large", n)
    })
}

/// Sends every number to both outputs, the second time negated.
#[node(kind = "nt.both", outputs("plus", "minus"))]
async fn both(Item(n): Item<i64>) -> Result<Vec<Routed<i64>>, NodeError> {
    Ok(vec![Routed::to("plus", n), Routed::to("minus", -n)])
}

/// Routes positive numbers, drops the rest.
#[node(kind = "nt.maybe_route", outputs("odd", "even"))]
async fn maybe_route(Item(n): Item<i64>) -> Result<Option<Routed<i64>>, NodeError> {
    Ok(match n {
        ..=0 => None,
        n if n % 2 == 1 => Some(Routed::to("odd", n)),
        n => Some(Routed::to("even", n)),
    })
}

/// Routes every number with the same parity to one output, in all mode.
#[node(kind = "nt.parity_all", outputs("even", "odd"))]
async fn parity_all(Items(numbers): Items<i64>) -> Result<Vec<Routed<i64>>, NodeError> {
    Ok(numbers
        .into_iter()
        .map(|n| {
            if n % 2 == 0 {
                Routed::to("even", n)
            } else {
                Routed::to("odd", n)
            }
        })
        .collect())
}

/// Sends every number to `yes`, then to the output named by its parameters.
#[node(kind = "nt.yes_then", outputs("yes", "no"))]
async fn yes_then(
    Params(params): Params<RouteParams>,
    Item(n): Item<i64>,
) -> Result<Vec<Routed<i64>>, NodeError> {
    Ok(vec![Routed::to("yes", n), Routed::to(params.target, n)])
}

#[derive(Deserialize, JsonSchema)]
struct RouteParams {
    /// The output to send items to, chosen at run time.
    target: String,
}

/// Routes to an output named by its parameters.
#[node(kind = "nt.route_to", outputs("yes", "no"))]
async fn route_to(
    Params(params): Params<RouteParams>,
    Item(n): Item<i64>,
) -> Result<Routed<i64>, NodeError> {
    Ok(Routed::to(params.target, n))
}

#[derive(Deserialize, JsonSchema)]
struct ShapeParams {
    /// How many items to return in all mode.
    out: usize,
}

/// Returns `out` items, whatever it receives: the k-th is `k`.
#[node(kind = "nt.reshape")]
async fn reshape(
    Items(items): Items<Value>,
    Params(params): Params<ShapeParams>,
) -> Result<Vec<usize>, NodeError> {
    let _ = items;
    Ok((0..params.out).collect())
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Division {
    /// The number to divide.
    n: i64,
    /// What to divide it by.
    by: i64,
}

/// Divides, failing on zero.
#[node(kind = "nt.divide")]
async fn divide(Item(division): Item<Division>) -> Result<i64, NodeError> {
    if division.by == 0 {
        return Err(NodeError::terminal(format!(
            "cannot divide {} by zero",
            division.n
        )));
    }
    Ok(division.n / division.by)
}

/// Divides all at once, failing on zero.
#[node(kind = "nt.divide_all")]
async fn divide_all(Items(divisions): Items<Division>) -> Result<Vec<i64>, NodeError> {
    divisions
        .iter()
        .map(|division| {
            division
                .n
                .checked_div(division.by)
                .ok_or_else(|| NodeError::terminal("division by zero"))
        })
        .collect()
}

/// Fails on odd numbers, routes the others.
#[node(kind = "nt.fussy_router", outputs("low", "high"))]
async fn fussy_router(Item(n): Item<i64>) -> Result<Routed<i64>, NodeError> {
    if n % 2 != 0 {
        return Err(NodeError::terminal(format!("odd: {n}")));
    }
    Ok(if n < 10 {
        Routed::to("low", n)
    } else {
        Routed::to("high", n)
    })
}

/// Reports what its context says, per item.
#[node(kind = "nt.ctx_each")]
async fn ctx_each(Item(value): Item<Value>, ctx: Ctx) -> Result<Value, NodeError> {
    Ok(describe(&ctx, &value))
}

/// Reports what its context says, once.
#[node(kind = "nt.ctx_all")]
async fn ctx_all(ctx: &Ctx, Items(values): Items<Value>) -> Result<Value, NodeError> {
    Ok(describe(ctx, &Value::Array(values)))
}

fn describe(ctx: &Ctx, value: &Value) -> Value {
    json!({
        "value": value,
        "execution_id": ctx.execution_id(),
        "node_name": ctx.node_name(),
        "attempt": ctx.attempt(),
        "idempotency_key": ctx.idempotency_key(),
        "item": ctx.item().map(|item| serde_json::to_value(item).expect("item json")),
        "item_index": ctx.item_index(),
        "items": ctx.items().len(),
        "remaining": ctx.remaining().map(|left| left.as_millis()),
    })
}

/// Takes no parameters and no input.
#[node(kind = "nt.no_params")]
async fn no_params() -> Result<Option<String>, NodeError> {
    Ok(None)
}

#[derive(Deserialize, JsonSchema)]
struct Nested {
    inner: Inner,
}

#[derive(Deserialize, JsonSchema)]
struct Inner {
    count: u32,
}

/// Reads a nested count.
#[node(kind = "nt.nested")]
async fn nested(Params(params): Params<Nested>) -> Result<u32, NodeError> {
    Ok(params.inner.count)
}

/// Fails the way its input says.
#[node(kind = "nt.fail")]
async fn fail(Item(how): Item<String>) -> Result<String, std::io::Error> {
    Err(std::io::Error::other(how))
}

/// Fails with a string.
#[node(kind = "nt.fail_str")]
async fn fail_str(Item(how): Item<String>) -> Result<String, String> {
    Err(how)
}

/// Asks to be retried later.
#[node(kind = "nt.rate_limited")]
async fn rate_limited(Item(_): Item<Value>) -> Result<Value, NodeError> {
    Err(NodeError::retry_after(Duration::from_secs(7), "slow down"))
}

/// Version one of a versioned node.
#[node(kind = "nt.versioned")]
async fn versioned_1(Item(n): Item<i64>) -> Result<String, NodeError> {
    Ok(format!("v1:{n}"))
}

/// Version three of a versioned node.
#[node(kind = "nt.versioned", version = 3)]
async fn versioned_3(Item(n): Item<i64>) -> Result<String, NodeError> {
    Ok(format!("v3:{n}"))
}

/// Retried often.
#[node(
    kind = "nt.retry_full",
    retry(
        max_attempts = 7,
        initial = "250ms",
        max = "2m",
        backoff_rate = 1.5,
        jitter = "none"
    )
)]
async fn retry_full(Item(v): Item<Value>) -> Result<Value, NodeError> {
    Ok(v)
}

/// Retried in hours.
#[node(kind = "nt.retry_partial", retry(max = "1h"))]
async fn retry_partial(Item(v): Item<Value>) -> Result<Value, NodeError> {
    Ok(v)
}

/// First line of the description.
///
/// A second paragraph that
/// spans two lines.
///
///     indented code
#[node(kind = "nt.documented")]
async fn documented(Item(v): Item<Value>) -> Result<Value, NodeError> {
    Ok(v)
}

#[doc = "Documented with an attribute."]
#[node(kind = "nt.doc_attribute")]
async fn doc_attribute(Item(v): Item<Value>) -> Result<Value, NodeError> {
    Ok(v)
}

#[node(kind = "nt.undocumented")]
async fn undocumented(Item(v): Item<Value>) -> Result<Value, NodeError> {
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn registration(kind: &str) -> &'static NodeRegistration {
    Registry::global()
        .expect("no duplicate nodes")
        .latest(kind)
        .unwrap_or_else(|| panic!("`{kind}` is linked"))
}

fn source(node: &str, output_index: u32, item_index: u32) -> ItemSource {
    ItemSource {
        node: node.into(),
        output_index,
        item_index,
    }
}

/// Items with `json` values, each coming from item `i` of node `Up`.
fn from_up(values: impl IntoIterator<Item = Value>) -> Vec<ItemData> {
    values
        .into_iter()
        .zip(0..)
        .map(|(json, i)| ItemData {
            json,
            binary: None,
            source: Some(source("Up", 0, i)),
        })
        .collect()
}

fn sources(items: &[ItemData]) -> Vec<Option<u32>> {
    items
        .iter()
        .map(|item| item.source.as_ref().map(|source| source.item_index))
        .collect()
}

/// The node error of a run that must fail.
fn node_error(result: Result<hetumind::testing::TestOutput, TestError>) -> NodeError {
    match result {
        Err(TestError::Node(error)) => error,
        other => panic!("expected a node error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Modes and output forms.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_item_mode_calls_the_node_once_per_item() {
    assert_eq!(registration("nt.upper").mode, ExecuteMode::EachItem);
    let output = NodeTest::new("nt.upper")
        .items([json!("a"), json!("bc")])
        .run()
        .await
        .expect("runs");
    assert_eq!(output.json(0), [json!("A"), json!("BC")]);
    assert_eq!(output.named("main"), output.json(0));

    let empty = NodeTest::new("nt.upper").run().await.expect("runs");
    assert!(empty.json(0).is_empty());
    assert_eq!(empty.into_output().outputs.len(), 1, "one output, `main`");
}

#[tokio::test]
async fn all_mode_calls_the_node_once_with_every_item() {
    assert_eq!(registration("nt.sum").mode, ExecuteMode::All);
    let output = NodeTest::new("nt.sum")
        .items([json!(1), json!(2), json!(39)])
        .run()
        .await
        .expect("runs");
    assert_eq!(output.json(0), [json!(42)]);

    // Called even without items.
    let empty = NodeTest::new("nt.sum").run().await.expect("runs");
    assert_eq!(empty.json(0), [json!(0)]);
}

#[test]
fn a_node_without_input_runs_in_all_mode() {
    assert_eq!(registration("nt.no_params").mode, ExecuteMode::All);
    let output = NodeTest::new("nt.no_params")
        .items([json!({ "any": "thing" }), json!(3)])
        .run_blocking()
        .expect("runs");
    assert!(output.json(0).is_empty());
}

#[test]
fn vec_outputs_give_any_number_of_items() {
    let output = NodeTest::new("nt.count")
        .items([json!(3), json!(0), json!(1)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.json(0), [json!(1), json!(2), json!(3), json!(1)]);

    let none = NodeTest::new("nt.count")
        .items([json!(0), json!(0)])
        .run_blocking()
        .expect("runs");
    assert!(none.json(0).is_empty());
}

#[test]
fn option_outputs_filter() {
    let output = NodeTest::new("nt.evens")
        .items([json!(1), json!(2), json!(3), json!(4)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.json(0), [json!(2), json!(4)]);
}

#[test]
fn routed_outputs_go_to_the_output_they_name() {
    let registration = registration("nt.size");
    assert_eq!(registration.outputs, ["small", "large"]);
    let output = NodeTest::new("nt.size")
        .items([json!(1), json!(50), json!(9), json!(10)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.named("small"), [json!(1), json!(9)]);
    assert_eq!(output.named("large"), [json!(50), json!(10)]);
    assert_eq!(output.json(0), output.named("small"));
    assert_eq!(output.json(1), output.named("large"));
    assert_eq!(output.into_output().outputs.len(), 2);

    let only_large = NodeTest::new("nt.size")
        .items([json!(11)])
        .run_blocking()
        .expect("runs");
    assert!(only_large.named("small").is_empty());
    assert_eq!(only_large.named("large"), [json!(11)]);
}

#[test]
fn vec_and_option_of_routed_outputs() {
    let output = NodeTest::new("nt.both")
        .items([json!(1), json!(2)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.named("plus"), [json!(1), json!(2)]);
    assert_eq!(output.named("minus"), [json!(-1), json!(-2)]);

    let output = NodeTest::new("nt.maybe_route")
        .items([json!(-1), json!(1), json!(2), json!(0), json!(3)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.named("odd"), [json!(1), json!(3)]);
    assert_eq!(output.named("even"), [json!(2)]);

    let output = NodeTest::new("nt.parity_all")
        .items([json!(1), json!(2), json!(3), json!(4), json!(5)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.named("even"), [json!(2), json!(4)]);
    assert_eq!(output.named("odd"), [json!(1), json!(3), json!(5)]);
}

#[test]
fn routing_to_an_undeclared_output_at_run_time_is_a_clear_terminal_error() {
    let target: String = "maybe".to_owned();
    let error = node_error(
        NodeTest::new("nt.route_to")
            .params(json!({ "target": target }))
            .items([json!(1)])
            .run_blocking(),
    );
    assert_eq!(error.kind(), ErrorKind::Terminal);
    assert!(!error.is_retryable());
    let message = error.message();
    assert!(message.contains("`maybe`"), "names the output: {message}");
    assert!(
        message.contains("`yes`, `no`"),
        "lists the declared outputs: {message}"
    );

    // Declared names given at run time work.
    let output = NodeTest::new("nt.route_to")
        .params(json!({ "target": "no" }))
        .items([json!(1), json!(2)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.named("no"), [json!(1), json!(2)]);
    assert!(output.named("yes").is_empty());

    // `error` is not an output a node can route to, even when the instance has one.
    let error = node_error(
        NodeTest::new("nt.route_to")
            .params(json!({ "target": "error" }))
            .items([json!(1)])
            .run_blocking(),
    );
    assert!(error.message().contains("`error`"), "{}", error.message());
}

#[test]
fn a_node_with_several_outputs_routing_nowhere_fails_under_error_output_too() {
    let output = NodeTest::new("nt.route_to")
        .params(json!({ "target": "elsewhere" }))
        .items([json!(1)])
        .on_error(OnError::ErrorOutput)
        .run_blocking();
    // The routing error is the item's failure: under `error_output` the item goes there.
    let output = output.expect("runs");
    assert!(output.named("yes").is_empty());
    assert!(output.named("no").is_empty());
    let failed = output.named("error");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["error"]
            .as_str()
            .expect("error text")
            .contains("`elsewhere`")
    );
}

// ---------------------------------------------------------------------------------------------
// Lineage.
// ---------------------------------------------------------------------------------------------

#[test]
fn each_item_outputs_copy_the_lineage_of_their_input() {
    let output = NodeTest::new("nt.upper")
        .raw_items(from_up([json!("a"), json!("b")]))
        .run_blocking()
        .expect("runs");
    assert_eq!(
        output.items(0)[1].source,
        Some(source("Up", 0, 1)),
        "the whole source is copied"
    );
    assert_eq!(sources(output.items(0)), [Some(0), Some(1)]);

    let output = NodeTest::new("nt.count")
        .raw_items(from_up([json!(2), json!(0), json!(3)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(
        sources(output.items(0)),
        [Some(0), Some(0), Some(2), Some(2), Some(2)]
    );

    let output = NodeTest::new("nt.evens")
        .raw_items(from_up([json!(1), json!(2), json!(3), json!(4)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [Some(1), Some(3)]);

    let output = NodeTest::new("nt.size")
        .raw_items(from_up([json!(50), json!(1), json!(20)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [Some(1)]);
    assert_eq!(sources(output.items(1)), [Some(0), Some(2)]);

    let output = NodeTest::new("nt.both")
        .raw_items(from_up([json!(5), json!(6)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [Some(0), Some(1)]);
    assert_eq!(sources(output.items(1)), [Some(0), Some(1)]);

    // Items without lineage give outputs without lineage.
    let mut mixed = from_up([json!("x"), json!("y")]);
    mixed[0].source = None;
    let output = NodeTest::new("nt.upper")
        .raw_items(mixed)
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [None, Some(1)]);
}

#[test]
fn all_mode_outputs_are_paired_with_inputs_by_position_when_counts_match() {
    let output = NodeTest::new("nt.reshape")
        .params(json!({ "out": 3 }))
        .raw_items(from_up([json!("a"), json!("b"), json!("c")]))
        .run_blocking()
        .expect("runs");
    assert_eq!(output.json(0), [json!(0), json!(1), json!(2)]);
    assert_eq!(sources(output.items(0)), [Some(0), Some(1), Some(2)]);
}

#[test]
fn all_mode_outputs_of_a_single_input_all_derive_from_it() {
    let mut single = from_up([json!("only")]);
    single[0].source = Some(source("Up", 2, 7));
    let output = NodeTest::new("nt.reshape")
        .params(json!({ "out": 3 }))
        .raw_items(single)
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [Some(7), Some(7), Some(7)]);
    assert_eq!(output.items(0)[2].source, Some(source("Up", 2, 7)));

    let sum = NodeTest::new("nt.sum")
        .raw_items(from_up([json!(4)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(sum.items(0)), [Some(0)]);
}

#[test]
fn all_mode_outputs_have_no_lineage_when_counts_differ() {
    let output = NodeTest::new("nt.reshape")
        .params(json!({ "out": 2 }))
        .raw_items(from_up([json!("a"), json!("b"), json!("c")]))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [None, None]);

    let sum = NodeTest::new("nt.sum")
        .raw_items(from_up([json!(1), json!(2)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(sum.items(0)), [None]);

    // Nothing in, something out.
    let output = NodeTest::new("nt.reshape")
        .params(json!({ "out": 2 }))
        .run_blocking()
        .expect("runs");
    assert_eq!(sources(output.items(0)), [None, None]);
}

// ---------------------------------------------------------------------------------------------
// on_error.
// ---------------------------------------------------------------------------------------------

fn divisions() -> Vec<ItemData> {
    from_up([
        json!({ "n": 10, "by": 2 }),
        json!({ "n": 1, "by": 0 }),
        json!({ "n": 9, "by": 3 }),
    ])
}

#[test]
fn on_error_stop_fails_the_node() {
    let error = node_error(
        NodeTest::new("nt.divide")
            .raw_items(divisions())
            .on_error(OnError::Stop)
            .run_blocking(),
    );
    assert_eq!(error.message(), "cannot divide 1 by zero");
    assert_eq!(error.kind(), ErrorKind::Terminal);
}

#[test]
fn on_error_continue_passes_the_failed_item_on_with_an_error_field() {
    let output = NodeTest::new("nt.divide")
        .raw_items(divisions())
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    assert_eq!(
        output.json(0),
        [
            json!(5),
            json!({ "n": 1, "by": 0, "error": "cannot divide 1 by zero" }),
            json!(3)
        ]
    );
    assert_eq!(sources(output.items(0)), [Some(0), Some(1), Some(2)]);
    assert_eq!(output.into_output().outputs.len(), 1, "no error output");

    // A failed item that is not an object keeps its value under `value`.
    let output = NodeTest::new("nt.fail_str")
        .items([json!("nope")])
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    assert_eq!(
        output.json(0),
        [json!({ "value": "nope", "error": "nope" })]
    );

    // An item that does not convert fails like any other.
    let output = NodeTest::new("nt.divide")
        .items([json!({ "n": 4, "by": 2 }), json!({ "n": "four", "by": 2 })])
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    let failed = &output.json(0)[1];
    assert_eq!(failed["n"], json!("four"));
    let message = failed["error"].as_str().expect("error text");
    assert!(message.contains("invalid input item 1"), "{message}");
    assert!(message.contains("`n`"), "names the field: {message}");
}

#[test]
fn on_error_error_output_sends_failed_items_to_the_error_output() {
    let output = NodeTest::new("nt.divide")
        .raw_items(divisions())
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("routes errors");
    assert_eq!(output.named("main"), [json!(5), json!(3)]);
    assert_eq!(
        output.named("error"),
        [json!({ "n": 1, "by": 0, "error": "cannot divide 1 by zero" })]
    );
    assert_eq!(output.named("error"), output.json(1));
    assert_eq!(sources(output.items(0)), [Some(0), Some(2)]);
    assert_eq!(sources(output.items(1)), [Some(1)]);

    // The error output comes after every declared output, even when it stays empty.
    let output = NodeTest::new("nt.fussy_router")
        .items([json!(2), json!(3), json!(12)])
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("routes errors");
    assert_eq!(output.named("low"), [json!(2)]);
    assert_eq!(output.named("high"), [json!(12)]);
    assert_eq!(
        output.named("error"),
        [json!({ "value": 3, "error": "odd: 3" })]
    );
    assert_eq!(output.json(2), output.named("error"));
    let clean = NodeTest::new("nt.fussy_router")
        .items([json!(2)])
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("runs");
    assert_eq!(clean.into_output().outputs.len(), 3);
}

#[test]
fn on_error_in_all_mode_applies_to_every_item() {
    let error = node_error(
        NodeTest::new("nt.divide_all")
            .raw_items(divisions())
            .run_blocking(),
    );
    assert_eq!(error.message(), "division by zero");

    let output = NodeTest::new("nt.divide_all")
        .raw_items(divisions())
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    let failed = output.json(0);
    assert_eq!(failed.len(), 3);
    assert!(
        failed
            .iter()
            .all(|item| item["error"] == json!("division by zero"))
    );
    assert_eq!(failed[2]["n"], json!(9));
    assert_eq!(sources(output.items(0)), [Some(0), Some(1), Some(2)]);

    let output = NodeTest::new("nt.divide_all")
        .raw_items(divisions())
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("routes errors");
    assert!(output.named("main").is_empty());
    assert_eq!(output.named("error").len(), 3);
    assert_eq!(sources(output.items(1)), [Some(0), Some(1), Some(2)]);

    let fine = NodeTest::new("nt.divide_all")
        .items([json!({ "n": 8, "by": 2 })])
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("runs");
    assert_eq!(fine.named("main"), [json!(4)]);
    assert!(fine.named("error").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Errors.
// ---------------------------------------------------------------------------------------------

#[test]
fn error_kinds_survive_the_executor() {
    let io = node_error(
        NodeTest::new("nt.fail")
            .items([json!("disk")])
            .run_blocking(),
    );
    assert_eq!(io.kind(), ErrorKind::Retryable);
    assert_eq!(io.message(), "disk");

    let text = node_error(
        NodeTest::new("nt.fail_str")
            .items([json!("bad")])
            .run_blocking(),
    );
    assert_eq!(text.kind(), ErrorKind::Terminal);

    let later = node_error(
        NodeTest::new("nt.rate_limited")
            .items([json!(1)])
            .run_blocking(),
    );
    assert_eq!(later.kind(), ErrorKind::RetryAfter { after_ms: 7000 });
    assert!(later.is_retryable());

    let failed = NodeTest::new("nt.fail").items([json!("x")]).run_blocking();
    assert_eq!(failed.expect_err("fails").to_string(), "the node failed: x");
}

#[test]
fn bad_parameters_and_items_are_terminal_and_name_the_json_path() {
    let error = node_error(
        NodeTest::new("nt.nested")
            .params(json!({ "inner": { "count": "many" } }))
            .run_blocking(),
    );
    assert_eq!(error.kind(), ErrorKind::Terminal);
    let message = error.message();
    assert!(message.starts_with("invalid parameters"), "{message}");
    assert!(message.contains("`inner.count`"), "{message}");

    let error = node_error(
        NodeTest::new("nt.divide")
            .items([json!({ "n": 1, "by": 1 }), json!({ "n": 1, "by": [] })])
            .run_blocking(),
    );
    assert_eq!(error.kind(), ErrorKind::Terminal);
    assert!(
        error.message().starts_with("invalid input item 1: at `by`"),
        "{}",
        error.message()
    );

    let error = node_error(NodeTest::new("nt.upper").items([json!(5)]).run_blocking());
    assert!(
        error.message().starts_with("invalid input item 0"),
        "{}",
        error.message()
    );

    let check = registration("nt.nested").check_params;
    assert!(check(&json!({ "inner": { "count": 1 } })).is_ok());
    let error = check(&json!({ "inner": {} })).expect_err("missing count");
    assert!(error.message().contains("`count`"), "{}", error.message());
}

#[test]
fn a_node_without_params_rejects_stray_parameters_clearly() {
    let error = node_error(
        NodeTest::new("nt.no_params")
            .params(json!({ "colour": "red" }))
            .run_blocking(),
    );
    assert_eq!(error.kind(), ErrorKind::Terminal);
    let message = error.message();
    assert!(message.starts_with("invalid parameters"), "{message}");
    assert!(message.contains("unknown field `colour`"), "{message}");

    let check = registration("nt.no_params").check_params;
    assert!(check(&json!({})).is_ok());
    let error = check(&json!({ "colour": "red" })).expect_err("stray parameter");
    assert!(error.message().contains("`colour`"), "{}", error.message());

    let schema = (registration("nt.no_params").params_schema)().to_value();
    assert_eq!(schema["type"], json!("object"));
    assert_eq!(schema["additionalProperties"], json!(false));
    assert_eq!(
        schema["description"],
        json!("This node takes no parameters.")
    );

    NodeTest::new("nt.no_params")
        .run_blocking()
        .expect("no parameters are fine");
}

#[test]
fn unknown_nodes_are_reported() {
    let error = NodeTest::new("nt.missing")
        .run_blocking()
        .expect_err("not linked");
    assert!(matches!(error, TestError::UnknownNode { .. }), "{error:?}");
    assert!(error.to_string().contains("`nt.missing`"), "{error}");
    assert!(error.to_string().contains("latest"), "{error}");

    let error = NodeTest::new("nt.versioned")
        .version(2)
        .run_blocking()
        .expect_err("no version 2");
    assert!(error.to_string().contains("version 2"), "{error}");
}

#[test]
fn the_highest_version_runs_unless_one_is_asked_for() {
    let latest = NodeTest::new("nt.versioned")
        .items([json!(1)])
        .run_blocking()
        .expect("runs");
    assert_eq!(latest.json(0), [json!("v3:1")]);
    let first = NodeTest::new("nt.versioned")
        .version(1)
        .items([json!(1)])
        .run_blocking()
        .expect("runs");
    assert_eq!(first.json(0), [json!("v1:1")]);
}

// ---------------------------------------------------------------------------------------------
// The context.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn ctx_describes_the_execution_attempt_and_item() {
    let mut items = from_up([json!({ "a": 1 }), json!("b")]);
    items[1].binary = Some(
        [(
            "file".to_owned(),
            hetumind::model::BinaryRef {
                file_key: "k".to_owned(),
                mime_type: "text/plain".to_owned(),
                file_size: 2,
                file_name: None,
            },
        )]
        .into(),
    );
    let output = NodeTest::new("nt.ctx_each")
        .attempt(3)
        .raw_items(items.clone())
        .run()
        .await
        .expect("runs");
    let seen = output.json(0);
    assert_eq!(seen.len(), 2);
    for (index, seen) in seen.iter().enumerate() {
        assert_eq!(seen["execution_id"], json!("test-execution"));
        assert_eq!(seen["node_name"], json!("nt.ctx_each"));
        assert_eq!(seen["attempt"], json!(3));
        assert_eq!(
            seen["idempotency_key"],
            json!("test-execution:nt.ctx_each:3")
        );
        assert_eq!(seen["item_index"], json!(index));
        assert_eq!(
            seen["item"],
            serde_json::to_value(&items[index]).expect("json")
        );
        assert_eq!(seen["items"], json!(2));
        assert_eq!(seen["remaining"], Value::Null, "no deadline under test");
    }
    assert_eq!(seen[1]["item"]["binary"]["file"]["file_key"], json!("k"));
    assert_eq!(seen[0]["value"], json!({ "a": 1 }));

    let first = NodeTest::new("nt.ctx_each")
        .items([json!(null)])
        .run()
        .await
        .expect("runs");
    assert_eq!(
        first.json(0)[0]["attempt"],
        json!(1),
        "the first attempt by default"
    );
    assert_eq!(
        first.json(0)[0]["idempotency_key"],
        json!("test-execution:nt.ctx_each:1")
    );
}

#[tokio::test]
async fn ctx_in_all_mode_has_no_current_item() {
    let output = NodeTest::new("nt.ctx_all")
        .attempt(2)
        .raw_items(from_up([json!(1), json!(2), json!(3)]))
        .run()
        .await
        .expect("runs");
    let seen = &output.json(0)[0];
    assert_eq!(seen["item"], Value::Null);
    assert_eq!(seen["item_index"], Value::Null);
    assert_eq!(seen["items"], json!(3));
    assert_eq!(seen["value"], json!([1, 2, 3]));
    assert_eq!(
        seen["idempotency_key"],
        json!("test-execution:nt.ctx_all:2")
    );
}

// ---------------------------------------------------------------------------------------------
// The registration.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_retry_attribute_sets_the_default_policy() {
    assert_eq!(
        registration("nt.retry_full").retry,
        RetryPolicy {
            max_attempts: 7,
            initial_interval: Duration::from_millis(250),
            backoff_rate: 1.5,
            max_interval: Duration::from_secs(120),
            jitter: Jitter::None,
        }
    );
    assert_eq!(
        registration("nt.retry_partial").retry,
        RetryPolicy {
            max_interval: Duration::from_secs(3600),
            ..RetryPolicy::DEFAULT
        }
    );
    assert_eq!(registration("nt.upper").retry, RetryPolicy::DEFAULT);
}

#[test]
fn the_doc_comment_is_the_description() {
    assert_eq!(
        registration("nt.documented").description,
        "First line of the description.\n\nA second paragraph that\nspans two lines.\n\n    indented code"
    );
    assert_eq!(
        registration("nt.doc_attribute").description,
        "Documented with an attribute."
    );
    assert_eq!(registration("nt.undocumented").description, "");
    assert_eq!(
        registration("nt.upper").description,
        "Upper-cases every text."
    );
}

#[test]
fn registrations_describe_outputs_and_schemas() {
    let upper = registration("nt.upper");
    assert_eq!(upper.kind, "nt.upper");
    assert_eq!(upper.version, 1);
    assert_eq!(upper.outputs, ["main"]);
    assert_eq!((upper.input_schema)().to_value()["type"], json!("string"));
    assert_eq!((upper.output_schema)().to_value()["type"], json!("string"));

    let divide = registration("nt.divide");
    let input = (divide.input_schema)().to_value();
    assert_eq!(input["required"], json!(["n", "by"]));
    assert_eq!(
        input["properties"]["by"]["description"],
        json!("What to divide it by.")
    );

    // A node without input takes anything: its input schema constrains nothing.
    let any = (registration("nt.no_params").input_schema)().to_value();
    assert_eq!(any["title"], json!("AnyItem"));
    for keyword in ["type", "properties", "required", "enum", "const", "not"] {
        assert!(any.get(keyword).is_none(), "`{keyword}` in {any}");
    }
    assert_eq!(registration("nt.versioned").version, 3);
    assert_eq!(registration("nt.both").outputs, ["plus", "minus"]);
}

#[test]
fn all_mode_lineage_follows_emission_order_across_routed_outputs() {
    let output = NodeTest::new("nt.parity_all")
        .raw_items(from_up([json!(1), json!(2), json!(3)]))
        .run_blocking()
        .expect("runs");
    assert_eq!(output.named("even"), [json!(2)]);
    assert_eq!(output.named("odd"), [json!(1), json!(3)]);
    assert_eq!(sources(output.items(0)), [Some(1)]);
    assert_eq!(sources(output.items(1)), [Some(0), Some(2)]);
}

#[test]
fn an_item_that_fails_halfway_leaves_only_its_failure_behind() {
    let params = json!({ "target": "nowhere" });
    let continued = NodeTest::new("nt.yes_then")
        .params(params.clone())
        .on_error(OnError::Continue)
        .items([json!(7)])
        .run_blocking()
        .expect("continues");
    // Nothing of the half-emitted item reached `yes` except the failed item itself.
    let yes = continued.named("yes");
    assert_eq!(yes.len(), 1, "{yes:?}");
    assert!(
        yes[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("`nowhere`"))
    );
    assert!(continued.named("no").is_empty());

    let routed = NodeTest::new("nt.yes_then")
        .params(params)
        .on_error(OnError::ErrorOutput)
        .items([json!(7)])
        .run_blocking()
        .expect("routes the error");
    assert!(routed.named("yes").is_empty());
    assert_eq!(routed.named("error").len(), 1);
}

#[test]
fn outputs_keep_the_binary_attachments_of_the_item_they_derive_from() {
    let attached: ItemData = serde_json::from_value(json!({
        "json": "report",
        "binary": { "pdf": { "file_key": "files/r.pdf", "mime_type": "application/pdf", "file_size": 3 } }
    }))
    .unwrap();
    // Each-item mode: every output of an item carries its attachments.
    let output = NodeTest::new("nt.upper")
        .raw_items([attached.clone(), ItemData::new(json!("plain"))])
        .run_blocking()
        .unwrap();
    assert_eq!(output.items(0)[0].binary, attached.binary);
    assert_eq!(output.items(0)[1].binary, None);
    // All mode: a single input's attachments go to what it produced.
    let output = NodeTest::new("nt.sum")
        .raw_items([ItemData {
            json: json!(2),
            ..attached.clone()
        }])
        .run_blocking()
        .unwrap();
    assert_eq!(output.items(0)[0].binary, attached.binary);
}

/// Says what time it is.
#[node(kind = "nt.clock")]
async fn clock(Item(_v): Item<Value>, ctx: Ctx) -> Result<String, NodeError> {
    Ok(ctx.now().to_rfc3339())
}

#[test]
fn a_node_test_can_fix_the_time_the_node_sees() {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
        .unwrap()
        .to_utc();
    let output = NodeTest::new("nt.clock")
        .items([json!(1)])
        .now(now)
        .run_blocking()
        .unwrap();
    assert_eq!(output.json(0), [json!("2026-11-28T12:00:00+00:00")]);
}

/// Reports the size of each text it passes on.
#[node(kind = "nt.measure")]
async fn measure(ctx: &Ctx, Item(text): Item<String>) -> Result<String, NodeError> {
    ctx.metric("TextBytes", text.len() as f64, hetumind::MetricUnit::Bytes)?;
    Ok(text)
}

/// Reports a metric under a name the function's own lines use.
#[node(kind = "nt.bad_metric")]
async fn bad_metric(ctx: &Ctx, Item(value): Item<Value>) -> Result<Value, NodeError> {
    ctx.metric("Workflow", 1.0, hetumind::MetricUnit::Count)?;
    Ok(value)
}

#[tokio::test]
async fn the_metrics_a_node_reports_are_recorded_in_order() {
    let output = NodeTest::new("nt.measure")
        .items([json!("ab"), json!("abcd")])
        .run()
        .await
        .unwrap();
    let reported: Vec<(&str, f64, hetumind::MetricUnit)> = output
        .metrics()
        .iter()
        .map(|metric| (metric.name.as_str(), metric.value, metric.unit))
        .collect();
    let bytes = hetumind::MetricUnit::Bytes;
    assert_eq!(
        reported,
        [("TextBytes", 2.0, bytes), ("TextBytes", 4.0, bytes)]
    );
}

#[tokio::test]
async fn a_metric_with_a_reserved_name_fails_the_item_naming_it() {
    let error = NodeTest::new("nt.bad_metric")
        .items([json!(1)])
        .run()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("\"Workflow\""), "{message}");
    assert!(message.contains("metric"), "{message}");
}
