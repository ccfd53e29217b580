//! Tests of the conditions nodes: `core.if`, `core.switch`, `core.filter` and the conditions
//! they share, through the engine and on their own.

use hetumind::model::ExecutionStatus;
use hetumind::testing::{NodeTest, TestError, WorkflowRun, WorkflowTest};
use serde_json::{Value, json};

/// A workflow: `Start` (a no-op receiving the input) feeding `node` (named `Test`), whose
/// output `i` feeds a no-op named `targets[i]`.
fn workflow(kind: &str, parameters: Value, targets: &[&str]) -> WorkflowTest {
    let mut nodes = vec![
        json!({ "name": "Start", "kind": "core.no_op" }),
        json!({ "name": "Test", "kind": kind, "parameters": parameters }),
    ];
    nodes.extend(
        targets
            .iter()
            .map(|name| json!({ "name": name, "kind": "core.no_op" })),
    );
    let outputs: Vec<Value> = targets
        .iter()
        .map(|name| json!([{ "node": name, "kind": "main", "index": 0 }]))
        .collect();
    WorkflowTest::new(json!({
        "id": "conditions",
        "nodes": nodes,
        "connections": {
            "Start": { "main": [[{ "node": "Test", "kind": "main", "index": 0 }]] },
            "Test": { "main": outputs }
        }
    }))
}

/// Asserts that node `name` did not run (it was skipped: the execution succeeded).
async fn assert_skipped(run: &WorkflowRun, name: &str) {
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    match run.items(name).await {
        Err(TestError::NoResult(node)) => assert_eq!(node, name),
        other => panic!("`{name}` should have been skipped, got {other:?}"),
    }
}

/// The parameter error of one node run with `parameters`.
fn param_error(kind: &str, parameters: Value) -> String {
    let error = NodeTest::new(kind)
        .params(parameters)
        .items([json!({})])
        .run_blocking()
        .unwrap_err();
    let TestError::Node(error) = error else {
        panic!("a node error expected, got {error:?}");
    };
    assert!(!error.is_retryable());
    error.message().to_owned()
}

fn if_condition(condition: Value) -> Value {
    json!({ "condition": condition })
}

// core.if ---------------------------------------------------------------------------------

#[tokio::test]
async fn if_takes_both_branches() {
    let run = workflow(
        "core.if",
        if_condition(json!({ "field": "n", "operator": "greater_than", "value": 10 })),
        &["Big", "Small"],
    )
    .input([json!({ "n": 5 }), json!({ "n": 50 }), json!({ "n": 10.5 })])
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(
        run.json("Big", 0).await.unwrap(),
        [json!({ "n": 50 }), json!({ "n": 10.5 })]
    );
    assert_eq!(run.json("Small", 0).await.unwrap(), [json!({ "n": 5 })]);
    // Items keep their lineage back to the item they were.
    let routed = run.items("Test").await.unwrap();
    let source = routed[0][1].source.as_ref().unwrap();
    assert_eq!((&*source.node, source.item_index), ("Start", 2));
}

#[tokio::test]
async fn if_with_one_branch_taken_skips_the_other() {
    let run = workflow(
        "core.if",
        if_condition(json!({ "field": "status", "operator": "equals", "value": "paid" })),
        &["Paid", "Unpaid"],
    )
    .input([
        json!({ "status": "paid" }),
        json!({ "status": "paid", "id": 2 }),
    ])
    .run()
    .await
    .unwrap();
    assert_eq!(run.json("Paid", 0).await.unwrap().len(), 2);
    assert_skipped(&run, "Unpaid").await;
    assert_eq!(run.output().len(), 2);
}

#[test]
fn if_edges_are_labelled_true_and_false_in_the_chart() {
    let workflow: hetumind::Workflow = serde_json::from_value(json!({
        "id": "chart",
        "nodes": [
            { "name": "Start", "kind": "core.no_op" },
            { "name": "Check", "kind": "core.if", "parameters": if_condition(
                json!({ "field": "ok", "operator": "is_true" })) },
            { "name": "Yes", "kind": "core.no_op" },
            { "name": "No", "kind": "core.no_op" }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "Check" }]] },
            "Check": { "main": [[{ "node": "Yes" }], [{ "node": "No" }]] }
        }
    }))
    .unwrap();
    let registry = hetumind::Registry::global().unwrap();
    let chart = hetumind::graph::mermaid(&workflow, registry, None);
    for edge in ["n0 --> n1", "n1 -->|\"true\"| n2", "n1 -->|\"false\"| n3"] {
        assert!(chart.contains(&format!("  {edge}\n")), "{edge}: {chart}");
    }
}

