//! Workflow validation beyond the format: the inputs a connection may end at, error outputs that
//! would drop failed items, the length of ids and names; and the chart of a workflow, whose
//! edges carry the output names of their nodes.

#![allow(clippy::unwrap_used)]

use hetumind::Registry;
use hetumind::engine::{Plan, WorkflowError};
use hetumind::model::{MAX_NAME_CHARS, Workflow};
use hetumind::prelude::*;
use serde_json::{Value, json};

/// Passes each item on (one input).
#[node(kind = "valid.pass")]
async fn pass(Item(value): Item<Value>) -> Result<Value, NodeError> {
    Ok(value)
}

/// Reads inputs 0 and 1.
#[node(kind = "valid.pair", inputs = 2)]
async fn pair(Items(items): Items<Value>) -> Result<Vec<Value>, NodeError> {
    Ok(items)
}

/// Appends any number of inputs.
#[node(kind = "valid.append", inputs = "any")]
async fn append(Items(items): Items<Value>) -> Result<Vec<Value>, NodeError> {
    Ok(items)
}

/// Routes every item to `yes`.
#[node(kind = "valid.route", outputs("yes", "no"))]
async fn route(Item(value): Item<Value>) -> Result<Routed<Value>, NodeError> {
    Ok(Routed::to("yes", value))
}

fn registry() -> &'static Registry {
    Registry::global().unwrap()
}

fn workflow(value: &Value) -> Workflow {
    serde_json::from_value(value.clone()).unwrap()
}

/// The problems of `value`, as (path, message) pairs; none when it is valid.
fn problems(value: &Value) -> Vec<(String, String)> {
    match Plan::new(&workflow(value), registry()) {
        Ok(_) => Vec::new(),
        Err(WorkflowError { problems }) => problems
            .into_iter()
            .map(|problem| (problem.path, problem.message))
            .collect(),
    }
}

/// Nodes `Start` (`valid.pass`) and `Target` of `kind`, with `Start` connected into input
/// `index` of `Target`.
fn into_input(kind: &str, index: u64) -> Value {
    json!({ "id": "w", "nodes": [
        { "name": "Start", "kind": "valid.pass" },
        { "name": "Target", "kind": kind }
    ], "connections": { "Start": { "main": [[{ "node": "Target", "index": index }]] } } })
}

#[test]
fn a_connection_into_an_input_the_node_does_not_read_is_rejected_with_its_path() {
    let found = problems(&into_input("valid.pass", 1));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "connections.Start.main[0][0].index");
    assert_eq!(
        found[0].1,
        "`Target` reads one input (0): it has no input 1"
    );
    let found = problems(&into_input("valid.pair", 2));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "connections.Start.main[0][0].index");
    assert!(found[0].1.contains("2 inputs (0 to 1)"), "{found:?}");
    assert!(
        problems(&into_input("valid.pair", 1)).is_empty(),
        "input 1 of a two-input node"
    );
    assert!(problems(&into_input("valid.pass", 0)).is_empty());
}

