//! Tests of `core.respond_to_webhook`: the node on its own, and HTTP requests answered with
//! the response it chose (HTTP API events through the Lambda handler, in process).

use std::sync::Arc;

use hetumind::Registry;
use hetumind::config::{CallerWorkflows, Triggers};
use hetumind::engine::Engine;
use hetumind::lambda::Handler;
use hetumind::model::Workflow;
use hetumind::store::{MemStore, StateStore};
use hetumind::testing::NodeTest;
use serde_json::{Value, json};

use super::flow::{assert_mentions, chain, node_error};

const KIND: &str = "core.respond_to_webhook";

/// The one item the node outputs for `items` under `params`.
fn respond(params: Value, items: &[Value]) -> Value {
    let out = NodeTest::new(KIND)
        .params(params)
        .items(items.to_vec())
        .run_blocking()
        .unwrap();
    let json = out.json(0);
    assert_eq!(json.len(), 1, "{json:?}");
    json[0].clone()
}

#[test]
fn respond_builds_the_response_from_its_parameters_and_items() {
    let items = [json!({ "id": 1 }), json!({ "id": 2 })];
    assert_eq!(
        respond(json!({}), &items),
        json!({ "status_code": 200, "body": [{ "id": 1 }, { "id": 2 }] })
    );
    assert_eq!(
        respond(
            json!({ "status_code": 201, "headers": { "location": "/orders/1" }, "body": "first_item" }),
            &items
        ),
        json!({ "status_code": 201, "headers": { "location": "/orders/1" }, "body": { "id": 1 } })
    );
    assert_eq!(
        respond(json!({ "status_code": 204, "body": "empty" }), &items),
        json!({ "status_code": 204, "body": null })
    );
    assert_eq!(
        respond(json!({ "body": { "json": "accepted" } }), &items),
        json!({ "status_code": 200, "body": "accepted" })
    );
}

#[test]
fn respond_rejects_what_http_cannot_send_naming_it() {
    let cases: [(Value, &[&str]); 5] = [
        (json!({ "status_code": 99 }), &["status_code", "99"]),
        (json!({ "status_code": 600 }), &["status_code", "600"]),
        (
            json!({ "headers": { "bad name": "x" } }),
            &["`bad name` is not a valid header name"],
        ),
        (
            json!({ "headers": { "x-evil": "a\r\nset-cookie: owned=1" } }),
            &["headers.x-evil", "cannot carry"],
        ),
        (
            json!({ "body": "everything" }),
            &["body", "unknown variant"],
        ),
    ];
    for (params, parts) in cases {
        let error = node_error(NodeTest::new(KIND).params(params).items([json!({})]));
        assert_mentions(&error, parts);
    }
}

/// A handler whose store holds `workflows`.
async fn handler(workflows: Vec<Value>) -> Handler {
    let engine = Engine::new(Registry::global().unwrap(), Arc::new(MemStore::new()));
    for workflow in workflows {
        let workflow: Workflow = serde_json::from_value(workflow).unwrap();
        engine.put_workflow(&workflow).await.unwrap();
    }
    Handler::new(engine, any_workflow())
}

/// Trigger settings that let a caller name any workflow.
fn any_workflow() -> Triggers {
    Triggers {
        caller_workflows: CallerWorkflows::Any,
        ..Triggers::default()
    }
}

