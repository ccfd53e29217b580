//! Tests of the flow nodes: `core.merge`, `core.limit`, `core.split_out`, `core.aggregate`,
//! `core.stop_and_error` and `core.wait`.

use chrono::{DateTime, TimeDelta, Utc};
use hetumind::model::ExecutionStatus;
use hetumind::testing::{NodeTest, TestError, WorkflowRun, WorkflowTest};
use serde_json::{Value, json};

/// A workflow of `nodes` (`(name, kind, parameters)`) run one after the other.
pub(super) fn chain(nodes: &[(&str, &str, Value)]) -> Value {
    let instances: Vec<Value> = nodes
        .iter()
        .map(|(name, kind, parameters)| {
            json!({ "name": name, "kind": kind, "parameters": parameters })
        })
        .collect();
    let connections: serde_json::Map<String, Value> = nodes
        .windows(2)
        .map(|pair| {
            (
                pair[0].0.to_owned(),
                json!({ "main": [[{ "node": pair[1].0, "kind": "main", "index": 0 }]] }),
            )
        })
        .collect();
    json!({ "id": "test", "nodes": instances, "connections": connections })
}

/// The text of the error a node test ended with.
pub(super) fn node_error(test: NodeTest) -> String {
    match test.run_blocking() {
        Ok(output) => panic!("expected an error, got {:?}", output.json(0)),
        Err(error) => error.to_string(),
    }
}

/// Asserts that `text` contains every one of `parts`.
pub(super) fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "`{part}` is not in: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// core.merge

/// Start feeds two `core.split_out`s, on `left` and on `right`, into inputs 0 and 1 of Merge.
fn merge_workflow(merge: Value) -> Value {
    json!({
        "id": "merge",
        "nodes": [
            { "name": "Start", "kind": "core.manual_trigger" },
            { "name": "Left", "kind": "core.split_out", "parameters": { "field": "left" } },
            { "name": "Right", "kind": "core.split_out", "parameters": { "field": "right" } },
            { "name": "Merge", "kind": "core.merge", "parameters": merge }
        ],
        "connections": {
            "Start": { "main": [[
                { "node": "Left", "kind": "main", "index": 0 },
                { "node": "Right", "kind": "main", "index": 0 }
            ]] },
            "Left": { "main": [[{ "node": "Merge", "kind": "main", "index": 0 }]] },
            "Right": { "main": [[{ "node": "Merge", "kind": "main", "index": 1 }]] }
        }
    })
}

fn customers_and_orders() -> Value {
    json!({
        "left": [
            { "id": 1, "name": "Ada" },
            { "id": 2, "name": "Grace" },
            { "id": 3, "name": "Edsger" }
        ],
        "right": [
            { "customer": 2, "total": 10, "name": "G." },
            { "customer": 1, "total": 20 },
            { "customer": 2, "total": 30 },
            { "customer": 9, "total": 40 }
        ]
    })
}

