//! Tests of the data nodes: `core.set`, `core.sort`, `core.remove_duplicates`,
//! `core.summarize`, `core.date_time`, `core.crypto` and `core.json_parse`.

use chrono::{DateTime, Utc};
use hetumind::model::{ExecutionStatus, OnError};
use hetumind::testing::{NodeTest, TestError, WorkflowRun, WorkflowTest};
use serde_json::{Value, json};

/// The items `kind` outputs for `items` under `params`.
fn run(kind: &str, params: Value, items: Vec<Value>) -> Vec<Value> {
    NodeTest::new(kind)
        .params(params)
        .items(items)
        .run_blocking()
        .unwrap_or_else(|error| panic!("{kind} failed: {error}"))
        .json(0)
}

/// The message of the error `kind` fails with for `items` under `params`.
fn failure(kind: &str, params: Value, items: Vec<Value>) -> String {
    match NodeTest::new(kind)
        .params(params)
        .items(items)
        .run_blocking()
    {
        Ok(output) => panic!("{kind} succeeded: {:?}", output.json(0)),
        Err(TestError::Node(error)) => {
            assert!(!error.is_retryable(), "{error} should be terminal");
            error.message().to_owned()
        }
        Err(error) => panic!("{kind} failed for another reason: {error}"),
    }
}

/// Asserts that `text` contains every one of `parts`.
#[track_caller]
fn assert_mentions(text: &str, parts: &[&str]) {
    for part in parts {
        assert!(text.contains(part), "`{text}` should mention `{part}`");
    }
}

/// Runs a chain of `(kind, parameters)` nodes named `N0`, `N1`, ... through the engine.
fn chain(nodes: &[(&str, Value)], input: Vec<Value>) -> WorkflowRun {
    let instances: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, (kind, parameters))| {
            json!({ "name": format!("N{i}"), "kind": kind, "parameters": parameters })
        })
        .collect();
    let mut connections = serde_json::Map::new();
    for i in 1..nodes.len() {
        connections.insert(
            format!("N{}", i - 1),
            json!({ "main": [[{ "node": format!("N{i}") }]] }),
        );
    }
    WorkflowTest::new(json!({
        "id": "data",
        "nodes": instances,
        "connections": connections
    }))
    .input(input)
    .run_blocking()
    .unwrap()
}

/// The output of a chain that must succeed.
fn chain_output(nodes: &[(&str, Value)], input: Vec<Value>) -> Vec<Value> {
    let run = chain(nodes, input);
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    run.output()
}

/// The problem the engine reports for a workflow whose node has invalid parameters.
fn invalid_workflow(kind: &str, params: Value) -> String {
    let error = WorkflowTest::new(json!({
        "id": "invalid",
        "nodes": [{ "name": "N", "kind": kind, "parameters": params }],
        "connections": {}
    }))
    .run_blocking()
    .unwrap_err();
    error.to_string()
}

// ---------------------------------------------------------------------------------------------
// core.set

#[test]
fn set_applies_rename_copy_set_remove_in_order() {
    let out = run(
        "core.set",
        json!({
            "rename": [{ "from": "name", "to": "customer.name" }, { "from": "absent", "to": "x" }],
            "copy": [{ "from": "customer.name", "to": "label" }],
            "set": { "status": "new", "customer.tier": "gold", "label": "overwritten" },
            "remove": ["internal", "missing.too"]
        }),
        vec![json!({ "name": "Ada", "internal": true, "keep": 1 })],
    );
    assert_eq!(
        out,
        [json!({
            "customer": { "name": "Ada", "tier": "gold" },
            "label": "overwritten",
            "status": "new",
            "keep": 1
        })]
    );
}

#[test]
fn set_object_form_sets_parents_before_children_and_list_form_in_order() {
    let object = run(
        "core.set",
        json!({ "set": { "a.b": 2, "a": { "c": 1 } } }),
        vec![json!({})],
    );
    assert_eq!(object, [json!({ "a": { "b": 2, "c": 1 } })]);
    let list = run(
        "core.set",
        json!({ "set": [{ "path": "a.b", "value": 2 }, { "path": "a", "value": { "c": 1 } }] }),
        vec![json!({})],
    );
    assert_eq!(list, [json!({ "a": { "c": 1 } })]);
}

#[test]
fn set_keep_only_set_drops_the_rest() {
    let out = run(
        "core.set",
        json!({
            "rename": [{ "from": "id", "to": "key" }],
            "copy": [{ "from": "user.email", "to": "email" }],
            "set": { "source": "crm" },
            "keep_only_set": true
        }),
        vec![json!({ "id": 7, "user": { "email": "a@b.c", "age": 3 }, "noise": [1] })],
    );
    assert_eq!(
        out,
        [json!({ "key": 7, "email": "a@b.c", "source": "crm" })]
    );
}

#[test]
fn set_writes_array_elements_and_unicode_paths() {
    let out = run(
        "core.set",
        json!({
            "set": { "lines.1.sku": "B-2", "名前.姓": "山田" },
            "rename": [{ "from": "ü", "to": "ö.🎉" }]
        }),
        vec![json!({ "lines": [{ "sku": "A" }, { "sku": "B" }], "ü": "grüß" })],
    );
    assert_eq!(
        out,
        [json!({
            "lines": [{ "sku": "A" }, { "sku": "B-2" }],
            "名前": { "姓": "山田" },
            "ö": { "🎉": "grüß" }
        })]
    );
}

#[test]
fn set_through_a_non_object_fails_naming_item_and_path() {
    let message = failure(
        "core.set",
        json!({ "set": { "a.b": 2 } }),
        vec![json!({ "a": {} }), json!({ "a": 1 })],
    );
    assert_mentions(&message, &["input item 1", "`a.b`", "cannot set"]);
    let past_end = failure(
        "core.set",
        json!({ "set": { "lines.5": 0 } }),
        vec![json!({ "lines": [] })],
    );
    assert_mentions(&past_end, &["input item 0", "`lines.5`"]);
}

