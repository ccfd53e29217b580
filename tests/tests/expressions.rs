//! Expressions in node parameters (`{% jq %}`), end to end: evaluated per item for an each-item
//! node and once for an all-items node, before the parameters reach the node's type; reading
//! the execution and the workflow; checked at validation with their JSON paths; failing an item
//! with an error that names it, the parameter and the expression, under every `on_error`.

#![allow(clippy::unwrap_used)]

use hetumind::Registry;
use hetumind::engine::{Plan, WorkflowError};
use hetumind::model::{ExecutionStatus, OnError, Workflow};
use hetumind::prelude::*;
use hetumind::testing::{NodeTest, TestError, WorkflowTest};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Passes each item on.
#[node(kind = "expr.pass")]
async fn pass(Item(item): Item<Value>) -> Result<Value, NodeError> {
    Ok(item)
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
struct Label {
    /// The label to put on each item.
    label: String,
    /// How many times to repeat it.
    times: u32,
}

/// Labels each item: `{"label": label × times}`.
#[node(kind = "expr.label")]
async fn label(Params(p): Params<Label>, Item(_item): Item<Value>) -> Result<Value, NodeError> {
    Ok(json!({ "label": p.label.repeat(p.times as usize) }))
}

/// Counts its items under the label its parameters give, once.
#[node(kind = "expr.count")]
async fn count(Params(p): Params<Label>, Items(items): Items<Value>) -> Result<Value, NodeError> {
    Ok(json!({ "label": p.label, "times": p.times, "items": items.len() }))
}

/// Echoes the execution it runs in as `Ctx` tells it.
#[node(kind = "expr.whoami")]
async fn whoami(Item(_item): Item<Value>, ctx: Ctx) -> Result<Value, NodeError> {
    let execution = ctx.execution();
    Ok(json!({
        "id": &*execution.id,
        "workflow_id": &*execution.workflow_id,
        "workflow_name": &*execution.workflow_name,
    }))
}

fn chain(kind: &str, parameters: &Value) -> Value {
    json!({
        "id": "labels",
        "name": "Labels",
        "nodes": [
            { "name": "Start", "kind": "expr.pass" },
            { "name": "Label", "kind": kind, "parameters": parameters }
        ],
        "connections": { "Start": { "main": [[{ "node": "Label" }]] } }
    })
}

#[tokio::test]
async fn an_each_item_node_evaluates_its_parameters_on_every_item() {
    let run = WorkflowTest::new(chain(
        "expr.label",
        &json!({ "label": "{% .name | ascii_upcase %}", "times": "{% .n %}" }),
    ))
    .input([
        json!({ "name": "ab", "n": 1 }),
        json!({ "name": "c", "n": 3 }),
    ])
    .run()
    .await
    .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    assert_eq!(
        run.output(),
        [json!({ "label": "AB" }), json!({ "label": "CCC" })]
    );
}

#[tokio::test]
async fn an_all_items_node_evaluates_its_parameters_once_on_its_first_item() {
    let run = WorkflowTest::new(chain(
        "expr.count",
        &json!({ "label": "{% \"from \\(.name) in \\($workflow.id)\" %}", "times": 2 }),
    ))
    .input([json!({ "name": "first" }), json!({ "name": "second" })])
    .run()
    .await
    .unwrap();
    assert_eq!(
        run.output(),
        [json!({ "label": "from first in labels", "times": 2, "items": 2 })]
    );
}

#[tokio::test]
async fn expressions_and_nodes_see_the_same_execution() {
    let workflow = json!({
        "id": "labels",
        "name": "Labels",
        "nodes": [
            { "name": "Who", "kind": "expr.whoami" },
            { "name": "Label", "kind": "expr.label", "parameters": {
                "label": "{% \"\\($execution.id)/\\($workflow.name)\" %}", "times": 1
            } }
        ],
        "connections": { "Who": { "main": [[{ "node": "Label" }]] } }
    });
    let run = WorkflowTest::new(workflow).run().await.unwrap();
    let id = run.response().execution_id.clone();
    assert_eq!(
        run.json("Who", 0).await.unwrap(),
        [json!({ "id": id, "workflow_id": "labels", "workflow_name": "Labels" })]
    );
    assert_eq!(run.output(), [json!({ "label": format!("{id}/Labels") })]);
}

#[tokio::test]
async fn a_failing_expression_fails_its_item_as_any_item_error_does() {
    let parameters = json!({ "label": "{% .name | ascii_upcase %}", "times": 1 });
    let items = [json!({ "name": "ok" }), json!({ "name": 5 })];
    let error = NodeTest::new("expr.label")
        .params(parameters.clone())
        .items(items.clone())
        .run()
        .await
        .unwrap_err();
    let TestError::Node(error) = error else {
        panic!("{error}")
    };
    assert_eq!(
        error.message(),
        "item 1: parameter `.label`: expression `{% .name | ascii_upcase %}` failed: cannot use 5 as string"
    );
    // Under `continue`, the failed item passes on with the error; the other is labelled.
    let output = NodeTest::new("expr.label")
        .params(parameters)
        .items(items)
        .on_error(OnError::Continue)
        .run()
        .await
        .unwrap();
    let json = output.json(0);
    assert_eq!(json[0], json!({ "label": "OK" }));
    assert_eq!(json[1]["name"], 5);
    assert!(
        json[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("item 1: parameter `.label`"),
        "{json:?}"
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_reported_when_the_parameters_are_read() {
    let error = NodeTest::new("expr.label")
        .params(json!({ "label": "x", "times": "{% .n %}" }))
        .items([json!({ "n": "many" })])
        .run()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("invalid parameters") && message.contains("times"),
        "{message}"
    );
}

/// The problems `Plan::new` finds in `workflow`.
fn problems(workflow: Value) -> Vec<(String, String)> {
    let workflow: Workflow = serde_json::from_value(workflow).unwrap();
    match Plan::new(&workflow, Registry::global().unwrap()) {
        Ok(_) => Vec::new(),
        Err(WorkflowError { problems }) => problems
            .into_iter()
            .map(|problem| (problem.path, problem.message))
            .collect(),
    }
}

#[test]
fn validation_compiles_every_expression_and_names_its_path() {
    assert_eq!(
        problems(chain(
            "expr.label",
            &json!({ "label": "{% .a | %}", "times": "{% $nope %}" })
        )),
        [
            (
                "nodes[1].parameters.label".to_owned(),
                "expected term at the end".to_owned()
            ),
            (
                "nodes[1].parameters.times".to_owned(),
                "undefined variable `$nope`".to_owned()
            ),
        ]
    );
    // Even on a node of an unknown kind.
    let found = problems(chain("expr.nosuch", &json!({ "x": ["{% nosuch(1) %}"] })));
    assert_eq!(
        found[0],
        (
            "nodes[1].parameters.x[0]".to_owned(),
            "undefined filter `nosuch/1`".to_owned()
        )
    );
    assert_eq!(found[1].0, "nodes[1].kind");
}

#[test]
fn parameters_with_expressions_are_typed_when_the_node_runs() {
    // A number field given an expression validates; given a plain string, it does not.
    assert!(
        problems(chain(
            "expr.label",
            &json!({ "label": "x", "times": "{% 2 %}" })
        ))
        .is_empty()
    );
    let found = problems(chain(
        "expr.label",
        &json!({ "label": "x", "times": "two" }),
    ));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "nodes[1].parameters");
}

/// Start -> Upper -> Greet: Greet reads the item of `Start` its own item derives from, and all
/// of `Start`'s items.
fn greeting(dispatch: &str) -> Value {
    json!({
        "id": "greet",
        "settings": { "dispatch": dispatch },
        "nodes": [
            { "name": "Start", "kind": "expr.pass" },
            { "name": "Upper", "kind": "expr.label", "parameters": {
                "label": "{% .name | ascii_upcase %}", "times": 1
            } },
            { "name": "Greet", "kind": "expr.label", "parameters": {
                "label": "{% \"\\(.label) (was \\(node(\"Start\").name), one of \\(node_items(\"Start\") | length))\" %}",
                "times": 1
            } }
        ],
        "connections": {
            "Start": { "main": [[{ "node": "Upper" }]] },
            "Upper": { "main": [[{ "node": "Greet" }]] }
        }
    })
}

#[tokio::test]
async fn node_reads_the_earlier_item_an_item_derives_from_inline_and_fanned_out() {
    for dispatch in ["inline", "fan_out"] {
        let run = WorkflowTest::new(greeting(dispatch))
            .input([json!({ "name": "ab" }), json!({ "name": "c" })])
            .run()
            .await
            .unwrap();
        assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
        assert_eq!(
            run.output(),
            [
                json!({ "label": "AB (was ab, one of 2)" }),
                json!({ "label": "C (was c, one of 2)" })
            ],
            "{dispatch}"
        );
    }
}

#[test]
fn validation_checks_the_nodes_an_expression_reads() {
    let reading = |name: &str| {
        let mut workflow = greeting("inline");
        workflow["nodes"][1]["parameters"]["label"] = json!(format!("{{% node(\"{name}\").x %}}"));
        problems(workflow)
    };
    assert_eq!(reading("Start"), []);
    assert_eq!(
        reading("Nope"),
        [(
            "nodes[1].parameters".to_owned(),
            "an expression reads node `Nope`, which the workflow does not have".to_owned()
        )]
    );
    assert_eq!(
        reading("Greet"),
        [(
            "nodes[1].parameters".to_owned(),
            "an expression reads node `Greet`, which does not run before `Upper`: no path of connections leads from it to here".to_owned()
        )]
    );
    assert!(reading("Upper")[0].1.contains("its own output"));
    // A name must be written as it is, so that the engine knows what to fetch.
    let mut workflow = greeting("inline");
    workflow["nodes"][2]["parameters"]["label"] = json!("{% node(.name) %}");
    let found = problems(workflow);
    assert_eq!(found[0].0, "nodes[2].parameters.label");
    assert!(found[0].1.contains("literal string"), "{found:?}");
    let mut workflow = greeting("inline");
    workflow["nodes"][2]["parameters"]["label"] = json!("{% secret(\"no spaces\") %}");
    assert_eq!(problems(workflow)[0].0, "nodes[2].parameters");
}

const TOKEN: &str = "tok-3f9a-51c2";

/// Start -> Auth, whose label holds a secret: what the engine keeps is redacted.
fn authorizing(label: &str) -> Value {
    chain("expr.label", &json!({ "label": label, "times": 1 }))
}

#[tokio::test]
async fn a_secret_reaches_the_node_and_never_what_the_engine_keeps() {
    // `times` proves the node read the value; the label holding it is stored redacted.
    let workflow = chain(
        "expr.label",
        &json!({
            "label": "{% \"Bearer \" + secret(\"api-token\") %}",
            "times": "{% secret(\"api-token\") | length - 12 %}"
        }),
    );
    let run = WorkflowTest::new(workflow)
        .secret("api-token", TOKEN)
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Success, "{:?}", run.error());
    assert_eq!(run.output(), [json!({ "label": "Bearer [secret]" })]);
    // An error that quotes the value is redacted too.
    let run = WorkflowTest::new(authorizing("{% secret(\"api-token\") | error %}"))
        .secret("api-token", TOKEN)
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    let error = run.error().unwrap();
    assert!(
        error.contains("[secret]") && !error.contains(TOKEN),
        "{error}"
    );
}

#[tokio::test]
async fn a_missing_secret_fails_the_node_naming_it() {
    let run = WorkflowTest::new(authorizing("{% secret(\"absent\") %}"))
        .run()
        .await
        .unwrap();
    assert_eq!(run.status(), ExecutionStatus::Failed);
    let error = run.error().unwrap();
    assert!(error.contains("secret `absent`"), "{error}");
}

#[tokio::test]
async fn no_stored_file_holds_a_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    let store = hetumind::store::FsStore::new(dir.path());
    let engine =
        hetumind::engine::Engine::new(Registry::global().unwrap(), std::sync::Arc::new(store))
            .with_secrets(std::sync::Arc::new(hetumind::secrets::Secrets::given([(
                "api-token",
                TOKEN,
            )])));
    let workflow: Workflow =
        serde_json::from_value(authorizing("{% \"Bearer \" + secret(\"api-token\") %}")).unwrap();
    let request = hetumind::model::Request::ExecuteWorkflow(hetumind::model::ExecuteWorkflow {
        workflow_id: None,
        workflow: Some(Box::new(workflow)),
        execution_id: Some("secretive".to_owned()),
        input_data: None,
        trigger: None,
        metadata: Default::default(),
    });
    let drive = hetumind::engine::Drive::sleeping_up_to(std::time::Duration::ZERO);
    let driven = engine.drive(request, &drive).await.unwrap();
    assert_eq!(driven.response.status, ExecutionStatus::Success);
    let mut files = vec![dir.path().to_path_buf()];
    let mut read = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(TOKEN),
                "{} holds the secret",
                path.display()
            );
            read += 1;
        }
    }
    assert!(read >= 3, "only {read} files stored");
}

#[tokio::test]
async fn a_node_test_gives_the_outputs_and_secrets_expressions_read() {
    let output = NodeTest::new("expr.label")
        .params(json!({
            "label": "{% \"\\(node(\"Users\").name):\\(secret(\"pin\"))\" %}",
            "times": "{% node_items(\"Users\") | length %}"
        }))
        .node_output("Users", [json!({ "name": "Ada" })])
        .secret("pin", "4711")
        .items([json!({})])
        .run()
        .await
        .unwrap();
    // The node's own output: the engine redacts secret values only from what it keeps.
    assert_eq!(output.json(0), [json!({ "label": "Ada:4711" })]);
}