#[tokio::test]
async fn merge_appends_two_branches_in_input_order() {
    let run = WorkflowTest::new(merge_workflow(json!({})))
        .input([json!({ "left": [{ "a": 1 }, { "a": 2 }], "right": [{ "b": 1 }] })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(
        run.output(),
        [json!({ "a": 1 }), json!({ "a": 2 }), json!({ "b": 1 })]
    );
}

#[tokio::test]
async fn merge_combines_two_branches_by_key() {
    let run = WorkflowTest::new(merge_workflow(json!({
        "mode": "combine_by_key", "key_left": "id", "key_right": "customer"
    })))
    .input([customers_and_orders()])
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    // Pairs in the order of input 0; input 1's fields win; two orders of Grace give two items.
    assert_eq!(
        run.output(),
        [
            json!({ "id": 1, "name": "Ada", "customer": 1, "total": 20 }),
            json!({ "id": 2, "name": "G.", "customer": 2, "total": 10 }),
            json!({ "id": 2, "name": "Grace", "customer": 2, "total": 30 }),
        ]
    );
}

fn combine(join: &str) -> Vec<Value> {
    let data = customers_and_orders();
    NodeTest::new("core.merge")
        .params(json!({
            "mode": "combine_by_key", "key_left": "id", "key_right": "customer", "join": join
        }))
        .input(0, data["left"].as_array().unwrap().clone())
        .input(1, data["right"].as_array().unwrap().clone())
        .run_blocking()
        .unwrap()
        .json(0)
}

#[test]
fn merge_joins_keep_the_unmatched_items_asked_for() {
    let ada = json!({ "id": 1, "name": "Ada", "customer": 1, "total": 20 });
    let grace = [
        json!({ "id": 2, "name": "G.", "customer": 2, "total": 10 }),
        json!({ "id": 2, "name": "Grace", "customer": 2, "total": 30 }),
    ];
    let edsger = json!({ "id": 3, "name": "Edsger" });
    let stray = json!({ "customer": 9, "total": 40 });
    let inner = vec![ada.clone(), grace[0].clone(), grace[1].clone()];
    assert_eq!(combine("inner"), inner);
    let mut left = inner.clone();
    left.push(edsger.clone());
    assert_eq!(combine("left"), left);
    let mut right = inner.clone();
    right.push(stray.clone());
    assert_eq!(combine("right"), right);
    assert_eq!(
        combine("full"),
        [ada, grace[0].clone(), grace[1].clone(), edsger, stray]
    );
}

#[test]
fn merge_by_one_key_on_nested_paths_and_without_key_values() {
    let out = NodeTest::new("core.merge")
        .params(json!({ "mode": "combine_by_key", "key": "ref.id", "join": "left" }))
        .input(
            0,
            [
                json!({ "ref": { "id": "a" }, "l": 1 }),
                json!({ "l": 2 }),
                json!({ "ref": { "id": null }, "l": 3 }),
            ],
        )
        .input(
            1,
            [
                json!({ "ref": { "id": "a" }, "r": 1 }),
                json!({ "r": 2 }),
                json!({ "ref": { "id": null }, "r": 3 }),
            ],
        )
        .run_blocking()
        .unwrap();
    // Missing and null keys match nothing; `left` keeps those items of input 0 as they are.
    assert_eq!(
        out.json(0),
        [
            json!({ "ref": { "id": "a" }, "l": 1, "r": 1 }),
            json!({ "l": 2 }),
            json!({ "ref": { "id": null }, "l": 3 }),
        ]
    );
}

#[test]
fn merge_keys_compare_as_json_values_and_non_objects_are_replaced() {
    let out = NodeTest::new("core.merge")
        .params(json!({ "mode": "combine_by_key", "key": "" }))
        .input(0, [json!(1), json!("1"), json!({ "k": 1, "j": [true] })])
        .input(1, [json!("1"), json!({ "j": [true], "k": 1 }), json!(2)])
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), [json!("1"), json!({ "k": 1, "j": [true] })]);
}