#[test]
fn set_rejects_bad_parameters_naming_them() {
    let cases = [
        (
            json!({ "rename": [{ "from": "a" }] }),
            vec!["rename[0]", "`to`"],
        ),
        (
            json!({ "set": 5 }),
            vec!["`set`", "an object from field path to value"],
        ),
        (
            json!({ "set": [{ "path": "a" }] }),
            vec!["set[0]", "`value`"],
        ),
        (json!({ "remove": ["a..b"] }), vec!["remove[0]", "a..b"]),
        (json!({ "sett": {} }), vec!["unknown field `sett`"]),
        (
            json!({ "keep_only_set": "yes" }),
            vec!["keep_only_set", "boolean"],
        ),
    ];
    for (params, parts) in cases {
        let message = failure("core.set", params, vec![json!({})]);
        assert_mentions(&message, &parts);
        assert_mentions(&message, &["invalid parameters"]);
    }
}

#[test]
fn set_with_no_items_outputs_none() {
    assert_eq!(
        run("core.set", json!({ "set": { "a": 1 } }), vec![]),
        Vec::<Value>::new()
    );
}

#[test]
fn set_through_the_engine_with_on_error_continue() {
    let run = WorkflowTest::new(json!({
        "id": "set",
        "nodes": [
            { "name": "Set", "kind": "core.set", "on_error": "continue",
              "parameters": { "set": { "total.net": 10 } } },
            { "name": "End", "kind": "core.no_op" }
        ],
        "connections": { "Set": { "main": [[{ "node": "End" }]] } }
    }))
    .input([json!({ "total": null }), json!({ "total": 5 })])
    .run_blocking()
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    let out = run.output();
    assert_eq!(out[0], json!({ "total": { "net": 10 } }));
    assert_eq!(out[1]["total"], json!(5));
    assert_mentions(
        out[1]["error"].as_str().unwrap(),
        &["input item 1", "`total.net`"],
    );
}

#[test]
fn set_failure_stops_the_execution_naming_item_and_path() {
    let run = chain(
        &[("core.set", json!({ "set": { "a.b": 1 } }))],
        vec![json!({ "a": "text" })],
    );
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert_mentions(run.error().unwrap(), &["input item 0", "`a.b`"]);
}

// ---------------------------------------------------------------------------------------------
// core.sort

#[test]
fn sort_by_several_fields_is_stable() {
    let items = vec![
        json!({ "n": "a", "team": "red", "score": 3 }),
        json!({ "n": "b", "team": "blue", "score": 3 }),
        json!({ "n": "c", "team": "red", "score": 9 }),
        json!({ "n": "d", "team": "blue", "score": 3.0 }),
        json!({ "n": "e", "team": "red", "score": 3 }),
    ];
    let out = run(
        "core.sort",
        json!({ "by": [{ "field": "team" }, { "field": "score", "order": "desc" }] }),
        items,
    );
    let names: Vec<&str> = out.iter().map(|item| item["n"].as_str().unwrap()).collect();
    assert_eq!(names, ["b", "d", "c", "a", "e"]);
}

#[test]
fn sort_orders_across_types_with_missing_fields_last() {
    let items = vec![
        json!({ "v": "b" }),
        json!({}),
        json!({ "v": { "k": 1 } }),
        json!({ "v": 10 }),
        json!({ "v": null }),
        json!({ "v": [1] }),
        json!({ "v": true }),
        json!({ "v": -2.5 }),
        json!({ "v": false }),
        json!({ "v": "B" }),
    ];
    let ascending = run(
        "core.sort",
        json!({ "by": [{ "field": "v" }] }),
        items.clone(),
    );
    assert_eq!(
        ascending,
        [
            json!({ "v": null }),
            json!({ "v": false }),
            json!({ "v": true }),
            json!({ "v": -2.5 }),
            json!({ "v": 10 }),
            json!({ "v": "B" }),
            json!({ "v": "b" }),
            json!({ "v": [1] }),
            json!({ "v": { "k": 1 } }),
            json!({}),
        ]
    );
    let descending = run(
        "core.sort",
        json!({ "by": [{ "field": "v", "order": "desc" }] }),
        items,
    );
    let mut expected = ascending[..9].to_vec();
    expected.reverse();
    expected.push(json!({}));
    assert_eq!(descending, expected);
}

#[test]
fn sort_compares_numbers_by_value_and_strings_by_code_point() {
    let out = run(
        "core.sort",
        json!({ "by": [{ "field": "v" }] }),
        vec![
            json!({ "v": 9_007_199_254_740_993_u64 }),
            json!({ "v": 9_007_199_254_740_992.0 }),
            json!({ "v": 18_446_744_073_709_551_615_u64 }),
            json!({ "v": -1 }),
            json!({ "v": 0.5 }),
        ],
    );
    let values: Vec<&Value> = out.iter().map(|item| &item["v"]).collect();
    assert_eq!(
        values,
        [
            &json!(-1),
            &json!(0.5),
            &json!(9_007_199_254_740_992.0),
            &json!(9_007_199_254_740_993_u64),
            &json!(18_446_744_073_709_551_615_u64),
        ]
    );
    let words = run(
        "core.sort",
        json!({ "by": [{ "field": "w" }] }),
        ["zebra", "Zebra", "émile", "eve", "日本", "😀"]
            .iter()
            .map(|w| json!({ "w": w }))
            .collect(),
    );
    let words: Vec<&str> = words
        .iter()
        .map(|item| item["w"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["Zebra", "eve", "zebra", "émile", "日本", "😀"]);
}

#[test]
fn sort_by_a_nested_path_and_non_object_items() {
    let out = run(
        "core.sort",
        json!({ "by": [{ "field": "a.0" }] }),
        vec![json!({ "a": [2] }), json!(5), json!({ "a": [1] })],
    );
    assert_eq!(out, [json!({ "a": [1] }), json!({ "a": [2] }), json!(5)]);
    let whole = run(
        "core.sort",
        json!({ "by": [{ "field": "" }] }),
        vec![json!(3), json!(1)],
    );
    assert_eq!(whole, [json!(1), json!(3)]);
}

#[test]
fn sort_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({}), vec!["missing field `by`"]),
        (json!({ "by": [] }), vec!["`by`", "at least one"]),
        (
            json!({ "by": [{ "field": "a", "order": "up" }] }),
            vec!["by[0].order", "`up`"],
        ),
        (
            json!({ "by": [{ "path": "a" }] }),
            vec!["by[0]", "unknown field `path`"],
        ),
        (json!({ "by": "a" }), vec!["`by`", "sequence"]),
    ];
    for (params, parts) in cases {
        assert_mentions(&failure("core.sort", params, vec![json!({})]), &parts);
    }
    assert_mentions(
        &invalid_workflow("core.sort", json!({ "by": [] })),
        &["nodes[0].parameters", "`by`"],
    );
}

