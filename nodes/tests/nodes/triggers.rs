//! Tests of the trigger nodes: `core.manual_trigger`, `core.webhook_trigger`,
//! `core.schedule_trigger` and `core.event_trigger`, each with the item its Lambda trigger
//! starts an execution with (shapes as in `tests/fixtures/events/`).

use chrono::{DateTime, Utc};
use hetumind::model::ExecutionStatus;
use hetumind::testing::{NodeTest, WorkflowTest};
use serde_json::{Value, json};

use super::flow::{assert_mentions, chain, node_error};

/// `trigger` (with `parameters`) followed by a `core.no_op`.
async fn through(
    kind: &str,
    parameters: Value,
    input: Vec<Value>,
) -> hetumind::testing::WorkflowRun {
    WorkflowTest::new(chain(&[
        ("Trigger", kind, parameters),
        ("Next", "core.no_op", json!({})),
    ]))
    .input(input)
    .run()
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// core.manual_trigger

#[tokio::test]
async fn manual_trigger_passes_the_input_items_on() {
    let items = vec![
        json!({ "name": "Ada" }),
        json!([1, 2]),
        json!("text"),
        json!(null),
    ];
    let run = through("core.manual_trigger", json!({}), items.clone()).await;
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.output(), items);
    // Without input, the workflow starts with one empty item.
    let run = WorkflowTest::new(chain(&[("Start", "core.manual_trigger", json!({}))]))
        .run()
        .await
        .unwrap();
    assert_eq!(run.output(), [json!({})]);
}

#[test]
fn manual_trigger_takes_no_parameters_and_passes_nothing_on_from_nothing() {
    let out = NodeTest::new("core.manual_trigger").run_blocking().unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
    let error = node_error(
        NodeTest::new("core.manual_trigger")
            .params(json!({ "input": 1 }))
            .items([json!({})]),
    );
    assert_mentions(&error, &["invalid parameters", "input"]);
}

// ---------------------------------------------------------------------------------------------
// core.webhook_trigger

/// The item an HTTP API (payload 2.0) request `POST /workflows/echo?source=test` starts with.
fn request() -> Value {
    json!({
        "method": "POST",
        "path": "/workflows/echo",
        "headers": { "content-type": "application/json", "x-request-id": "req-42" },
        "query": { "source": "test" },
        "body": { "name": "Ada" }
    })
}

#[tokio::test]
async fn webhook_trigger_passes_the_request_on() {
    let run = through("core.webhook_trigger", json!({}), vec![request()]).await;
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.output(), [request()]);

    let run = through(
        "core.webhook_trigger",
        json!({ "methods": ["POST", "PUT"], "output": "body" }),
        vec![request()],
    )
    .await;
    assert_eq!(run.output(), [json!({ "name": "Ada" })]);
}

#[tokio::test]
async fn webhook_trigger_fails_on_a_method_not_allowed() {
    let run = through(
        "core.webhook_trigger",
        json!({ "methods": ["GET"] }),
        vec![request()],
    )
    .await;
    assert_eq!(run.status(), ExecutionStatus::Failed);
    assert_mentions(
        run.error().unwrap(),
        &["Trigger", "`POST`", "`methods`", "GET"],
    );
}

#[test]
fn webhook_trigger_fills_what_a_request_lacks_and_compares_methods_loosely() {
    let out = NodeTest::new("core.webhook_trigger")
        .params(json!({ "methods": ["GET"] }))
        .items([json!({ "method": "get", "path": "/hook" })])
        .run_blocking()
        .unwrap();
    assert_eq!(
        out.json(0),
        [json!({ "method": "get", "path": "/hook", "headers": {}, "query": {}, "body": null })]
    );
    let out = NodeTest::new("core.webhook_trigger")
        .params(json!({ "output": "body" }))
        .items([json!({ "method": "POST", "body": "plain text" })])
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), [json!("plain text")]);
    let out = NodeTest::new("core.webhook_trigger")
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
}

#[test]
fn webhook_trigger_rejects_items_that_are_not_requests() {
    let error = node_error(NodeTest::new("core.webhook_trigger").items([json!({})]));
    assert_mentions(&error, &["input item 0", "`method`"]);
    let error = node_error(
        NodeTest::new("core.webhook_trigger").items([json!({ "method": "GET", "headers": [] })]),
    );
    assert_mentions(&error, &["input item 0", "`headers`"]);
}

#[test]
fn webhook_trigger_rejects_bad_parameters_naming_them() {
    let cases = [
        (
            json!({ "methods": ["FETCH"] }),
            &["`methods[0]`", "FETCH"][..],
        ),
        (json!({ "methods": "GET" }), &["`methods`"][..]),
        (json!({ "output": "headers" }), &["`output`", "headers"][..]),
        (json!({ "path": "/x" }), &["`path`"][..]),
    ];
    for (params, parts) in cases {
        let error = node_error(
            NodeTest::new("core.webhook_trigger")
                .params(params)
                .items([request()]),
        );
        assert_mentions(&error, &["invalid parameters"]);
        assert_mentions(&error, parts);
    }
}