#[test]
fn merge_joins_keys_equal_by_value_as_remove_duplicates_finds_them() {
    // The keys as JSON text: `1` and `1.0` differ as text, not as numbers.
    let one_point_zero: Value = serde_json::from_str("1.0").unwrap();
    let one_e_zero: Value = serde_json::from_str("1e0").unwrap();
    let left = [
        json!({ "id": 1, "name": "Ada" }),
        json!({ "id": { "n": 2, "tags": [3] }, "name": "Grace" }),
        json!({ "id": "4", "name": "Edsger" }),
    ];
    let right = [
        json!({ "customer": { "id": one_point_zero }, "order": "a" }),
        json!({ "customer": { "id": { "tags": [3.0], "n": 2e0 } }, "order": "b" }),
        json!({ "customer": { "id": one_e_zero }, "order": "c" }),
        json!({ "customer": { "id": 4 }, "order": "d" }),
    ];
    let out = NodeTest::new("core.merge")
        .params(
            json!({ "mode": "combine_by_key", "key_left": "id", "key_right": "customer.id",
                        "join": "full" }),
        )
        .input(0, left.clone())
        .input(1, right.clone())
        .run_blocking()
        .unwrap();
    let merged = out.json(0);
    let orders: Vec<(&str, &str)> = merged
        .iter()
        .map(|item| {
            (
                item["name"].as_str().unwrap_or("-"),
                item["order"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    // `"4"` (a string) and `4` (a number) differ: Edsger and order d stay unmatched.
    assert_eq!(
        orders,
        [
            ("Ada", "a"),
            ("Ada", "c"),
            ("Grace", "b"),
            ("Edsger", "-"),
            ("-", "d")
        ]
    );

    // The same keys are duplicates for `core.remove_duplicates`.
    let keys: Vec<Value> = left
        .iter()
        .map(|item| json!({ "k": item["id"] }))
        .chain(
            right
                .iter()
                .map(|item| json!({ "k": item["customer"]["id"] })),
        )
        .collect();
    let distinct = NodeTest::new("core.remove_duplicates")
        .params(json!({ "fields": ["k"] }))
        .items(keys)
        .run_blocking()
        .unwrap()
        .json(0);
    assert_eq!(
        distinct,
        [
            json!({ "k": 1 }),
            json!({ "k": { "n": 2, "tags": [3] } }),
            json!({ "k": "4" }),
            json!({ "k": 4 })
        ]
    );
}

/// Start feeds A (input 0 of Merge) and, through a `core.limit` keeping nothing, B (input 1),
/// which is therefore skipped.
fn skipped_branch_workflow(merge: Value) -> Value {
    json!({
        "id": "partial",
        "nodes": [
            { "name": "Start", "kind": "core.manual_trigger" },
            { "name": "A", "kind": "core.no_op" },
            { "name": "None", "kind": "core.limit", "parameters": { "max_items": 0 } },
            { "name": "B", "kind": "core.no_op" },
            { "name": "Merge", "kind": "core.merge", "parameters": merge }
        ],
        "connections": {
            "Start": { "main": [[
                { "node": "A", "kind": "main", "index": 0 },
                { "node": "None", "kind": "main", "index": 0 }
            ]] },
            "None": { "main": [[{ "node": "B", "kind": "main", "index": 0 }]] },
            "A": { "main": [[{ "node": "Merge", "kind": "main", "index": 0 }]] },
            "B": { "main": [[{ "node": "Merge", "kind": "main", "index": 1 }]] }
        }
    })
}

#[tokio::test]
async fn merge_reads_one_input_per_connection_and_other_nodes_input_0_only() {
    let catalog = serde_json::to_value(hetumind::Registry::global().unwrap().catalog()).unwrap();
    let inputs = |kind: &str| {
        catalog
            .as_array()
            .unwrap()
            .iter()
            .find(|node| node["kind"] == kind)
            .map(|node| node["inputs"].clone())
    };
    assert_eq!(inputs("core.merge"), Some(json!("any")));
    assert_eq!(inputs("core.no_op"), Some(json!(1)));

    let mut workflow = skipped_branch_workflow(json!({}));
    workflow["connections"]["B"]["main"][0][0]["index"] = json!(2);
    workflow["connections"]["None"]["main"][0][0]["index"] = json!(1);
    let error = WorkflowTest::new(workflow)
        .run()
        .await
        .unwrap_err()
        .to_string();
    assert_mentions(
        &error,
        &[
            "connections.B.main[0][0].index",
            "with 2 connection(s) into it, it has no input 2",
            "connections.None.main[0][0].index",
            "`B` reads one input (0): it has no input 1",
        ],
    );
}

async fn run_partial(merge: Value) -> WorkflowRun {
    let run = WorkflowTest::new(skipped_branch_workflow(merge))
        .input([json!({ "id": 1 }), json!({ "id": 2 })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    // B was skipped: it has no result.
    assert!(matches!(run.items("B").await, Err(TestError::NoResult(_))));
    run
}

#[tokio::test]
async fn merge_with_a_skipped_branch() {
    let both = [json!({ "id": 1 }), json!({ "id": 2 })];
    let run = run_partial(json!({ "mode": "append" })).await;
    assert_eq!(run.json("Merge", 0).await.unwrap(), both);

    let run = run_partial(json!({ "mode": "wait_for_both" })).await;
    assert_eq!(run.json("Merge", 0).await.unwrap(), Vec::<Value>::new());

    let run = run_partial(json!({ "mode": "combine_by_key", "key": "id" })).await;
    assert_eq!(run.json("Merge", 0).await.unwrap(), Vec::<Value>::new());

    let run = run_partial(json!({ "mode": "combine_by_key", "key": "id", "join": "left" })).await;
    assert_eq!(run.json("Merge", 0).await.unwrap(), both);
}

#[test]
fn merge_wait_for_both_appends_when_every_input_delivered() {
    let out = NodeTest::new("core.merge")
        .params(json!({ "mode": "wait_for_both" }))
        .input(0, [json!(1)])
        .input(1, [json!(2), json!(3)])
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), [json!(1), json!(2), json!(3)]);
    let out = NodeTest::new("core.merge")
        .params(json!({ "mode": "wait_for_both" }))
        .input(1, [json!(2)])
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
}

#[test]
fn merge_appends_any_number_of_inputs_and_nothing_gives_nothing() {
    let out = NodeTest::new("core.merge")
        .input(0, [json!(1)])
        .input(2, [json!(3)])
        .input(1, [json!(2)])
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), [json!(1), json!(2), json!(3)]);
    for mode in ["append", "wait_for_both"] {
        let out = NodeTest::new("core.merge")
            .params(json!({ "mode": mode }))
            .run_blocking()
            .unwrap();
        assert_eq!(out.json(0), Vec::<Value>::new());
    }
    let out = NodeTest::new("core.merge")
        .params(json!({ "mode": "combine_by_key", "key": "id", "join": "full" }))
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
}

#[test]
fn merge_combine_refuses_a_third_input() {
    let error = node_error(
        NodeTest::new("core.merge")
            .params(json!({ "mode": "combine_by_key", "key": "id" }))
            .input(0, [json!({ "id": 1 })])
            .input(2, [json!({ "id": 1 })]),
    );
    assert_mentions(&error, &["combine_by_key", "input 2"]);
}

#[test]
fn merge_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({ "mode": "combine_by_key" }), &["`key`"][..]),
        (
            json!({ "mode": "combine_by_key", "key_left": "id" }),
            &["`key_right`"][..],
        ),
        (json!({ "mode": "append", "join": "left" }), &["`join`"][..]),
        (json!({ "key": "id" }), &["`key`", "combine_by_key"][..]),
        (json!({ "mode": "zip" }), &["`mode`", "zip"][..]),
        (
            json!({ "mode": "combine_by_key", "key": "id", "join": "outer" }),
            &["`join`", "outer"][..],
        ),
        (
            json!({ "mode": "combine_by_key", "key": "a..b" }),
            &["`key`", "a..b"][..],
        ),
        (json!({ "modes": "append" }), &["modes"][..]),
    ];
    for (params, parts) in cases {
        let error = node_error(
            NodeTest::new("core.merge")
                .params(params)
                .items([json!({})]),
        );
        assert_mentions(&error, &["invalid parameters"]);
        assert_mentions(&error, parts);
    }
}