#[test]
fn sort_with_no_items_outputs_none() {
    assert_eq!(
        run("core.sort", json!({ "by": [{ "field": "a" }] }), vec![]),
        Vec::<Value>::new()
    );
}

#[test]
fn sort_through_the_engine() {
    let out = chain_output(
        &[
            ("core.no_op", json!({})),
            (
                "core.sort",
                json!({ "by": [{ "field": "price", "order": "desc" }] }),
            ),
        ],
        vec![
            json!({ "price": 2 }),
            json!({ "price": 7.5 }),
            json!({ "price": 3 }),
        ],
    );
    assert_eq!(
        out,
        [
            json!({ "price": 7.5 }),
            json!({ "price": 3 }),
            json!({ "price": 2 })
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// core.sort and core.remove_duplicates keep lineage

/// The lineage of `node`'s output items: the node and position each derives from.
async fn lineage(run: &WorkflowRun, node: &str) -> Vec<(String, u32)> {
    run.items(node).await.unwrap()[0]
        .iter()
        .map(|item| {
            let source = item.source.clone().unwrap();
            (source.node.to_string(), source.item_index)
        })
        .collect()
}

#[tokio::test]
async fn remove_duplicates_then_sort_keep_each_items_lineage() {
    let run = WorkflowTest::new(json!({
        "id": "lineage",
        "nodes": [
            { "name": "Start", "kind": "core.manual_trigger" },
            { "name": "Unique", "kind": "core.remove_duplicates", "parameters": { "fields": ["n"] } },
            { "name": "Sort", "kind": "core.sort",
              "parameters": { "by": [{ "field": "n", "order": "desc" }] } }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "Unique" }]] },
            "Unique": { "main": [[{ "node": "Sort" }]] }
        }
    }))
    .input([json!({ "n": 1 }), json!({ "n": 3 }), json!({ "n": 1 }), json!({ "n": 2 })])
    .run()
    .await
    .unwrap();
    assert_eq!(
        run.output(),
        [json!({ "n": 3 }), json!({ "n": 2 }), json!({ "n": 1 })]
    );
    let from = |node: &str, positions: [u32; 3]| positions.map(|i| (node.to_owned(), i));
    // The kept items are Start's 0, 1 and 3; sorted, Unique's 1, 2 and 0.
    assert_eq!(lineage(&run, "Unique").await, from("Start", [0, 1, 3]));
    assert_eq!(lineage(&run, "Sort").await, from("Unique", [1, 2, 0]));
}

// ---------------------------------------------------------------------------------------------
// core.remove_duplicates

#[test]
fn remove_duplicates_compares_whole_items_as_json() {
    let out = run(
        "core.remove_duplicates",
        json!({}),
        vec![
            json!({ "a": 1, "b": [1, 2] }),
            json!({ "b": [1, 2], "a": 1.0 }),
            json!({ "a": 1, "b": [2, 1] }),
            json!("été"),
            json!("été"),
            json!(null),
            json!({ "a": 1, "b": [1, 2] }),
        ],
    );
    assert_eq!(
        out,
        [
            json!({ "a": 1, "b": [1, 2] }),
            json!({ "a": 1, "b": [2, 1] }),
            json!("été"),
            json!(null),
        ]
    );
}

#[test]
fn remove_duplicates_by_fields_keeps_the_first() {
    let out = run(
        "core.remove_duplicates",
        json!({ "fields": ["email", "org.id"] }),
        vec![
            json!({ "n": 1, "email": "a@x", "org": { "id": 1 } }),
            json!({ "n": 2, "email": "a@x", "org": { "id": 2 } }),
            json!({ "n": 3, "email": "a@x", "org": { "id": 1 } }),
            json!({ "n": 4, "org": { "id": 1 } }),
            json!({ "n": 5, "email": null, "org": { "id": 1 } }),
            json!({ "n": 6, "org": { "id": 1 } }),
        ],
    );
    let kept: Vec<i64> = out.iter().map(|item| item["n"].as_i64().unwrap()).collect();
    assert_eq!(kept, [1, 2, 4, 5]);
}

#[test]
fn remove_duplicates_treats_equal_numbers_as_duplicates_and_types_apart() {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    let out = run(
        "core.remove_duplicates",
        json!({ "fields": ["id"] }),
        vec![
            json!({ "n": 1, "id": 1 }),
            json!({ "n": 2, "id": parse("1.0") }),
            json!({ "n": 3, "id": parse("1e0") }),
            json!({ "n": 4, "id": "1" }),
            json!({ "n": 5, "id": true }),
            json!({ "n": 6, "id": [1.5, { "a": 0, "b": null }] }),
            json!({ "n": 7, "id": [parse("15e-1"), { "b": null, "a": -0.0 }] }),
            json!({ "n": 8, "id": u64::MAX }),
            json!({ "n": 9, "id": u64::MAX as f64 }),
        ],
    );
    let kept: Vec<i64> = out.iter().map(|item| item["n"].as_i64().unwrap()).collect();
    // u64::MAX as a float is 2^64, another number than u64::MAX.
    assert_eq!(kept, [1, 4, 5, 6, 8, 9]);
}

#[test]
fn remove_duplicates_rejects_bad_parameters_and_handles_no_items() {
    assert_mentions(
        &failure(
            "core.remove_duplicates",
            json!({ "fields": "email" }),
            vec![json!({})],
        ),
        &["`fields`", "sequence"],
    );
    assert_mentions(
        &failure(
            "core.remove_duplicates",
            json!({ "field": ["a"] }),
            vec![json!({})],
        ),
        &["unknown field `field`"],
    );
    assert_eq!(
        run("core.remove_duplicates", json!({ "fields": ["a"] }), vec![]),
        Vec::<Value>::new()
    );
}

#[test]
fn remove_duplicates_through_the_engine() {
    let out = chain_output(
        &[
            ("core.remove_duplicates", json!({ "fields": ["id"] })),
            ("core.no_op", json!({})),
        ],
        vec![
            json!({ "id": "ü" }),
            json!({ "id": "u" }),
            json!({ "id": "ü", "x": 1 }),
        ],
    );
    assert_eq!(out, [json!({ "id": "ü" }), json!({ "id": "u" })]);
}

// ---------------------------------------------------------------------------------------------
// core.summarize

