//! `acme.order_total` on its own (`NodeTest`: called exactly as the engine calls it), then the
//! whole `workflows/orders.json` (`WorkflowTest`: through the engine, on an in-memory store).

use hetumind::ItemData;
use hetumind::model::ExecutionStatus;
use hetumind::testing::{NodeTest, TestError, WorkflowTest};
use serde_json::json;

// A test file is a binary of its own: this links the crate's library and every dependency
// (the built-in nodes included), so their nodes are in its registry.
hetumind::link_node_crates!();

#[test]
fn totals_an_order_and_rounds_the_tax_half_up() {
    let out = NodeTest::new("acme.order_total")
        .params(json!({ "tax_percent": 20 }))
        .items([json!({
            "id": "A-2",
            "lines": [
                { "quantity": 1, "unit_price_cents": 4999 },
                { "quantity": 3, "unit_price_cents": 333 }
            ]
        })])
        .run_blocking()
        .expect("the node runs");
    // 5998 cents, and 20 % of it is 1199.6 cents: 1200.
    assert_eq!(
        out.json(0),
        [json!({ "id": "A-2", "subtotal_cents": 5998, "tax_cents": 1200, "total_cents": 7198 })]
    );
}

#[test]
fn an_order_without_lines_fails_for_good() {
    let result = NodeTest::new("acme.order_total")
        .params(json!({ "tax_percent": 20 }))
        .items([json!({ "id": "A-9", "lines": [] })])
        .run_blocking();
    match result {
        Err(TestError::Node(error)) => {
            assert!(!error.is_retryable(), "{error}");
            assert_eq!(error.message(), "order `A-9` has no lines");
        }
        other => panic!("expected the node to fail, got {other:?}"),
    }
}

#[test]
fn bad_parameters_name_the_field() {
    let result = NodeTest::new("acme.order_total")
        .params(json!({ "tax_percent": "twenty" }))
        .items([json!({ "id": "A-1", "lines": [] })])
        .run_blocking();
    let error = result
        .expect_err("a string is not a percentage")
        .to_string();
    assert!(error.contains("tax_percent"), "{error}");
}

#[test]
fn the_workflow_totals_every_order_largest_first() {
    let input = std::fs::read_to_string("workflows/inputs/orders.json").expect("the input file");
    let input: Vec<ItemData> = serde_json::from_str(&input).expect("input items");
    let run = WorkflowTest::from_file("workflows/orders.json")
        .raw_input(input)
        .run_blocking()
        .expect("the workflow runs");
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    let ids: Vec<_> = run
        .output()
        .iter()
        .map(|total| total["id"].clone())
        .collect();
    assert_eq!(ids, [json!("A-2"), json!("A-1"), json!("A-3")]);
    assert_eq!(
        run.output()[0],
        json!({ "id": "A-2", "subtotal_cents": 5998, "tax_cents": 1200, "total_cents": 7198 })
    );
}