#[tokio::test]
async fn an_invalid_merge_is_refused_before_anything_runs() {
    let error = WorkflowTest::new(merge_workflow(json!({ "mode": "combine_by_key" })))
        .run()
        .await
        .unwrap_err();
    assert_mentions(&error.to_string(), &["nodes[3].parameters", "`key`"]);
}

#[test]
fn merge_publishes_the_schema_of_its_parameters() {
    let registration = NodeTest::new("core.merge").registration().unwrap();
    let schema = serde_json::to_value((registration.params_schema)()).unwrap();
    let properties = &schema["properties"];
    for name in ["mode", "key", "key_left", "key_right", "join"] {
        assert!(properties.get(name).is_some(), "no `{name}` in {schema}");
    }
}

// ---------------------------------------------------------------------------------------------
// core.limit

fn numbers(count: i64) -> Vec<Value> {
    (0..count).map(|n| json!({ "n": n })).collect()
}

fn limit(params: Value, count: i64) -> Vec<Value> {
    NodeTest::new("core.limit")
        .params(params)
        .items(numbers(count))
        .run_blocking()
        .unwrap()
        .json(0)
}

#[test]
fn limit_keeps_the_first_or_the_last_items() {
    assert_eq!(limit(json!({ "max_items": 2 }), 5), numbers(2));
    assert_eq!(
        limit(json!({ "max_items": 2, "keep": "last" }), 5),
        [json!({ "n": 3 }), json!({ "n": 4 })]
    );
    assert_eq!(limit(json!({ "max_items": 9 }), 3), numbers(3));
    assert_eq!(
        limit(json!({ "max_items": 9, "keep": "last" }), 3),
        numbers(3)
    );
    assert_eq!(limit(json!({ "max_items": 0 }), 3), numbers(0));
    assert_eq!(
        limit(json!({ "max_items": 0, "keep": "last" }), 3),
        numbers(0)
    );
    assert_eq!(limit(json!({ "max_items": 2 }), 0), numbers(0));
}