fn orders() -> Vec<Value> {
    vec![
        json!({ "country": "DE", "amount": 10, "customer": "a" }),
        json!({ "country": "FR", "amount": 2.5, "customer": "b" }),
        json!({ "country": "DE", "amount": 5, "customer": "a" }),
        json!({ "country": "DE", "amount": null, "customer": "c" }),
        json!({ "amount": 1, "customer": "d" }),
    ]
}

#[test]
fn summarize_groups_in_order_of_first_appearance() {
    let out = run(
        "core.summarize",
        json!({
            "group_by": ["country"],
            "aggregations": [
                { "operation": "count" },
                { "operation": "count", "field": "amount", "as": "with_amount" },
                { "operation": "count_distinct", "field": "customer", "as": "customers" },
                { "operation": "sum", "field": "amount", "as": "total" },
                { "operation": "avg", "field": "amount" },
                { "operation": "min", "field": "amount" },
                { "operation": "max", "field": "customer" }
            ]
        }),
        orders(),
    );
    assert_eq!(
        out,
        [
            json!({ "country": "DE", "count": 3, "with_amount": 2, "customers": 2, "total": 15,
                    "avg_amount": 7.5, "min_amount": 5, "max_customer": "c" }),
            json!({ "country": "FR", "count": 1, "with_amount": 1, "customers": 1, "total": 2.5,
                    "avg_amount": 2.5, "min_amount": 2.5, "max_customer": "b" }),
            json!({ "country": null, "count": 1, "with_amount": 1, "customers": 1, "total": 1,
                    "avg_amount": 1.0, "min_amount": 1, "max_customer": "d" }),
        ]
    );
}

#[test]
fn summarize_without_groups_gives_one_item_and_empty_figures() {
    let out = run(
        "core.summarize",
        json!({ "aggregations": [
            { "operation": "sum", "field": "amount" },
            { "operation": "sum", "field": "nothing" },
            { "operation": "avg", "field": "nothing" },
            { "operation": "max", "field": "nothing" },
            { "operation": "count", "field": "nothing" }
        ] }),
        orders(),
    );
    assert_eq!(
        out,
        [
            json!({ "sum_amount": 18.5, "sum_nothing": 0, "avg_nothing": null,
                 "max_nothing": null, "count_nothing": 0 })
        ]
    );
}

#[test]
fn summarize_writes_nested_paths_and_groups_numbers_by_value() {
    let out = run(
        "core.summarize",
        json!({
            "group_by": ["key.year"],
            "aggregations": [{ "operation": "sum", "field": "line.qty", "as": "totals.qty" }]
        }),
        vec![
            json!({ "key": { "year": 2024 }, "line": { "qty": 1 } }),
            json!({ "key": { "year": 2024.0 }, "line": { "qty": 2 } }),
            json!({ "key": { "year": 2025 }, "line": { "qty": 3 } }),
        ],
    );
    assert_eq!(
        out,
        [
            json!({ "key": { "year": 2024 }, "totals": { "qty": 3 } }),
            json!({ "key": { "year": 2025 }, "totals": { "qty": 3 } }),
        ]
    );
}

#[test]
fn summarize_counts_distinct_values_by_value() {
    let out = run(
        "core.summarize",
        json!({ "aggregations": [{ "operation": "count_distinct", "field": "v" }] }),
        vec![
            json!({ "v": 1 }),
            json!({ "v": 1.0 }),
            json!({ "v": "1" }),
            json!({ "v": { "a": 1, "b": 2 } }),
            json!({ "v": { "b": 2.0, "a": 1 } }),
        ],
    );
    assert_eq!(out, [json!({ "count_distinct_v": 3 })]);
}

#[test]
fn summarize_group_by_alone_lists_distinct_groups() {
    let out = run(
        "core.summarize",
        json!({ "group_by": ["country", "customer"] }),
        orders(),
    );
    assert_eq!(out.len(), 4);
    assert_eq!(out[0], json!({ "country": "DE", "customer": "a" }));
    let prefixes = run(
        "core.summarize",
        json!({ "group_by": ["a", "ab"] }),
        vec![json!({ "a": 1, "ab": 2 }), json!({ "a": 1, "ab": 2.0 })],
    );
    assert_eq!(prefixes, [json!({ "a": 1, "ab": 2 })]);
}

#[test]
fn summarize_sums_exactly_and_beyond_i64() {
    let out = run(
        "core.summarize",
        json!({ "aggregations": [{ "operation": "sum", "field": "n" }] }),
        vec![
            json!({ "n": i64::MAX }),
            json!({ "n": 1 }),
            json!({ "n": -3 }),
        ],
    );
    assert_eq!(out, [json!({ "sum_n": i64::MAX - 2 })]);
    let big = run(
        "core.summarize",
        json!({ "aggregations": [{ "operation": "sum", "field": "n" }] }),
        vec![json!({ "n": u64::MAX }), json!({ "n": u64::MAX })],
    );
    assert_eq!(big[0]["sum_n"].as_f64().unwrap(), 2.0 * u64::MAX as f64);
}

#[test]
fn summarize_fails_on_non_numbers_naming_item_and_field() {
    let message = failure(
        "core.summarize",
        json!({ "aggregations": [{ "operation": "sum", "field": "amount.net" }] }),
        vec![
            json!({ "amount": { "net": 1 } }),
            json!({ "amount": { "net": "12€" } }),
        ],
    );
    assert_mentions(
        &message,
        &[
            "input item 1",
            "`amount.net`",
            "a string",
            "\"12€\"",
            "`sum`",
        ],
    );
    let avg = failure(
        "core.summarize",
        json!({ "aggregations": [{ "operation": "avg", "field": "a" }] }),
        vec![json!({ "a": true })],
    );
    assert_mentions(&avg, &["input item 0", "`a`", "a boolean"]);
}