/// An HTTP API event (payload 2.0, as a Function URL also sends) posting `body` to
/// `/workflows/{workflow_id}`.
fn post(workflow_id: &str, body: &Value) -> Value {
    let path = format!(
        "{}/../tests/fixtures/events/http-api-v2.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    event["pathParameters"]["workflow_id"] = json!(workflow_id);
    event["body"] = json!(body.to_string());
    event
}

/// A stored workflow `id`: an HTTP trigger passing the body on, then `then`.
fn webhook(id: &str, then: &[(&str, &str, Value)]) -> Value {
    let mut nodes = vec![("Hook", "core.webhook_trigger", json!({ "output": "body" }))];
    nodes.extend(then.iter().cloned());
    let mut workflow = chain(&nodes);
    workflow["id"] = json!(id);
    workflow
}

#[tokio::test]
async fn an_http_request_is_answered_with_the_response_the_workflow_chose() {
    let handler = handler(vec![
        webhook(
            "created",
            &[(
                "Respond",
                KIND,
                json!({ "status_code": 201, "headers": { "location": "/people/ada" }, "body": "first_item" }),
            )],
        ),
        webhook(
            "text",
            &[(
                "Respond",
                KIND,
                json!({ "headers": { "content-type": "text/plain; charset=utf-8" }, "body": { "json": "thanks" } }),
            )],
        ),
        webhook(
            "empty",
            &[("Respond", KIND, json!({ "status_code": 204, "body": "empty" }))],
        ),
        // Answered before the execution goes on (a wait of an hour) or fails.
        webhook(
            "queued",
            &[
                ("Respond", KIND, json!({ "body": { "json": { "queued": true } } })),
                ("Later", "core.wait", json!({ "amount": 1, "unit": "hours" })),
            ],
        ),
        webhook(
            "fails-after",
            &[
                ("Respond", KIND, json!({ "status_code": 202, "body": "empty" })),
                ("Fail", "core.stop_and_error", json!({ "message": "too late" })),
            ],
        ),
        // Without a responder: the end items, as before.
        webhook("plain", &[]),
    ])
    .await;
    let ada = json!({ "name": "Ada" });
    let answer = |workflow: &'static str| {
        let handler = &handler;
        let event = post(workflow, &ada);
        async move { handler.handle(event, 0).await.unwrap() }
    };

    let created = answer("created").await;
    assert_eq!(created["statusCode"], 201, "{created}");
    assert_eq!(created["headers"]["location"], "/people/ada", "{created}");
    assert_eq!(
        created["headers"]["content-type"], "application/json",
        "{created}"
    );
    assert_eq!(created["body"], ada.to_string(), "{created}");

    let text = answer("text").await;
    assert_eq!(text["statusCode"], 200, "{text}");
    assert_eq!(text["headers"]["content-type"], "text/plain; charset=utf-8");
    assert_eq!(text["body"], "thanks", "{text}");

    let empty = answer("empty").await;
    assert_eq!(empty["statusCode"], 204, "{empty}");
    assert!(empty.get("body").is_none_or(Value::is_null), "{empty}");
    assert!(empty["headers"].get("content-type").is_none(), "{empty}");

    let queued = answer("queued").await;
    assert_eq!(queued["statusCode"], 200, "{queued}");
    assert_eq!(queued["body"], json!({ "queued": true }).to_string());

    let fails_after = answer("fails-after").await;
    assert_eq!(fails_after["statusCode"], 202, "{fails_after}");

    let plain = answer("plain").await;
    assert_eq!(plain["statusCode"], 200, "{plain}");
    assert_eq!(plain["body"], json!([ada]).to_string());
}

#[tokio::test]
async fn a_trigger_passing_the_body_on_stores_neither_headers_nor_query() {
    let store = Arc::new(MemStore::new());
    let engine = Engine::new(Registry::global().unwrap(), Arc::clone(&store) as _);
    for (id, output) in [("body", "body"), ("whole", "request")] {
        let mut workflow = chain(&[("Hook", "core.webhook_trigger", json!({ "output": output }))]);
        workflow["id"] = json!(id);
        let workflow: Workflow = serde_json::from_value(workflow).unwrap();
        engine.put_workflow(&workflow).await.unwrap();
    }
    let handler = Handler::new(engine, any_workflow());
    let ada = json!({ "name": "Ada" });
    let stored_input = |workflow: &'static str| {
        let handler = &handler;
        let store = &store;
        let mut event = post(workflow, &ada);
        event["headers"]["authorization"] = json!("Bearer SECRET");
        event["queryStringParameters"]["token"] = json!("t-1");
        async move {
            let before = store.list("executions/").await.unwrap();
            let answer = handler.handle(event, 0).await.unwrap();
            assert_eq!(answer["statusCode"], 200, "{answer}");
            let after = store.list("executions/").await.unwrap();
            let key = after
                .into_iter()
                .find(|key| key.ends_with("/input.json") && !before.contains(key))
                .unwrap();
            let stored = store.get(&key).await.unwrap().unwrap();
            let input: Value = serde_json::from_slice(&stored.bytes).unwrap();
            (answer, input[0]["json"].clone())
        }
    };

    let (answer, input) = stored_input("body").await;
    assert_eq!(answer["body"], json!([ada]).to_string());
    assert_eq!(
        input,
        json!({ "method": "POST", "path": "/workflows/echo", "headers": {}, "query": {}, "body": ada })
    );
    let (_, input) = stored_input("whole").await;
    assert_eq!(input["query"]["token"], "t-1", "{input}");
    assert_eq!(
        input["headers"]["authorization"],
        Triggers::REDACTED,
        "{input}"
    );
}