#[tokio::test]
async fn limit_in_a_workflow_keeps_lineage() {
    let run = WorkflowTest::new(chain(&[
        ("Start", "core.manual_trigger", json!({})),
        (
            "Limit",
            "core.limit",
            json!({ "max_items": 2, "keep": "last" }),
        ),
    ]))
    .input(numbers(4))
    .run()
    .await
    .unwrap();
    assert_eq!(run.output(), [json!({ "n": 2 }), json!({ "n": 3 })]);
    let items = run.items("Limit").await.unwrap();
    let sources: Vec<(String, u32)> = items[0]
        .iter()
        .map(|item| {
            let source = item.source.clone().unwrap();
            (source.node.to_string(), source.item_index)
        })
        .collect();
    assert_eq!(sources, [("Start".to_owned(), 2), ("Start".to_owned(), 3)]);
}

#[test]
fn limit_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({}), "`max_items`"),
        (json!({ "max_items": -1 }), "`max_items`"),
        (json!({ "max_items": "2" }), "`max_items`"),
        (json!({ "max_items": 1, "keep": "middle" }), "`keep`"),
        (json!({ "max_items": 1, "limit": 2 }), "`limit`"),
    ];
    for (params, field) in cases {
        let error = node_error(NodeTest::new("core.limit").params(params).items(numbers(1)));
        assert_mentions(&error, &["invalid parameters", field]);
    }
}

// ---------------------------------------------------------------------------------------------
// core.split_out and core.aggregate

fn split(params: Value, items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    NodeTest::new("core.split_out")
        .params(params)
        .items(items)
        .run_blocking()
        .unwrap()
        .json(0)
}

#[test]
fn split_out_makes_an_item_of_every_element() {
    let order = json!({ "id": 7, "lines": [{ "sku": "a" }, { "sku": "b" }], "tags": ["x", 1] });
    assert_eq!(
        split(json!({ "field": "lines" }), [order.clone()]),
        [json!({ "sku": "a" }), json!({ "sku": "b" })]
    );
    // Other elements take the list's place.
    assert_eq!(
        split(json!({ "field": "tags" }), [order.clone()]),
        [json!({ "tags": "x" }), json!({ "tags": 1 })]
    );
    assert_eq!(
        split(
            json!({ "field": "tags", "include": "all_other_fields" }),
            [order.clone()]
        ),
        [
            json!({ "id": 7, "lines": [{ "sku": "a" }, { "sku": "b" }], "tags": "x" }),
            json!({ "id": 7, "lines": [{ "sku": "a" }, { "sku": "b" }], "tags": 1 }),
        ]
    );
    assert_eq!(
        split(
            json!({ "field": "lines", "include": "all_other_fields", "destination": "line" }),
            [json!({ "id": 7, "lines": [{ "sku": "a" }] })]
        ),
        [json!({ "id": 7, "line": { "sku": "a" } })]
    );
    assert_eq!(
        split(
            json!({ "field": "lines", "include": "all_other_fields" }),
            [json!({ "id": 7, "sku": "old", "lines": [{ "sku": "a" }] })]
        ),
        [json!({ "id": 7, "sku": "a" })]
    );
}

#[test]
fn split_out_nested_paths_empty_lists_and_empty_input() {
    assert_eq!(
        split(
            json!({ "field": "order.tags", "destination": "tag" }),
            [
                json!({ "order": { "tags": ["a"] } }),
                json!({ "order": { "tags": [] } })
            ]
        ),
        [json!({ "tag": "a" })]
    );
    assert_eq!(
        split(
            json!({ "field": "order.tags" }),
            [json!({ "order": { "tags": [1] } })]
        ),
        [json!({ "order": { "tags": 1 } })]
    );
    // The empty path splits an item that is itself a list.
    assert_eq!(
        split(json!({ "field": "" }), [json!([{ "a": 1 }, { "a": 2 }])]),
        [json!({ "a": 1 }), json!({ "a": 2 })]
    );
    assert_eq!(split(json!({ "field": "x" }), []), Vec::<Value>::new());
}