#[test]
fn summarize_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({}), vec!["`group_by`", "`aggregations`"]),
        (
            json!({ "aggregations": [{ "operation": "count" }, { "operation": "sum" }] }),
            vec!["aggregations[1].field", "`sum`"],
        ),
        (
            json!({ "aggregations": [{ "operation": "median", "field": "a" }] }),
            vec!["aggregations[0].operation", "`median`"],
        ),
        (
            json!({ "aggregations": [{ "operation": "min", "field": "a", "as": "x" },
                                     { "operation": "max", "field": "a", "as": "x" }] }),
            vec!["aggregations[1]", "`x`", "overlaps"],
        ),
        (
            json!({ "group_by": ["count"], "aggregations": [{ "operation": "count" }] }),
            vec!["aggregations[0]", "`count`", "overlaps"],
        ),
        (json!({ "group_by": "a" }), vec!["`group_by`", "sequence"]),
        (
            json!({ "aggregations": [{ "operation": "sum", "as": "total" }] }),
            vec!["aggregations[0].field", "`sum`", "needs a field"],
        ),
        (
            json!({ "group_by": ["a"], "aggregations": [{ "operation": "count", "as": "a.n" }] }),
            vec!["aggregations[0]", "`a.n`", "overlaps `a`"],
        ),
        (
            json!({ "group_by": ["a.b", "a"] }),
            vec!["group_by[1]", "`a`", "overlaps `a.b`"],
        ),
        (
            json!({ "aggregations": [{ "operation": "sum", "field": "a", "alias": "b" }] }),
            vec!["aggregations[0]", "unknown field `alias`"],
        ),
    ];
    for (params, parts) in cases {
        assert_mentions(&failure("core.summarize", params, vec![json!({})]), &parts);
    }
}

#[test]
fn summarize_with_no_items_outputs_none() {
    assert_eq!(
        run(
            "core.summarize",
            json!({ "aggregations": [{ "operation": "count" }] }),
            vec![]
        ),
        Vec::<Value>::new()
    );
}