#[test]
fn if_routes_by_name_and_index() {
    let out = NodeTest::new("core.if")
        .params(if_condition(
            json!({ "field": "name", "operator": "regex", "value": "^A[a-z]+$" }),
        ))
        .items([
            json!({ "name": "Ada" }),
            json!({ "name": "bob" }),
            json!({ "name": "A1" }),
        ])
        .run_blocking()
        .unwrap();
    assert_eq!(out.named("true"), [json!({ "name": "Ada" })]);
    assert_eq!(
        out.json(1),
        [json!({ "name": "bob" }), json!({ "name": "A1" })]
    );
}

#[test]
fn if_with_no_items_emits_nothing() {
    let out = NodeTest::new("core.if")
        .params(if_condition(json!({ "field": "a", "operator": "exists" })))
        .run_blocking()
        .unwrap();
    assert!(out.named("true").is_empty());
    assert!(out.named("false").is_empty());
}

#[test]
fn missing_fields_and_other_types_are_false_not_errors() {
    let items = [
        json!({}),
        json!({ "n": "12" }),
        json!({ "n": null }),
        json!({ "n": [12] }),
        json!("not an object"),
        json!(12),
        json!({ "n": { "deep": 1 } }),
    ];
    let out = NodeTest::new("core.if")
        .params(if_condition(
            json!({ "field": "n", "operator": "greater_than", "value": 3 }),
        ))
        .items(items.clone())
        .run_blocking()
        .unwrap();
    assert!(out.named("true").is_empty());
    assert_eq!(out.named("false"), items);
    // The negated operators are true there.
    let out = NodeTest::new("core.if")
        .params(if_condition(
            json!({ "field": "n", "operator": "not_equals", "value": 12 }),
        ))
        .items(items.clone())
        .run_blocking()
        .unwrap();
    assert_eq!(out.named("true"), items);
}

#[test]
fn numeric_comparisons() {
    let cases = [
        ("greater_than", 10, [false, false, true]),
        ("greater_or_equal", 10, [false, true, true]),
        ("less_than", 10, [true, false, false]),
        ("less_or_equal", 10, [true, true, false]),
        ("equals", 10, [false, true, false]),
    ];
    let items = [9.99, 10.0, 10.01].map(|amount| json!({ "price": { "amount": amount } }));
    for (operator, value, expected) in cases {
        let out = NodeTest::new("core.if")
            .params(if_condition(
                json!({ "field": "price.amount", "operator": operator, "value": value }),
            ))
            .items(items.clone())
            .run_blocking()
            .unwrap();
        let taken = out.named("true");
        let routed: Vec<bool> = items.iter().map(|item| taken.contains(item)).collect();
        assert_eq!(routed, expected, "{operator}");
    }
}

// core.filter -----------------------------------------------------------------------------

#[tokio::test]
async fn filter_dropping_every_item_skips_downstream() {
    let run = workflow(
        "core.filter",
        json!({ "condition": { "field": "email", "operator": "ends_with", "value": "@example.com" } }),
        &["Kept"],
    )
    .input([json!({ "email": "a@other.org" }), json!({ "name": "no email" })])
    .run()
    .await
    .unwrap();
    assert_eq!(run.json("Test", 0).await.unwrap(), Vec::<Value>::new());
    assert_skipped(&run, "Kept").await;
}