// ---------------------------------------------------------------------------------------------
// core.schedule_trigger

/// An EventBridge scheduled event, as the handler passes it on.
fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "5c1f0a52-8d7e-4b2a-9f3e-3e1c2d4b5a6f",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-28T06:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly-digest"],
        "detail": {}
    })
}

#[tokio::test]
async fn schedule_trigger_passes_the_event_on_with_when_and_which_rule() {
    let run = through("core.schedule_trigger", json!({}), vec![scheduled_event()]).await;
    assert_eq!(run.status(), ExecutionStatus::Success);
    let mut expected = scheduled_event();
    expected["fired_at"] = json!("2026-11-28T06:00:00Z");
    expected["rule"] = json!("nightly-digest");
    assert_eq!(run.output(), [expected]);
}

#[tokio::test]
async fn schedule_trigger_run_by_hand_fires_now() {
    let before = Utc::now() - chrono::TimeDelta::seconds(1);
    let run = through("core.schedule_trigger", json!({}), vec![json!({})]).await;
    let output = run.output();
    let fired_at: DateTime<Utc> = output[0]["fired_at"].as_str().unwrap().parse().unwrap();
    assert!(fired_at >= before && fired_at <= Utc::now(), "{fired_at}");
    assert_eq!(output[0].as_object().unwrap().len(), 1, "{output:?}");
}

#[test]
fn schedule_trigger_takes_no_parameters_and_wants_objects() {
    let error = node_error(
        NodeTest::new("core.schedule_trigger")
            .params(json!({ "cron": "0 6 * * *" }))
            .items([scheduled_event()]),
    );
    assert_mentions(&error, &["invalid parameters", "cron"]);
    let error = node_error(NodeTest::new("core.schedule_trigger").items([json!("tick")]));
    assert_mentions(&error, &["input item 0"]);
    let out = NodeTest::new("core.schedule_trigger")
        .run_blocking()
        .unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
}

// ---------------------------------------------------------------------------------------------
// core.event_trigger

/// An EventBridge custom event, as the handler passes it on.
fn order_placed() -> Value {
    json!({
        "version": "0",
        "id": "0d8b7e21-6c4f-4b1e-8a9d-2f7c6e5d4c3b",
        "detail-type": "Order Placed",
        "source": "com.example.shop",
        "account": "123456789012",
        "time": "2026-11-28T12:03:04Z",
        "region": "us-east-1",
        "resources": [],
        "detail": { "order_id": "o-1001", "total": 42.5, "currency": "EUR" }
    })
}

#[tokio::test]
async fn event_trigger_passes_events_and_sqs_bodies_on() {
    let sqs_body = json!({ "name": "Ada" });
    let run = through(
        "core.event_trigger",
        json!({}),
        vec![order_placed(), sqs_body.clone(), json!("not json")],
    )
    .await;
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.output(), [order_placed(), sqs_body, json!("not json")]);
}

#[tokio::test]
async fn event_trigger_drops_events_that_do_not_match_its_filters() {
    let mut refund = order_placed();
    refund["detail-type"] = json!("Refund Issued");
    let mut other = order_placed();
    other["source"] = json!("com.example.billing");
    let input = vec![
        order_placed(),
        refund.clone(),
        other,
        json!({ "name": "Ada" }),
    ];

    let run = through(
        "core.event_trigger",
        json!({ "source": ["com.example.shop"], "detail_type": ["Order Placed", "Refund Issued"] }),
        input.clone(),
    )
    .await;
    assert_eq!(run.output(), [order_placed(), refund.clone()]);

    let run = through(
        "core.event_trigger",
        json!({ "detail_type": ["Refund Issued"] }),
        input,
    )
    .await;
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.output(), [refund]);

    // Nothing passes: the next node is skipped, the execution still succeeds.
    let run = through(
        "core.event_trigger",
        json!({ "source": ["com.example.none"] }),
        vec![order_placed()],
    )
    .await;
    assert_eq!(run.status(), ExecutionStatus::Success);
    assert_eq!(run.output(), Vec::<Value>::new());
}

#[test]
fn event_trigger_rejects_bad_parameters_naming_them() {
    let cases = [
        (json!({ "source": "com.example.shop" }), "`source`"),
        (json!({ "detail_type": [1] }), "`detail_type[0]`"),
        (json!({ "detail-type": ["Order Placed"] }), "detail-type"),
    ];
    for (params, field) in cases {
        let error = node_error(
            NodeTest::new("core.event_trigger")
                .params(params)
                .items([order_placed()]),
        );
        assert_mentions(&error, &["invalid parameters", field]);
    }
    let out = NodeTest::new("core.event_trigger").run_blocking().unwrap();
    assert_eq!(out.json(0), Vec::<Value>::new());
}