#[test]
fn summarize_through_the_engine_after_sort_and_dedup() {
    let out = chain_output(
        &[
            ("core.remove_duplicates", json!({ "fields": ["customer"] })),
            (
                "core.sort",
                json!({ "by": [{ "field": "customer", "order": "desc" }] }),
            ),
            (
                "core.summarize",
                json!({ "group_by": ["country"],
                        "aggregations": [{ "operation": "sum", "field": "amount" }] }),
            ),
        ],
        orders(),
    );
    // Unique customers d, c, b, a (desc): d has no country, c and a are DE, b is FR.
    assert_eq!(
        out,
        [
            json!({ "country": null, "sum_amount": 1 }),
            json!({ "country": "DE", "sum_amount": 10 }),
            json!({ "country": "FR", "sum_amount": 2.5 }),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// core.date_time

#[test]
fn date_time_formats_keeping_the_offset() {
    let out = run(
        "core.date_time",
        json!({ "operation": "format", "field": "at", "format": "%Y年%m月%d日 %H:%M %z",
                "output_field": "label" }),
        vec![
            json!({ "at": "2024-03-01T10:05:00+02:00" }),
            json!({ "at": "2024-03-01 23:59:59.5" }),
            json!({ "at": "2024-12-24" }),
            json!({ "at": "Tue, 1 Jul 2003 10:52:37 +0200" }),
        ],
    );
    let labels: Vec<&str> = out
        .iter()
        .map(|item| item["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "2024年03月01日 10:05 +0200",
            "2024年03月01日 23:59 +0000",
            "2024年12月24日 00:00 +0000",
            "2003年07月01日 10:52 +0200",
        ]
    );
    assert_eq!(out[0]["at"], json!("2024-03-01T10:05:00+02:00"));
}

#[test]
fn date_time_formats_unix_times() {
    let out = run(
        "core.date_time",
        json!({ "operation": "format", "field": "at", "format": "unix_ms" }),
        vec![json!({ "at": "1970-01-01T00:00:01.5Z" })],
    );
    assert_eq!(out, [json!({ "at": 1500 })]);
    let seconds = run(
        "core.date_time",
        json!({ "operation": "format", "field": "at", "format": "unix" }),
        vec![json!({ "at": "2024-01-01T00:00:00+01:00" })],
    );
    assert_eq!(seconds, [json!({ "at": 1_704_063_600 })]);
}

#[test]
fn date_time_adds_every_unit() {
    let cases = [
        (-1500, "milliseconds", "2024-01-31T10:59:58.500Z"),
        (90, "seconds", "2024-01-31T11:01:30Z"),
        (-61, "minutes", "2024-01-31T09:59:00Z"),
        (14, "hours", "2024-02-01T01:00:00Z"),
        (-31, "days", "2023-12-31T11:00:00Z"),
        (2, "weeks", "2024-02-14T11:00:00Z"),
        (1, "months", "2024-02-29T11:00:00Z"),
        (-2, "months", "2023-11-30T11:00:00Z"),
        (1, "years", "2025-01-31T11:00:00Z"),
    ];
    for (amount, unit, expected) in cases {
        let out = run(
            "core.date_time",
            json!({ "operation": "add", "field": "due", "amount": amount, "unit": unit }),
            vec![json!({ "due": "2024-01-31T11:00:00Z" })],
        );
        assert_eq!(out, [json!({ "due": expected })], "{amount} {unit}");
    }
    let offset = run(
        "core.date_time",
        json!({ "operation": "add", "field": "d", "amount": 1, "unit": "days",
                "output_field": "next" }),
        vec![json!({ "d": "2024-03-30T23:00:00-05:00" })],
    );
    assert_eq!(
        offset,
        [json!({ "d": "2024-03-30T23:00:00-05:00", "next": "2024-03-31T23:00:00-05:00" })]
    );
}

#[test]
fn date_time_add_out_of_range_fails_naming_the_field() {
    let message = failure(
        "core.date_time",
        json!({ "operation": "add", "field": "d", "amount": i64::MAX, "unit": "years" }),
        vec![json!({ "d": "2024-01-01" })],
    );
    assert_mentions(&message, &["input item 0", "`d`", "range"]);
}

#[test]
fn date_time_parses_with_and_without_a_pattern() {
    let parse = |format: Value, value: Value| {
        let mut params = json!({ "operation": "parse", "field": "v" });
        if !format.is_null() {
            params["format"] = format;
        }
        run("core.date_time", params, vec![json!({ "v": value })])[0]["v"].clone()
    };
    assert_eq!(
        parse(json!("%d/%m/%Y %H:%M"), json!("31/12/2023 18:30")),
        json!("2023-12-31T18:30:00Z")
    );
    assert_eq!(
        parse(json!("%d.%m.%Y"), json!("01.02.2024")),
        json!("2024-02-01T00:00:00Z")
    );
    assert_eq!(
        parse(
            json!("%Y-%m-%d %H:%M:%S %z"),
            json!("2024-02-01 08:00:00 +0530")
        ),
        json!("2024-02-01T08:00:00+05:30")
    );
    assert_eq!(
        parse(json!("%e %B %Y"), json!("5 March 2024")),
        json!("2024-03-05T00:00:00Z")
    );
    assert_eq!(
        parse(json!("unix"), json!(1_700_000_000)),
        json!("2023-11-14T22:13:20Z")
    );
    assert_eq!(
        parse(json!("unix"), json!("1700000000.25")),
        json!("2023-11-14T22:13:20.250Z")
    );
    assert_eq!(
        parse(json!("unix_ms"), json!(1_700_000_000_123_i64)),
        json!("2023-11-14T22:13:20.123Z")
    );
    assert_eq!(
        parse(Value::Null, json!(" 2024-02-01T08:00:00.123456+01:00 ")),
        json!("2024-02-01T08:00:00.123456+01:00")
    );
    assert_eq!(
        parse(Value::Null, json!("2024-02-01T08:00")),
        json!("2024-02-01T08:00:00Z")
    );
    assert_eq!(
        parse(Value::Null, json!("2024-02-01")),
        json!("2024-02-01T00:00:00Z")
    );
}

#[test]
fn date_time_invalid_dates_fail_naming_field_and_value() {
    let cases = [
        (
            json!({ "operation": "parse", "field": "v" }),
            json!({ "v": "2024-02-29" }),
            json!({ "v": "2024-02-30" }),
            vec!["`v`", "\"2024-02-30\"", "not a date"],
        ),
        (
            json!({ "operation": "parse", "field": "v", "format": "%d/%m/%Y" }),
            json!({ "v": "29/02/2024" }),
            json!({ "v": "31/02/2024" }),
            vec!["`v`", "\"31/02/2024\"", "pattern"],
        ),
        (
            json!({ "operation": "parse", "field": "v", "format": "unix" }),
            json!({ "v": 1 }),
            json!({ "v": "soon" }),
            vec!["`v`", "\"soon\"", "Unix time"],
        ),
        (
            json!({ "operation": "format", "field": "v", "format": "%Y" }),
            json!({ "v": "2024-01-01" }),
            json!({ "v": 1_700_000_000 }),
            vec!["`v`", "a number", "`unix`"],
        ),
        (
            json!({ "operation": "format", "field": "v.w", "format": "%Y" }),
            json!({ "v": { "w": "2024-01-01" } }),
            json!({ "v": {} }),
            vec!["`v.w`", "missing field"],
        ),
        (
            json!({ "operation": "add", "field": "v", "amount": 1, "unit": "days" }),
            json!({ "v": "2024-01-01" }),
            json!({ "v": "tomorrow ☀" }),
            vec!["`v`", "tomorrow ☀"],
        ),
    ];
    for (params, good, bad, parts) in cases {
        let message = failure("core.date_time", params, vec![good, bad]);
        assert_mentions(&message, &parts);
        assert_mentions(&message, &["input item 1"]);
    }
}

#[test]
fn date_time_now_uses_the_engine_clock() {
    let before = Utc::now();
    let out = run(
        "core.date_time",
        json!({ "operation": "now", "output_field": "meta.at" }),
        vec![json!({ "x": 1 })],
    );
    let after = Utc::now();
    let at: DateTime<Utc> = out[0]["meta"]["at"].as_str().unwrap().parse().unwrap();
    assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
    assert_eq!(out[0]["x"], json!(1));
    let formatted = run(
        "core.date_time",
        json!({ "operation": "now", "output_field": "year", "format": "%Y" }),
        vec![json!({})],
    );
    assert_eq!(
        formatted,
        [json!({ "year": after.format("%Y").to_string() })]
    );
}

#[test]
fn date_time_rejects_bad_parameters_naming_them() {
    let cases = [
        (
            json!({ "operation": "format", "field": "a", "format": "%Y-%Q" }),
            vec!["`format`", "`%Y-%Q`", "strftime"],
        ),
        (
            json!({ "operation": "format", "field": "a" }),
            vec!["`format`", "required", "`format` operation"],
        ),
        (
            json!({ "operation": "add", "field": "a", "unit": "days" }),
            vec!["`amount`", "required"],
        ),
        (
            json!({ "operation": "add", "field": "a", "amount": 1, "unit": "fortnights" }),
            vec!["`unit`", "`fortnights`"],
        ),
        (
            json!({ "operation": "add", "field": "a", "amount": 1.5, "unit": "days" }),
            vec!["`amount`", "1.5"],
        ),
        (
            json!({ "operation": "add", "field": "a", "amount": 1, "unit": "days", "format": "%Y" }),
            vec!["`format`", "not used", "`add`"],
        ),
        (
            json!({ "operation": "parse" }),
            vec!["`field`", "required", "`parse`"],
        ),
        (
            json!({ "operation": "now" }),
            vec!["`output_field`", "required"],
        ),
        (
            json!({ "operation": "now", "output_field": "x", "field": "y" }),
            vec!["`field`", "not used"],
        ),
        (
            json!({ "operation": "now", "output_field": "x", "amount": 1 }),
            vec!["`amount`", "not used"],
        ),
        (
            json!({ "operation": "shift", "field": "a" }),
            vec!["`operation`", "`shift`"],
        ),
        (
            json!({ "operation": "parse", "field": "a", "timezone": "UTC" }),
            vec!["unknown field `timezone`"],
        ),
    ];
    for (params, parts) in cases {
        assert_mentions(&failure("core.date_time", params, vec![json!({})]), &parts);
    }
    assert_mentions(
        &invalid_workflow(
            "core.date_time",
            json!({ "operation": "format", "field": "a", "format": "%" }),
        ),
        &["nodes[0].parameters", "strftime"],
    );
}

#[test]
fn date_time_with_no_items_outputs_none() {
    assert_eq!(
        run(
            "core.date_time",
            json!({ "operation": "now", "output_field": "t" }),
            vec![]
        ),
        Vec::<Value>::new()
    );
}

#[test]
fn date_time_through_the_engine() {
    let out = chain_output(
        &[
            (
                "core.date_time",
                json!({ "operation": "parse", "field": "d", "format": "%d/%m/%Y" }),
            ),
            (
                "core.date_time",
                json!({ "operation": "add", "field": "d", "amount": 1, "unit": "months" }),
            ),
            (
                "core.date_time",
                json!({ "operation": "format", "field": "d", "format": "%A %-d %B",
                                        "output_field": "label" }),
            ),
        ],
        vec![json!({ "d": "31/01/2024" })],
    );
    assert_eq!(
        out,
        [json!({ "d": "2024-02-29T00:00:00Z", "label": "Thursday 29 February" })]
    );
}

// ---------------------------------------------------------------------------------------------
// core.crypto

#[test]
fn crypto_hashes_with_every_algorithm() {
    let cases = [
        ("md5", "900150983cd24fb0d6963f7d28e17f72"),
        ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (
            "sha256",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "sha512",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (algorithm, expected) in cases {
        let out = run(
            "core.crypto",
            json!({ "operation": "hash", "field": "s", "algorithm": algorithm }),
            vec![json!({ "s": "abc" })],
        );
        assert_eq!(out, [json!({ "s": expected })], "{algorithm}");
    }
}

#[test]
fn crypto_hash_defaults_to_sha256_and_writes_base64_to_another_field() {
    let out = run(
        "core.crypto",
        json!({ "operation": "hash", "field": "s", "encoding": "base64", "output_field": "h.b64" }),
        vec![
            json!({ "s": "abc" }),
            json!({ "s": "héllo wörld 👋" }),
            json!({ "s": "" }),
        ],
    );
    assert_eq!(
        out[0],
        json!({ "s": "abc", "h": { "b64": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" } })
    );
    let hex = run(
        "core.crypto",
        json!({ "operation": "hash", "field": "s" }),
        vec![json!({ "s": "héllo wörld 👋" }), json!({ "s": "" })],
    );
    assert_eq!(
        hex,
        [
            json!({ "s": "395591396b4fe97051476ba48689cd98b5cd16e0fe66892f7f92173b9bd50c27" }),
            json!({ "s": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }),
        ]
    );
}

#[test]
fn crypto_hmac_matches_rfc_4231() {
    let item = json!({ "body": "what do ya want for nothing?" });
    let sha256 = run(
        "core.crypto",
        json!({ "operation": "hmac", "field": "body", "secret": "Jefe", "output_field": "sig" }),
        vec![item.clone()],
    );
    assert_eq!(
        sha256[0]["sig"],
        json!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    let sha512 = run(
        "core.crypto",
        json!({ "operation": "hmac", "field": "body", "secret": "Jefe", "algorithm": "sha512",
                "output_field": "sig" }),
        vec![item],
    );
    assert_eq!(
        sha512[0]["sig"],
        json!(
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        )
    );
    let unicode = run(
        "core.crypto",
        json!({ "operation": "hmac", "field": "d", "secret": "clé" }),
        vec![json!({ "d": "données" })],
    );
    assert_eq!(
        unicode,
        [json!({ "d": "cd72a91ba5a05906c66d495237885ed3400eee56e4c204e2d42b82cd75fedbda" })]
    );
}

#[test]
fn crypto_writes_uuids() {
    let before = Utc::now().timestamp_millis();
    let v4 = run(
        "core.crypto",
        json!({ "operation": "uuid", "output_field": "id" }),
        vec![json!({}), json!({})],
    );
    let v7 = run(
        "core.crypto",
        json!({ "operation": "uuid", "version": "v7", "output_field": "meta.id" }),
        vec![json!({ "keep": true })],
    );
    let after = Utc::now().timestamp_millis();
    let id = |value: &Value| uuid::Uuid::parse_str(value.as_str().unwrap()).unwrap();
    assert_eq!(id(&v4[0]["id"]).get_version_num(), 4);
    assert_ne!(v4[0]["id"], v4[1]["id"]);
    let v7_id = id(&v7[0]["meta"]["id"]);
    assert_eq!(v7_id.get_version_num(), 7);
    let (seconds, nanos) = v7_id.get_timestamp().unwrap().to_unix();
    let millis = i64::try_from(seconds).unwrap() * 1000 + i64::from(nanos / 1_000_000);
    assert!(
        before <= millis && millis <= after,
        "{before} <= {millis} <= {after}"
    );
    assert_eq!(v7[0]["keep"], json!(true));
}

#[test]
fn crypto_fails_on_missing_and_non_string_fields() {
    let missing = failure(
        "core.crypto",
        json!({ "operation": "hash", "field": "a.b" }),
        vec![json!({ "a": { "b": "x" } }), json!({ "a": {} })],
    );
    assert_mentions(&missing, &["input item 1", "`a.b`", "missing field"]);
    let number = failure(
        "core.crypto",
        json!({ "operation": "hmac", "field": "n", "secret": "k" }),
        vec![json!({ "n": 12 })],
    );
    assert_mentions(
        &number,
        &["input item 0", "`n`", "expected a string, found a number"],
    );
}

#[test]
fn crypto_rejects_bad_parameters_naming_them() {
    let cases = [
        (
            json!({ "operation": "hmac", "field": "a" }),
            vec!["`secret`", "required", "`hmac`"],
        ),
        (json!({ "operation": "hash" }), vec!["`field`", "required"]),
        (
            json!({ "operation": "hash", "field": "a", "secret": "k" }),
            vec!["`secret`", "not used", "`hash`"],
        ),
        (
            json!({ "operation": "hash", "field": "a", "version": "v7" }),
            vec!["`version`", "not used"],
        ),
        (
            json!({ "operation": "hash", "field": "a", "algorithm": "sha3" }),
            vec!["`algorithm`", "`sha3`"],
        ),
        (
            json!({ "operation": "hash", "field": "a", "encoding": "hex64" }),
            vec!["`encoding`", "`hex64`"],
        ),
        (
            json!({ "operation": "uuid" }),
            vec!["`output_field`", "required", "`uuid`"],
        ),
        (
            json!({ "operation": "uuid", "output_field": "id", "version": "v1" }),
            vec!["`version`", "`v1`"],
        ),
        (
            json!({ "operation": "uuid", "output_field": "id", "field": "a" }),
            vec!["`field`", "not used"],
        ),
        (
            json!({ "operation": "encrypt" }),
            vec!["`operation`", "`encrypt`"],
        ),
        (
            json!({ "operation": "hash", "field": "a", "salt": "x" }),
            vec!["unknown field `salt`"],
        ),
    ];
    for (params, parts) in cases {
        assert_mentions(&failure("core.crypto", params, vec![json!({})]), &parts);
    }
}

#[tokio::test]
async fn crypto_through_the_engine_with_an_error_output() {
    let run = WorkflowTest::new(json!({
        "id": "crypto",
        "nodes": [
            { "name": "Hash", "kind": "core.crypto", "on_error": "error_output",
              "parameters": { "operation": "hash", "field": "email", "algorithm": "md5",
                              "output_field": "email_md5" } },
            { "name": "Ok", "kind": "core.no_op" },
            { "name": "Bad", "kind": "core.no_op" }
        ],
        "connections": { "Hash": { "main": [[{ "node": "Ok" }], [{ "node": "Bad" }]] } }
    }))
    .input([json!({ "email": "abc" }), json!({ "mail": "abc" })])
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    let ok = run.json("Ok", 0).await.unwrap();
    assert_eq!(
        ok,
        [json!({ "email": "abc", "email_md5": "900150983cd24fb0d6963f7d28e17f72" })]
    );
    let bad = run.json("Bad", 0).await.unwrap();
    assert_eq!(bad.len(), 1);
    assert_mentions(
        bad[0]["error"].as_str().unwrap(),
        &["input item 1", "`email`", "missing field"],
    );
}

// ---------------------------------------------------------------------------------------------
// core.json_parse

#[test]
fn json_parse_in_place_and_into_another_field() {
    let out = run(
        "core.json_parse",
        json!({ "field": "body" }),
        vec![
            json!({ "body": "{\"name\":\"Zoë\",\"tags\":[\"😀\"],\"n\":1.5}" }),
            json!({ "body": " [1, null, true] " }),
            json!({ "body": "\"just a string\"" }),
        ],
    );
    assert_eq!(
        out,
        [
            json!({ "body": { "name": "Zoë", "tags": ["😀"], "n": 1.5 } }),
            json!({ "body": [1, null, true] }),
            json!({ "body": "just a string" }),
        ]
    );
    let other = run(
        "core.json_parse",
        json!({ "field": "raw.0", "output_field": "parsed" }),
        vec![json!({ "raw": ["{\"a\":{\"b\":2}}"] })],
    );
    assert_eq!(
        other,
        [json!({ "raw": ["{\"a\":{\"b\":2}}"], "parsed": { "a": { "b": 2 } } })]
    );
}

#[test]
fn json_parse_invalid_json_names_field_line_and_column() {
    let message = failure(
        "core.json_parse",
        json!({ "field": "body" }),
        vec![
            json!({ "body": "{}" }),
            json!({ "body": "{\n  \"a\": 1,\n  \"b\": }" }),
        ],
    );
    assert_mentions(
        &message,
        &["input item 1", "`body`", "invalid JSON", "line 3 column 8"],
    );
    let trailing = failure(
        "core.json_parse",
        json!({ "field": "body" }),
        vec![json!({ "body": "{} {}" })],
    );
    assert_mentions(
        &trailing,
        &["input item 0", "trailing characters", "line 1 column 4"],
    );
}

#[test]
fn json_parse_fails_on_missing_and_non_string_fields() {
    assert_mentions(
        &failure(
            "core.json_parse",
            json!({ "field": "body" }),
            vec![json!({ "other": "{}" })],
        ),
        &["input item 0", "`body`", "missing field"],
    );
    assert_mentions(
        &failure(
            "core.json_parse",
            json!({ "field": "body" }),
            vec![json!({ "body": { "a": 1 } })],
        ),
        &[
            "input item 0",
            "`body`",
            "expected a string, found an object",
        ],
    );
}

#[test]
fn json_parse_rejects_bad_parameters_and_handles_no_items() {
    assert_mentions(
        &failure("core.json_parse", json!({}), vec![json!({})]),
        &["missing field `field`"],
    );
    assert_mentions(
        &failure("core.json_parse", json!({ "field": 3 }), vec![json!({})]),
        &["`field`", "integer"],
    );
    assert_mentions(
        &failure(
            "core.json_parse",
            json!({ "field": "a", "output": "b" }),
            vec![json!({})],
        ),
        &["unknown field `output`"],
    );
    assert_eq!(
        run("core.json_parse", json!({ "field": "a" }), vec![]),
        Vec::<Value>::new()
    );
}

#[test]
fn json_parse_through_the_engine_then_set() {
    let out = chain_output(
        &[
            (
                "core.json_parse",
                json!({ "field": "payload", "output_field": "data" }),
            ),
            (
                "core.set",
                json!({ "remove": ["payload"], "rename": [{ "from": "data.id", "to": "id" }] }),
            ),
        ],
        vec![json!({ "payload": "{\"id\": \"ñ-1\", \"v\": 2}" })],
    );
    assert_eq!(out, [json!({ "id": "ñ-1", "data": { "v": 2 } })]);
}

#[test]
fn on_error_is_exposed_to_node_tests() {
    // The data nodes are each-item nodes: `continue` keeps the other items going.
    let out = NodeTest::new("core.json_parse")
        .params(json!({ "field": "b" }))
        .items([
            json!({ "b": "1" }),
            json!({ "b": "{" }),
            json!({ "b": "2" }),
        ])
        .on_error(OnError::Continue)
        .run_blocking()
        .unwrap()
        .json(0);
    assert_eq!(out[0], json!({ "b": 1 }));
    assert_mentions(out[1]["error"].as_str().unwrap(), &["input item 1", "EOF"]);
    assert_eq!(out[2], json!({ "b": 2 }));
}

// ---------------------------------------------------------------------------------------------
// All of them

#[test]
fn data_nodes_describe_every_parameter() {
    let registry = hetumind::Registry::global().unwrap();
    for kind in [
        "core.set",
        "core.sort",
        "core.remove_duplicates",
        "core.summarize",
        "core.date_time",
        "core.crypto",
        "core.json_parse",
    ] {
        let node = registry.latest(kind).unwrap();
        assert!(node.description.len() > 40, "{kind}: {}", node.description);
        let schema = serde_json::to_value((node.params_schema)()).unwrap();
        assert_eq!(schema["type"], json!("object"), "{kind}");
        assert_eq!(schema["additionalProperties"], json!(false), "{kind}");
        for (name, property) in schema["properties"].as_object().unwrap() {
            assert!(
                property["description"].is_string(),
                "{kind}: parameter `{name}` has no description"
            );
        }
    }
}