#[tokio::test]
async fn filter_with_and_or_groups() {
    // Adults from France or Belgium, or anyone flagged VIP (case-insensitive tag).
    let condition = json!({ "any": [
        { "all": [
            { "field": "age", "operator": "greater_or_equal", "value": 18 },
            { "any": [
                { "field": "country", "operator": "equals", "value": "FR" },
                { "field": "country", "operator": "equals", "value": "BE" }
            ] }
        ] },
        { "field": "tags", "operator": "contains", "value": "vip", "case_sensitive": false }
    ] });
    let run = workflow("core.filter", json!({ "condition": condition }), &["Kept"])
        .input([
            json!({ "id": 1, "age": 30, "country": "FR" }),
            json!({ "id": 2, "age": 12, "country": "FR" }),
            json!({ "id": 3, "age": 40, "country": "DE" }),
            json!({ "id": 4, "age": 12, "country": "DE", "tags": ["VIP"] }),
            json!({ "id": 5, "country": "BE" }),
            json!({ "id": 6, "age": 18, "country": "BE" }),
        ])
        .run()
        .await
        .unwrap();
    let ids: Vec<Value> = run
        .json("Kept", 0)
        .await
        .unwrap()
        .iter()
        .map(|item| item["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(4), json!(6)]);
    // Lineage: the third kept item was the sixth input.
    let kept = run.items("Test").await.unwrap();
    assert_eq!(kept[0][2].source.as_ref().unwrap().item_index, 5);
}

#[test]
fn filter_with_regex_and_not() {
    let out = NodeTest::new("core.filter")
        .params(json!({ "condition": { "not": {
            "field": "sku", "operator": "regex", "value": "^tmp-", "case_sensitive": false
        } } }))
        .items([
            json!({ "sku": "TMP-1" }),
            json!({ "sku": "A-1" }),
            json!({ "sku": "a-tmp-2" }),
        ])
        .run_blocking()
        .unwrap();
    assert_eq!(
        out.json(0),
        [json!({ "sku": "A-1" }), json!({ "sku": "a-tmp-2" })]
    );
}

#[test]
fn filter_with_no_items_emits_nothing() {
    let out = NodeTest::new("core.filter")
        .params(json!({ "condition": { "field": "a", "operator": "is_not_empty" } }))
        .run_blocking()
        .unwrap();
    assert!(out.json(0).is_empty());
}

// core.switch -----------------------------------------------------------------------------

/// Rules: 0 `type == "a"`, 1 `priority > 5`, 2 `type starts with "a"`.
fn switch_params(extra: Value) -> Value {
    let mut parameters = json!({ "rules": [
        { "field": "type", "operator": "equals", "value": "a" },
        { "field": "priority", "operator": "greater_than", "value": 5 },
        { "field": "type", "operator": "starts_with", "value": "a" }
    ] });
    if let (Some(parameters), Value::Object(extra)) = (parameters.as_object_mut(), extra) {
        parameters.extend(extra);
    }
    parameters
}

fn switch_items() -> [Value; 4] {
    [
        json!({ "id": 1, "type": "a", "priority": 9 }),
        json!({ "id": 2, "type": "b", "priority": 9 }),
        json!({ "id": 3, "type": "ab", "priority": 1 }),
        json!({ "id": 4, "type": "c", "priority": 1 }),
    ]
}

fn ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// Targets for outputs 0 to 8 of a switch: the rules' and the fallback.
const SWITCH_TARGETS: [&str; 9] = ["R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7", "Fallback"];

#[tokio::test]
async fn switch_first_match_with_fallback() {
    let run = workflow("core.switch", switch_params(json!({})), &SWITCH_TARGETS)
        .input(switch_items())
        .run()
        .await
        .unwrap();
    assert_eq!(ids(&run.json("R0", 0).await.unwrap()), [1]);
    assert_eq!(ids(&run.json("R1", 0).await.unwrap()), [2]);
    assert_eq!(ids(&run.json("R2", 0).await.unwrap()), [3]);
    assert_eq!(ids(&run.json("Fallback", 0).await.unwrap()), [4]);
    for unused in &SWITCH_TARGETS[3..8] {
        assert_skipped(&run, unused).await;
    }
}

#[tokio::test]
async fn switch_all_matches_copies_items() {
    let run = workflow(
        "core.switch",
        switch_params(json!({ "mode": "all_matches" })),
        &SWITCH_TARGETS,
    )
    .input(switch_items())
    .run()
    .await
    .unwrap();
    assert_eq!(ids(&run.json("R0", 0).await.unwrap()), [1]);
    assert_eq!(ids(&run.json("R1", 0).await.unwrap()), [1, 2]);
    assert_eq!(ids(&run.json("R2", 0).await.unwrap()), [1, 3]);
    assert_eq!(ids(&run.json("Fallback", 0).await.unwrap()), [4]);
}

#[tokio::test]
async fn switch_dropping_unmatched_items_skips_the_fallback_branch() {
    let run = workflow(
        "core.switch",
        switch_params(json!({ "fallback": "drop" })),
        &SWITCH_TARGETS,
    )
    .input(switch_items())
    .run()
    .await
    .unwrap();
    assert_eq!(ids(&run.json("R2", 0).await.unwrap()), [3]);
    assert_skipped(&run, "Fallback").await;
    let outputs = run.items("Test").await.unwrap();
    assert_eq!(outputs.iter().map(Vec::len).sum::<usize>(), 3);
}

#[test]
fn switch_outputs_are_named_and_indexed() {
    let out = NodeTest::new("core.switch")
        .params(switch_params(json!({ "mode": "all_matches" })))
        .items(switch_items())
        .run_blocking()
        .unwrap();
    assert_eq!(ids(&out.named("rule_1")), [1, 2]);
    assert_eq!(ids(&out.named("fallback")), [4]);
    assert_eq!(ids(&out.json(8)), [4]);
    let registration = NodeTest::new("core.switch").registration().unwrap();
    assert_eq!(registration.outputs.len(), 9);
    assert_eq!(registration.outputs[8], "fallback");
}

#[test]
fn switch_with_eight_rules_uses_every_output() {
    let rules: Vec<Value> = (0..8)
        .map(|n| json!({ "field": "n", "operator": "equals", "value": n }))
        .collect();
    let out = NodeTest::new("core.switch")
        .params(json!({ "rules": rules }))
        .items((0..9).map(|n| json!({ "n": n })))
        .run_blocking()
        .unwrap();
    for n in 0..9 {
        assert_eq!(out.json(n), [json!({ "n": n })], "output {n}");
    }
}

#[test]
fn switch_with_no_items_emits_nothing() {
    let out = NodeTest::new("core.switch")
        .params(switch_params(json!({})))
        .run_blocking()
        .unwrap();
    assert!((0..9).all(|index| out.json(index).is_empty()));
}

// Bad parameters ----------------------------------------------------------------------------

#[test]
fn an_unknown_operator_names_its_path() {
    let message = param_error(
        "core.if",
        if_condition(json!({ "all": [
            { "field": "a", "operator": "exists" },
            { "field": "b", "operator": "bigger_than", "value": 1 }
        ] })),
    );
    assert!(message.contains("`condition.all[1].operator`"), "{message}");
    assert!(
        message.contains("unknown variant `bigger_than`"),
        "{message}"
    );
    assert!(message.contains("`greater_than`"), "{message}");
}

#[test]
fn an_invalid_regex_names_its_condition() {
    let message = param_error(
        "core.filter",
        json!({ "condition": { "any": [
            { "field": "a", "operator": "regex", "value": "[a-" }
        ] } }),
    );
    assert!(message.contains("`condition.any[0]`"), "{message}");
    assert!(
        message.contains("the `value` of operator `regex` is not a valid regular expression"),
        "{message}"
    );
}

#[test]
fn a_missing_value_is_refused() {
    let message = param_error(
        "core.switch",
        json!({ "rules": [
            { "field": "a", "operator": "exists" },
            { "field": "a", "operator": "less_than" }
        ] }),
    );
    assert!(message.contains("`rules[1]`"), "{message}");
    assert!(
        message.contains("operator `less_than` needs a `value`"),
        "{message}"
    );
}

#[test]
fn other_bad_parameters() {
    let cases = [
        ("core.if", json!({}), "missing field `condition`"),
        (
            "core.if",
            json!({ "condition": "a > 1" }),
            "expected a condition",
        ),
        (
            "core.filter",
            json!({ "condition": { "field": "a", "operator": "exists" }, "keep": true }),
            "unknown field `keep`",
        ),
        (
            "core.filter",
            json!({ "condition": { "field": "a", "operator": "equals", "value": 1, "case": false } }),
            "unknown field `case`",
        ),
        (
            "core.filter",
            json!({ "condition": { "field": "a", "operator": "starts_with", "value": 1 } }),
            "needs a string `value`, not a number",
        ),
        (
            "core.filter",
            json!({ "condition": { "field": "a", "operator": "is_empty", "value": "" } }),
            "operator `is_empty` takes no `value`",
        ),
        (
            "core.filter",
            json!({ "condition": { "field": "a", "operator": "exists", "case_sensitive": "no" } }),
            "`condition.case_sensitive`",
        ),
        (
            "core.switch",
            json!({ "rules": [] }),
            "`rules` holds 0 rules",
        ),
        (
            "core.switch",
            json!({ "rules": vec![json!({ "field": "a", "operator": "exists" }); 9] }),
            "`rules` holds 9 rules; a switch takes 1 to 8",
        ),
        (
            "core.switch",
            switch_params(json!({ "mode": "every" })),
            "`mode`: unknown variant `every`",
        ),
        (
            "core.switch",
            switch_params(json!({ "fallback": "discard" })),
            "`fallback`: unknown variant `discard`",
        ),
    ];
    for (kind, parameters, expected) in cases {
        let message = param_error(kind, parameters.clone());
        assert!(message.contains(expected), "{kind} {parameters}: {message}");
    }
}

#[tokio::test]
async fn bad_parameters_fail_validation_before_anything_runs() {
    let error = workflow(
        "core.if",
        if_condition(json!({ "field": "a", "operator": "regex", "value": "(" })),
        &["Yes", "No"],
    )
    .run()
    .await
    .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("parameters"), "{message}");
    assert!(
        message.contains("not a valid regular expression"),
        "{message}"
    );
}

#[test]
fn parameter_schemas_describe_conditions() {
    let registration = NodeTest::new("core.if").registration().unwrap();
    let schema = serde_json::to_value((registration.params_schema)()).unwrap();
    let condition = &schema["$defs"]["Condition"];
    assert_eq!(condition["oneOf"].as_array().unwrap().len(), 4);
    let operators = serde_json::to_string(&schema["$defs"]["Operator"]).unwrap();
    for operator in ["equals", "regex", "less_or_equal", "is_not_empty"] {
        assert!(operators.contains(&format!("\"{operator}\"")), "{operator}");
    }
    let switch = NodeTest::new("core.switch").registration().unwrap();
    let schema = serde_json::to_value((switch.params_schema)()).unwrap();
    assert_eq!(schema["properties"]["rules"]["maxItems"], 8);
}