#[test]
fn a_named_output_used_as_a_port_says_where_its_targets_go() {
    let connected = |port: &str| {
        json!({ "id": "w", "nodes": [
            { "name": "Route", "kind": "valid.route" },
            { "name": "Target", "kind": "valid.pass" }
        ], "connections": { "Route": { port: [[{ "node": "Target" }]] } } })
    };
    let found = problems(&connected("no"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "connections.Route.no");
    assert_eq!(
        found[0].1,
        "`no` is output 1 of `Route`, and outputs are positions of the port `main`: write its \
         targets as list 1 of `\"main\": [...]`"
    );
    let found = problems(&connected("other"));
    assert_eq!(
        found,
        [(
            "connections.Route.other".to_owned(),
            "unsupported connection kind `other`; only `main` is supported".to_owned()
        )]
    );
}

#[test]
fn a_node_reading_any_number_of_inputs_reads_one_per_connection_into_it() {
    let merge = |indexes: &[u64]| {
        let nodes: Vec<Value> = (0..indexes.len())
            .map(|branch| json!({ "name": format!("B{branch}"), "kind": "valid.pass" }))
            .chain([json!({ "name": "Merge", "kind": "valid.append" })])
            .collect();
        let connections: serde_json::Map<String, Value> = indexes
            .iter()
            .enumerate()
            .map(|(branch, index)| {
                (
                    format!("B{branch}"),
                    json!({ "main": [[{ "node": "Merge", "index": index }]] }),
                )
            })
            .collect();
        problems(&json!({ "id": "m", "nodes": nodes, "connections": connections }))
    };
    assert!(merge(&[0, 1, 2]).is_empty());
    assert!(merge(&[2, 0, 1]).is_empty());
    let found = merge(&[0, 5]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "connections.B1.main[0][0].index");
    assert!(
        found[0]
            .1
            .contains("with 2 connection(s) into it, it has no input 5"),
        "{found:?}"
    );
    // An index the engine would have made room for, input by input.
    let found = merge(&[0, u64::from(u32::MAX)]);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn an_error_output_connected_nowhere_while_other_outputs_are_is_rejected() {
    let with_error_output = |connections: Value| {
        problems(&json!({ "id": "e", "nodes": [
            { "name": "Start", "kind": "valid.pass" },
            { "name": "P", "kind": "valid.pass", "on_error": "error_output" },
            { "name": "Ok", "kind": "valid.pass" },
            { "name": "Bad", "kind": "valid.pass" }
        ], "connections": connections }))
    };
    let found = with_error_output(json!({
        "Start": { "main": [[{ "node": "P" }]] },
        "P": { "main": [[{ "node": "Ok" }]] }
    }));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "nodes[1].on_error");
    assert!(
        found[0].1.contains("connections.P.main[1]") && found[0].1.contains("dropped"),
        "{found:?}"
    );
    // Connected: the failed items go to `Bad`.
    assert!(
        with_error_output(json!({
            "Start": { "main": [[{ "node": "P" }]] },
            "P": { "main": [[{ "node": "Ok" }], [{ "node": "Bad" }]] }
        }))
        .is_empty()
    );
    // Only the error output connected: the successful items are the branch's end, as with any
    // output left unconnected.
    assert!(
        with_error_output(json!({
            "Start": { "main": [[{ "node": "P" }]] },
            "P": { "main": [[], [{ "node": "Bad" }]] }
        }))
        .is_empty()
    );
    // An end node: its outputs, `error` included, are the execution's output.
    assert!(with_error_output(json!({ "Start": { "main": [[{ "node": "P" }]] } })).is_empty());
}

#[test]
fn ids_and_names_are_limited_in_length_and_the_id_cannot_be_empty() {
    let longest = "n".repeat(MAX_NAME_CHARS);
    let too_long = "é".repeat(MAX_NAME_CHARS + 1);
    let named = |id: &str, name: &str| {
        problems(&json!({ "id": id, "nodes": [{ "name": name, "kind": "valid.pass" }] }))
    };
    assert!(named(&longest, &longest).is_empty());
    let found = named(&too_long, &too_long);
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(paths, ["id", "nodes[0].name"], "{found:?}");
    for (_, message) in &found {
        assert_eq!(
            message, "513 characters long; the limit is 512 characters",
            "counted in characters, not bytes"
        );
    }
    let found = named("", "A");
    assert_eq!(
        found,
        [("id".to_owned(), "a workflow id cannot be empty".to_owned())]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let found = problems(&json!({ "id": "", "nodes": [
        { "name": "Start", "kind": "valid.pass" },
        { "name": "P", "kind": "valid.pass", "on_error": "error_output" },
        { "name": "Ok", "kind": "valid.pass" }
    ], "connections": {
        "Start": { "main": [[{ "node": "P" }, { "node": "Ok", "index": 3 }]] },
        "P": { "main": [[{ "node": "Ok" }]] }
    } }));
    let paths: Vec<&str> = found.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "id",
            "connections.Start.main[0][1].index",
            "nodes[1].on_error"
        ],
        "{found:?}"
    );
}

#[test]
fn chart_edges_carry_the_output_names_of_nodes_with_named_outputs() {
    let wf = workflow(&json!({ "id": "g", "nodes": [
        { "name": "Start", "kind": "valid.pass", "on_error": "error_output" },
        { "name": "R", "kind": "valid.route" },
        { "name": "Yes", "kind": "valid.pass" },
        { "name": "No", "kind": "valid.pass" },
        { "name": "Failed", "kind": "valid.pass" },
        { "name": "U", "kind": "valid.unknown" }
    ], "connections": {
        "Start": { "main": [[{ "node": "R" }], [{ "node": "Failed" }]] },
        "R": { "main": [[{ "node": "Yes" }], [{ "node": "No" }]] },
        "Failed": { "main": [[{ "node": "U" }]] },
        "U": { "main": [[], [{ "node": "No" }]] }
    } }));
    let chart = hetumind::graph::mermaid(&wf, registry(), None);
    for edge in [
        "n0 --> n1",
        "n0 -->|\"error\"| n4",
        "n1 -->|\"yes\"| n2",
        "n1 -->|\"no\"| n3",
        "n4 --> n5",
        // An unknown kind's outputs are known only by their index.
        "n5 -->|\"1\"| n3",
    ] {
        assert!(chart.contains(&format!("  {edge}\n")), "{edge}: {chart}");
    }
}