#[test]
fn split_out_fails_on_a_missing_or_non_list_field_naming_it() {
    let error = node_error(
        NodeTest::new("core.split_out")
            .params(json!({ "field": "lines" }))
            .items([json!({ "lines": [] }), json!({ "id": 1 })]),
    );
    assert_mentions(&error, &["input item 1", "`lines`", "found nothing"]);
    let error = node_error(
        NodeTest::new("core.split_out")
            .params(json!({ "field": "lines" }))
            .items([json!({ "lines": "a,b" })]),
    );
    assert_mentions(&error, &["input item 0", "`lines`", "a string"]);
    let error = node_error(
        NodeTest::new("core.split_out")
            .params(
                json!({ "field": "lines", "include": "all_other_fields", "destination": "id.x" }),
            )
            .items([json!({ "id": 1, "lines": [1] })]),
    );
    assert_mentions(&error, &["input item 0", "`id.x`"]);
}

#[tokio::test]
async fn split_out_errors_follow_on_error() {
    let mut workflow = chain(&[
        ("Start", "core.manual_trigger", json!({})),
        ("Split", "core.split_out", json!({ "field": "lines" })),
    ]);
    workflow["nodes"][1]["on_error"] = json!("continue");
    let run = WorkflowTest::new(workflow)
        .input([json!({ "lines": [1] }), json!({ "lines": null })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    let output = run.output();
    assert_eq!(output[0], json!({ "lines": 1 }));
    assert_eq!(output[1]["lines"], Value::Null);
    assert_mentions(output[1]["error"].as_str().unwrap(), &["`lines`", "null"]);
}

#[test]
fn split_out_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({}), "`field`"),
        (json!({ "field": 3 }), "`field`"),
        (json!({ "field": "a", "include": "some" }), "`include`"),
        (
            json!({ "field": "a", "destination": "x..y" }),
            "`destination`",
        ),
        (json!({ "field": "a", "fields": "b" }), "`fields`"),
    ];
    for (params, field) in cases {
        let error = node_error(
            NodeTest::new("core.split_out")
                .params(params)
                .items([json!({})]),
        );
        assert_mentions(&error, &["invalid parameters", field]);
    }
}

fn aggregate(params: Value, items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    NodeTest::new("core.aggregate")
        .params(params)
        .items(items)
        .run_blocking()
        .unwrap()
        .json(0)
}

#[test]
fn aggregate_gathers_items_or_field_values() {
    let items = [json!({ "a": 1 }), json!({ "b": 2 }), json!({ "a": 3 })];
    assert_eq!(
        aggregate(json!({}), items.clone()),
        [json!({ "items": items.clone() })]
    );
    assert_eq!(
        aggregate(
            json!({ "field": "a", "destination": "totals.a" }),
            items.clone()
        ),
        [json!({ "totals": { "a": [1, 3] } })]
    );
    assert_eq!(
        aggregate(json!({ "field": "a", "keep_missing": true }), items.clone()),
        [json!({ "items": [1, null, 3] })]
    );
    assert_eq!(aggregate(json!({}), []), Vec::<Value>::new());
}

#[test]
fn aggregate_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({ "field": "a..b" }), "`field`"),
        (json!({ "destination": 1 }), "`destination`"),
        (json!({ "keep_missing": "yes" }), "`keep_missing`"),
        (json!({ "into": "x" }), "`into`"),
    ];
    for (params, field) in cases {
        let error = node_error(
            NodeTest::new("core.aggregate")
                .params(params)
                .items([json!({})]),
        );
        assert_mentions(&error, &["invalid parameters", field]);
    }
}

#[tokio::test]
async fn split_out_then_aggregate_round_trip() {
    let order = json!({ "id": 7, "lines": [{ "sku": "a", "qty": 1 }, { "sku": "b", "qty": 2 }] });
    let run = WorkflowTest::new(chain(&[
        ("Start", "core.manual_trigger", json!({})),
        ("Split", "core.split_out", json!({ "field": "lines" })),
        (
            "Gather",
            "core.aggregate",
            json!({ "destination": "lines" }),
        ),
    ]))
    .input([order.clone()])
    .run()
    .await
    .unwrap();
    assert_eq!(run.output(), [json!({ "lines": order["lines"] })]);

    let run = WorkflowTest::new(chain(&[
        ("Start", "core.manual_trigger", json!({})),
        (
            "Split",
            "core.split_out",
            json!({ "field": "lines", "include": "all_other_fields" }),
        ),
        (
            "Skus",
            "core.aggregate",
            json!({ "field": "sku", "destination": "skus" }),
        ),
    ]))
    .input([order])
    .run()
    .await
    .unwrap();
    assert_eq!(run.output(), [json!({ "skus": ["a", "b"] })]);
    assert_eq!(
        run.json("Split", 0).await.unwrap(),
        [
            json!({ "id": 7, "sku": "a", "qty": 1 }),
            json!({ "id": 7, "sku": "b", "qty": 2 })
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// core.stop_and_error

#[tokio::test]
async fn stop_and_error_fails_the_execution_with_its_message() {
    let run = WorkflowTest::new(chain(&[
        ("Start", "core.manual_trigger", json!({})),
        (
            "Stop",
            "core.stop_and_error",
            json!({ "message": "order total is negative" }),
        ),
        ("After", "core.no_op", json!({})),
    ]))
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert_mentions(run.error().unwrap(), &["Stop", "order total is negative"]);
    assert!(run.items("After").await.is_err());
}

#[test]
fn stop_and_error_is_terminal_and_needs_a_message() {
    let error = NodeTest::new("core.stop_and_error")
        .params(json!({ "message": "stop" }))
        .items([json!({})])
        .run_blocking()
        .unwrap_err();
    match error {
        TestError::Node(error) => {
            assert_eq!(error.message(), "stop");
            assert!(!error.is_retryable());
        }
        other => panic!("unexpected {other}"),
    }
    let error = node_error(NodeTest::new("core.stop_and_error").items([json!({})]));
    assert_mentions(&error, &["invalid parameters", "`message`"]);
    let error = node_error(
        NodeTest::new("core.stop_and_error")
            .params(json!({ "message": ["a"] }))
            .items([json!({})]),
    );
    assert_mentions(&error, &["invalid parameters", "`message`"]);
}

// ---------------------------------------------------------------------------------------------
// core.wait

fn wait_workflow(wait: Value) -> Value {
    chain(&[
        ("Start", "core.manual_trigger", json!({})),
        ("Wait", "core.wait", wait),
        ("After", "core.no_op", json!({})),
    ])
}

#[tokio::test]
async fn wait_for_a_day_is_durable_then_continues() {
    let items = [json!({ "id": 1 }), json!({ "id": 2 })];
    let before = Utc::now();
    let run = WorkflowTest::new(wait_workflow(json!({ "amount": 1, "unit": "days" })))
        .input(items.clone())
        .run()
        .await
        .unwrap();
    let after = Utc::now();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.output(), items);
    // One wait, answered with the resume time (whole seconds, rounded up) a day after the node
    // started.
    let [resume_at] = run.waits() else {
        panic!("expected one wait, got {:?}", run.waits())
    };
    let day = TimeDelta::days(1);
    assert!(
        *resume_at >= before + day && *resume_at <= after + day + TimeDelta::seconds(1),
        "resumed at {resume_at}, started between {before} and {after}"
    );
}

#[tokio::test]
async fn wait_until_a_time() {
    let until = DateTime::<Utc>::from_timestamp(Utc::now().timestamp() + 3 * 3600, 0).unwrap();
    let run = WorkflowTest::new(wait_workflow(json!({ "until": until.to_rfc3339() })))
        .input([json!({ "id": 1 })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.waits(), [until]);
    assert_eq!(run.output(), [json!({ "id": 1 })]);

    // An offset is understood; a time already past does not wait.
    let run = WorkflowTest::new(wait_workflow(
        json!({ "until": "2020-01-01T12:00:00+02:00" }),
    ))
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert!(run.waits().is_empty(), "{:?}", run.waits());
}

#[tokio::test]
async fn wait_in_seconds_by_default_and_zero_does_not_wait() {
    let run = WorkflowTest::new(wait_workflow(json!({ "amount": 90 })))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.waits().len(), 1);
    let run = WorkflowTest::new(wait_workflow(json!({ "amount": 0, "unit": "hours" })))
        .run()
        .await
        .unwrap();
    assert!(run.waits().is_empty(), "{:?}", run.waits());
}

#[tokio::test]
async fn a_wait_beyond_about_100_years_is_rejected_at_validation_naming_the_range() {
    for (amount, unit, max) in [
        (99_999_999_999_u64, "days", "0 to 36500 days"),
        (36_501, "days", "0 to 36500 days"),
        (876_001, "hours", "0 to 876000 hours"),
        (3_153_600_001, "seconds", "0 to 3153600000 seconds"),
    ] {
        let error = WorkflowTest::new(wait_workflow(json!({ "amount": amount, "unit": unit })))
            .run()
            .await
            .err()
            .unwrap_or_else(|| panic!("{amount} {unit} passed validation"))
            .to_string();
        assert_mentions(
            &error,
            &[
                "nodes[1].parameters",
                "`amount` must be from",
                max,
                &amount.to_string(),
            ],
        );
    }
    // The longest wait is accepted, and answered with its resume time.
    let before = Utc::now();
    let run = WorkflowTest::new(wait_workflow(json!({ "amount": 36_500, "unit": "days" })))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    let [resume_at] = run.waits() else {
        panic!("expected one wait, got {:?}", run.waits())
    };
    let years = TimeDelta::days(36_500);
    assert!(
        *resume_at >= before + years && *resume_at <= Utc::now() + years + TimeDelta::seconds(1),
        "resumed at {resume_at}"
    );
}

#[tokio::test]
async fn wait_for_a_signal_outputs_the_signal_s_items() {
    let run = WorkflowTest::new(wait_workflow(json!({ "mode": "signal" })))
        .input([json!({ "expense": 1 })])
        .signal(
            "Wait",
            [json!({ "approved": true }), json!({ "note": "ok" })],
        )
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(
        run.output(),
        [json!({ "approved": true }), json!({ "note": "ok" })]
    );
    assert!(run.waits().is_empty(), "{:?}", run.waits());
    // Without a signal and without a time limit, the run does not finish.
    let unfinished = WorkflowTest::new(wait_workflow(json!({ "mode": "signal" })))
        .run()
        .await;
    assert!(
        matches!(unfinished, Err(TestError::Unfinished(_))),
        "{unfinished:?}"
    );
}

#[tokio::test]
async fn wait_for_a_signal_with_a_time_limit_passes_its_items_on_when_it_runs_out() {
    let params = json!({ "mode": "signal", "amount": 2, "unit": "hours" });
    // The signal comes before the time limit.
    let run = WorkflowTest::new(wait_workflow(params.clone()))
        .input([json!({ "expense": 1 })])
        .signal("Wait", [json!({ "approved": false })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.output(), [json!({ "approved": false })]);
    assert!(run.waits().is_empty(), "{:?}", run.waits());
    // None comes: two hours later, the node's own items pass on.
    let before = Utc::now();
    let run = WorkflowTest::new(wait_workflow(params))
        .input([json!({ "expense": 1 })])
        .run()
        .await
        .unwrap();
    assert_eq!(run.output(), [json!({ "expense": 1 })]);
    let [resume_at] = run.waits() else {
        panic!("{:?}", run.waits())
    };
    assert!(*resume_at >= before + TimeDelta::hours(2), "{resume_at}");
    // A signal to a node that never waits for one is an error of the test.
    let error = WorkflowTest::new(wait_workflow(json!({ "amount": 0 })))
        .signal("Wait", [json!({})])
        .run()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("never awaited"), "{error}");
}

#[test]
fn wait_passes_no_items_when_given_none() {
    let out = NodeTest::new("core.wait")
        .params(json!({ "amount": 0 }))
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
}

#[test]
fn wait_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({}), &["`amount`", "`until`"][..]),
        (
            json!({ "amount": 1, "until": "2026-01-01T00:00:00Z" }),
            &["`amount`", "`until`"][..],
        ),
        (json!({ "amount": -1 }), &["`amount`"][..]),
        (json!({ "amount": 1.5 }), &["`amount`"][..]),
        (
            json!({ "amount": 1, "unit": "weeks" }),
            &["`unit`", "weeks"][..],
        ),
        (json!({ "until": "tomorrow" }), &["`until`", "tomorrow"][..]),
        (
            json!({ "until": "2026-01-01T00:00:00Z", "unit": "days" }),
            &["`unit`"][..],
        ),
        (
            json!({ "amount": u64::MAX, "unit": "days" }),
            &["`amount`"][..],
        ),
        (json!({ "duration": 1 }), &["`duration`"][..]),
        (json!({ "mode": "signal", "unit": "days" }), &["`unit`"][..]),
        (json!({ "mode": "webhook" }), &["`mode`", "webhook"][..]),
    ];
    for (params, parts) in cases {
        let error = node_error(NodeTest::new("core.wait").params(params).items([json!({})]));
        assert_mentions(&error, &["invalid parameters"]);
        assert_mentions(&error, parts);
    }
}
