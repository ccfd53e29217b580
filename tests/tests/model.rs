//! The JSON formats of the data model: workflows, items and execution state round-trip through
//! serde without loss, reject unknown fields by name, fill in their documented defaults, and the
//! published workflow JSON Schema describes the format.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use hetumind::RetryPolicy;
use hetumind::model::{
    BinaryRef, Connection, ExecutionState, ExecutionStatus, ItemData, ItemSource, NodeInstance,
    NodeState, OnError, RetryOverride, Workflow, WorkflowSettings,
};
use hetumind::retry::Jitter;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Parses `json` as `T` and checks both round trips: parse -> serialize -> parse gives an equal
/// value, and serialize -> parse -> serialize gives equal JSON (as a value and as text).
fn round_trip<T>(json: &Value) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let parsed: T = serde_json::from_value(json.clone())
        .unwrap_or_else(|error| panic!("cannot parse {json}: {error}"));
    let serialized = serde_json::to_value(&parsed).expect("serializes");
    let reparsed: T = serde_json::from_value(serialized.clone())
        .unwrap_or_else(|error| panic!("cannot parse back {serialized}: {error}"));
    assert_eq!(reparsed, parsed, "parse -> serialize -> parse of {json}");
    let reserialized = serde_json::to_value(&reparsed).expect("serializes");
    assert_eq!(reserialized, serialized, "serialize -> parse -> serialize");

    let text = serde_json::to_string(&parsed).expect("serializes");
    let from_text: T = serde_json::from_str(&text).expect("parses its own text");
    assert_eq!(from_text, parsed, "through text: {text}");
    assert_eq!(
        serde_json::to_string(&from_text).expect("serializes"),
        text,
        "text is stable"
    );
    parsed
}

/// Like [`round_trip`], and `json` is already in the serialized form, so that it comes back
/// exactly as written: nothing is lost or added.
fn lossless<T>(json: &Value) -> T
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let parsed = round_trip::<T>(json);
    assert_eq!(
        serde_json::to_value(&parsed).expect("serializes"),
        *json,
        "serializing gives back what was parsed"
    );
    parsed
}

/// The error of parsing `json` as `T`, with the JSON path of the culprit.
fn parse_error<T: DeserializeOwned + Debug>(json: &Value) -> (String, String) {
    let text = json.to_string();
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let error =
        serde_path_to_error::deserialize::<_, T>(&mut deserializer).expect_err("must be rejected");
    (error.path().to_string(), error.inner().to_string())
}

/// Asserts that `json` is rejected as `T` because of the unknown field `field` at `path`.
fn assert_unknown_field<T: DeserializeOwned + Debug>(json: &Value, path: &str, field: &str) {
    let (at, message) = parse_error::<T>(json);
    assert!(
        message.contains(&format!("unknown field `{field}`")),
        "the error names the unknown field `{field}`: {message}"
    );
    assert_eq!(
        at, path,
        "the error is located at the unknown field: {message}"
    );
    let plain = serde_json::from_value::<T>(json.clone())
        .expect_err("rejected without path tracking too")
        .to_string();
    assert!(plain.contains(&format!("`{field}`")), "{plain}");
}

/// A workflow using every field of the format, in serialized form.
fn full_workflow() -> Value {
    json!({
        "id": "orders",
        "name": "Orders",
        "settings": { "max_concurrency": 4 },
        "nodes": [
            { "name": "Start", "kind": "core.manual_trigger", "parameters": {} },
            {
                "name": "Greet",
                "kind": "example.greet",
                "version": 2,
                "parameters": { "greeting": "Hello", "nested": { "list": [1, 2.5, null, true] } },
                "retry": {
                    "max_attempts": 5,
                    "initial_interval_ms": 200,
                    "backoff_rate": 1.5,
                    "max_interval_ms": 30000,
                    "jitter": "none"
                },
                "timeout_ms": 10000,
                "on_error": "continue"
            },
            {
                "name": "Check",
                "kind": "core.if",
                "version": 1,
                "parameters": {},
                "retry": { "jitter": "full" },
                "on_error": "error_output"
            },
            { "name": "Yes", "kind": "core.no_op", "parameters": [] },
            { "name": "No", "kind": "core.no_op", "parameters": null }
        ],
        "connections": {
            "Start": { "main": [ [ { "node": "Greet", "kind": "main", "index": 0 } ] ] },
            "Greet": { "main": [ [
                { "node": "Check", "kind": "main", "index": 0 },
                { "node": "Yes", "kind": "main", "index": 1 }
            ] ] },
            "Check": {
                "main": [
                    [ { "node": "Yes", "kind": "main", "index": 0 } ],
                    [],
                    [ { "node": "No", "kind": "main", "index": 0 } ]
                ],
                "ai_tool": [ [ { "node": "Greet", "kind": "ai_tool", "index": 3 } ] ]
            }
        }
    })
}

#[test]
fn a_workflow_with_every_field_round_trips_losslessly() {
    let workflow: Workflow = lossless(&full_workflow());
    assert_eq!(workflow.id, "orders");
    assert_eq!(workflow.name, "Orders");
    assert_eq!(
        workflow.settings,
        WorkflowSettings {
            max_concurrency: 4,
            ..WorkflowSettings::default()
        }
    );
    assert_eq!(workflow.nodes.len(), 5);

    let greet = workflow.node("Greet").expect("Greet");
    assert_eq!(greet.kind, "example.greet");
    assert_eq!(greet.version, Some(2));
    assert_eq!(
        greet.parameters["nested"]["list"],
        json!([1, 2.5, null, true])
    );
    assert_eq!(
        greet.retry,
        Some(RetryOverride {
            max_attempts: Some(5),
            initial_interval_ms: Some(200),
            backoff_rate: Some(1.5),
            max_interval_ms: Some(30_000),
            jitter: Some(Jitter::None),
        })
    );
    assert_eq!(greet.timeout_ms, Some(10_000));
    assert_eq!(greet.timeout(), Some(Duration::from_secs(10)));
    assert_eq!(greet.on_error, OnError::Continue);

    let check = workflow.node("Check").expect("Check");
    assert_eq!(check.on_error, OnError::ErrorOutput);
    assert_eq!(check.timeout(), None);
    assert_eq!(workflow.node("Start").expect("Start").version, None);
    assert_eq!(
        workflow.node("Start").expect("Start").on_error,
        OnError::Stop
    );
    assert_eq!(workflow.node("Yes").expect("Yes").parameters, json!([]));
    assert_eq!(workflow.node("No").expect("No").parameters, Value::Null);
    assert!(workflow.node("Missing").is_none());

    let check_outputs = &workflow.connections["Check"]["main"];
    assert_eq!(check_outputs.len(), 3);
    assert!(check_outputs[1].is_empty());
    assert_eq!(
        check_outputs[2],
        [Connection {
            node: "No".to_owned(),
            kind: "main".to_owned(),
            index: 0,
        }]
    );
    assert_eq!(
        workflow.connections["Check"]["ai_tool"][0][0],
        Connection {
            node: "Greet".to_owned(),
            kind: "ai_tool".to_owned(),
            index: 3,
        }
    );
}

#[test]
fn a_minimal_workflow_gets_the_documented_defaults() {
    let workflow: Workflow = round_trip(&json!({
        "id": "minimal",
        "nodes": [ { "name": "Only", "kind": "core.no_op" } ]
    }));
    assert_eq!(workflow.name, "");
    assert_eq!(workflow.settings, WorkflowSettings::default());
    assert_eq!(workflow.settings.max_concurrency, 16);
    assert!(workflow.connections.is_empty());
    let only = &workflow.nodes[0];
    assert_eq!(only.version, None);
    assert_eq!(only.parameters, json!({}));
    assert_eq!(only.retry, None);
    assert_eq!(only.timeout_ms, None);
    assert_eq!(only.on_error, OnError::Stop);

    // Defaults are written out where the format has them, absent options are left out.
    assert_eq!(
        serde_json::to_value(&workflow).expect("serializes"),
        json!({
            "id": "minimal",
            "settings": { "max_concurrency": 16 },
            "nodes": [ { "name": "Only", "kind": "core.no_op", "parameters": {} } ],
            "connections": {}
        })
    );

    let empty_settings: Workflow = round_trip(&json!({ "id": "x", "settings": {}, "nodes": [] }));
    assert_eq!(empty_settings.settings.max_concurrency, 16);
}

#[test]
fn version_is_kept_when_present_and_omitted_when_absent() {
    let with: NodeInstance = lossless(&json!({
        "name": "A", "kind": "k", "version": 7, "parameters": {}
    }));
    assert_eq!(with.version, Some(7));
    let without: NodeInstance = lossless(&json!({ "name": "A", "kind": "k", "parameters": {} }));
    assert_eq!(without.version, None);
    assert_ne!(with, without);
}

#[test]
fn on_error_has_three_values() {
    for (text, value) in [
        ("stop", OnError::Stop),
        ("continue", OnError::Continue),
        ("error_output", OnError::ErrorOutput),
    ] {
        assert_eq!(round_trip::<OnError>(&json!(text)), value);
        assert_eq!(
            serde_json::to_value(value).expect("serializes"),
            json!(text)
        );
        let node: NodeInstance = round_trip(&json!({
            "name": "A", "kind": "k", "on_error": text
        }));
        assert_eq!(node.on_error, value);
    }
    assert_eq!(OnError::default(), OnError::Stop);

    // `stop` is the default, so it is not written out; the others are.
    let stop: NodeInstance =
        serde_json::from_value(json!({ "name": "A", "kind": "k", "on_error": "stop" }))
            .expect("parses");
    assert!(
        serde_json::to_value(&stop)
            .expect("serializes")
            .get("on_error")
            .is_none()
    );

    let (_, message) = parse_error::<OnError>(&json!("ignore"));
    assert!(message.contains("unknown variant `ignore`"), "{message}");
    assert!(
        message.contains("error_output"),
        "lists the valid values: {message}"
    );
    let (_, message) = parse_error::<OnError>(&json!("Stop"));
    assert!(message.contains("unknown variant `Stop`"), "{message}");
}

#[test]
fn connections_accept_node_name_and_default_kind_and_index() {
    let spelled_node_name: Connection = round_trip(&json!({ "node_name": "Target" }));
    assert_eq!(
        spelled_node_name,
        Connection {
            node: "Target".to_owned(),
            kind: "main".to_owned(),
            index: 0,
        }
    );
    // Written back in the canonical spelling.
    assert_eq!(
        serde_json::to_value(&spelled_node_name).expect("serializes"),
        json!({ "node": "Target", "kind": "main", "index": 0 })
    );
    let spelled_node: Connection = round_trip(&json!({ "node": "Target" }));
    assert_eq!(spelled_node, spelled_node_name);

    let full: Connection = lossless(&json!({ "node": "T", "kind": "ai_tool", "index": 2 }));
    assert_eq!(full.kind, "ai_tool");
    assert_eq!(full.index, 2);

    let workflow: Workflow = round_trip(&json!({
        "id": "w",
        "nodes": [],
        "connections": { "A": { "main": [ [ { "node_name": "B", "index": 1 } ] ] } }
    }));
    assert_eq!(
        workflow.connections["A"]["main"][0][0],
        Connection {
            node: "B".to_owned(),
            kind: "main".to_owned(),
            index: 1,
        }
    );

    let (_, message) = parse_error::<Connection>(&json!({ "kind": "main" }));
    assert!(message.contains("missing field `node`"), "{message}");
    assert!(
        serde_json::from_value::<Connection>(json!({ "node": "A", "node_name": "B" })).is_err()
    );
}

#[test]
fn retry_overrides_apply_field_by_field() {
    let empty: RetryOverride = lossless(&json!({}));
    assert_eq!(empty, RetryOverride::default());
    let partial: RetryOverride = lossless(&json!({ "max_attempts": 9, "max_interval_ms": 5 }));
    let policy = partial.apply(&RetryPolicy::DEFAULT);
    assert_eq!(policy.max_attempts, 9);
    assert_eq!(policy.max_interval, Duration::from_millis(5));
    assert_eq!(
        policy.initial_interval,
        RetryPolicy::DEFAULT.initial_interval
    );
    assert_eq!(policy.backoff_rate, RetryPolicy::DEFAULT.backoff_rate);
    assert_eq!(policy.jitter, RetryPolicy::DEFAULT.jitter);

    let node: NodeInstance = round_trip(&json!({
        "name": "A", "kind": "k",
        "retry": { "initial_interval_ms": 10, "backoff_rate": 3.0, "jitter": "none" }
    }));
    let policy = node.retry_policy(&RetryPolicy::NEVER);
    assert_eq!(
        policy,
        RetryPolicy {
            max_attempts: 1,
            initial_interval: Duration::from_millis(10),
            backoff_rate: 3.0,
            max_interval: Duration::from_secs(30),
            jitter: Jitter::None,
        }
    );
    let plain: NodeInstance = round_trip(&json!({ "name": "A", "kind": "k" }));
    assert_eq!(plain.retry_policy(&RetryPolicy::NEVER), RetryPolicy::NEVER);
}

#[test]
fn retry_policies_round_trip_in_milliseconds() {
    let policy: RetryPolicy = lossless(&json!({
        "max_attempts": 3,
        "initial_interval_ms": 1000,
        "backoff_rate": 2.0,
        "max_interval_ms": 30000,
        "jitter": "full"
    }));
    assert_eq!(policy, RetryPolicy::DEFAULT);
    assert_eq!(RetryPolicy::default(), RetryPolicy::DEFAULT);
    assert_eq!(RetryPolicy::NEVER.max_attempts, 1);
    let never: RetryPolicy = round_trip(&serde_json::to_value(RetryPolicy::NEVER).expect("json"));
    assert_eq!(never, RetryPolicy::NEVER);
}

#[test]
fn unknown_workflow_fields_are_rejected_by_name() {
    let mut top = full_workflow();
    top["descripton"] = json!("typo");
    assert_unknown_field::<Workflow>(&top, "descripton", "descripton");

    let mut settings = full_workflow();
    settings["settings"]["max_concurency"] = json!(3);
    assert_unknown_field::<Workflow>(&settings, "settings.max_concurency", "max_concurency");

    let mut node = full_workflow();
    node["nodes"][1]["timeout"] = json!(5);
    assert_unknown_field::<Workflow>(&node, "nodes[1].timeout", "timeout");

    let mut retry = full_workflow();
    retry["nodes"][1]["retry"]["jiter"] = json!("full");
    assert_unknown_field::<Workflow>(&retry, "nodes[1].retry.jiter", "jiter");

    let mut connection = full_workflow();
    connection["connections"]["Start"]["main"][0][0]["output"] = json!(1);
    assert_unknown_field::<Workflow>(&connection, "connections.Start.main[0][0].output", "output");

    // Parameters are free-form here; the node's own schema checks them.
    let mut parameters = full_workflow();
    parameters["nodes"][1]["parameters"]["anything"] = json!({ "goes": true });
    round_trip::<Workflow>(&parameters);
}

#[test]
fn bad_workflow_values_are_rejected_with_their_path() {
    let mut version = full_workflow();
    version["nodes"][1]["version"] = json!("2");
    let (path, message) = parse_error::<Workflow>(&version);
    assert_eq!(path, "nodes[1].version", "{message}");

    let mut missing = full_workflow();
    missing["nodes"][0]
        .as_object_mut()
        .expect("object")
        .remove("kind");
    let (path, message) = parse_error::<Workflow>(&missing);
    assert!(message.contains("missing field `kind`"), "{message}");
    assert_eq!(path, "nodes[0]");

    let (_, message) = parse_error::<Workflow>(&json!({ "nodes": [] }));
    assert!(message.contains("missing field `id`"), "{message}");
}

#[test]
fn items_with_binary_and_source_round_trip_losslessly() {
    let full: ItemData = lossless(&json!({
        "json": { "name": "Ada", "tags": ["a", "b"], "n": 1.5 },
        "binary": {
            "photo": {
                "file_key": "executions/e1/photo",
                "mime_type": "image/png",
                "file_size": 1_048_576,
                "file_name": "ada.png"
            },
            "raw": {
                "file_key": "executions/e1/raw",
                "mime_type": "application/octet-stream",
                "file_size": 0
            }
        },
        "source": { "node": "Fetch", "output_index": 1, "item_index": 42 }
    }));
    let binary = full.binary.as_ref().expect("binary");
    assert_eq!(
        binary["photo"],
        BinaryRef {
            file_key: "executions/e1/photo".to_owned(),
            mime_type: "image/png".to_owned(),
            file_size: 1_048_576,
            file_name: Some("ada.png".to_owned()),
        }
    );
    assert_eq!(binary["raw"].file_name, None);
    assert_eq!(
        full.source,
        Some(ItemSource {
            node: "Fetch".into(),
            output_index: 1,
            item_index: 42,
        })
    );

    let plain: ItemData = lossless(&json!({ "json": [1, 2, 3] }));
    assert_eq!(plain, ItemData::new(json!([1, 2, 3])));
    assert_eq!(ItemData::from(json!("x")), ItemData::new(json!("x")));

    let empty: ItemData = round_trip(&json!({}));
    assert_eq!(empty, ItemData::default());
    assert_eq!(empty.json, Value::Null);

    let empty_binary: ItemData = lossless(&json!({ "json": null, "binary": {} }));
    assert_eq!(empty_binary.binary, Some(BTreeMap::new()));
}

#[test]
fn unknown_item_fields_are_rejected_by_name() {
    assert_unknown_field::<ItemData>(
        &json!({ "json": 1, "pairedItem": 0 }),
        "pairedItem",
        "pairedItem",
    );
    assert_unknown_field::<ItemData>(
        &json!({ "json": 1, "binary": { "b": {
            "file_key": "k", "mime_type": "text/plain", "file_size": 1, "data": "aGk="
        } } }),
        "binary.b.data",
        "data",
    );
    assert_unknown_field::<ItemData>(
        &json!({ "json": 1, "source": { "node": "A", "output_index": 0, "item_index": 0, "input": 1 } }),
        "source.input",
        "input",
    );
    let (path, message) = parse_error::<ItemData>(&json!({
        "binary": { "b": { "file_key": "k", "mime_type": "text/plain" } }
    }));
    assert!(message.contains("missing field `file_size`"), "{message}");
    assert_eq!(path, "binary.b");
}

/// An execution whose nodes are in every state.
fn full_execution() -> Value {
    json!({
        "execution_id": "exec-1",
        "workflow_id": "orders",
        "status": "running",
        "created_at": "2024-05-06T07:08:09.123456789Z",
        "updated_at": "2024-05-06T07:08:10Z",
        "nodes": {
            "A": { "status": "success", "attempt": 1, "output_key": "exec-1/A" },
            "B": { "status": "running", "attempt": 2, "started_at": "2024-05-06T07:08:09.500Z" },
            "C": { "status": "waiting", "attempt": 3, "resume_at": "2024-05-06T07:09:00Z",
                   "last_error": "rate limited", "started_at": "2024-05-06T07:08:00Z" },
            "D": { "status": "waiting", "attempt": 1, "resume_at": "2030-01-01T00:00:00Z" },
            "E": { "status": "skipped" },
            "F": { "status": "failed", "attempt": 5, "error": "boom" },
            "G": { "status": "success", "attempt": 2, "output_key": "exec-1/G" }
        },
        "error": "node `F` failed: boom"
    })
}

#[test]
fn execution_state_with_every_node_state_round_trips_losslessly() {
    let state: ExecutionState = lossless(&full_execution());
    assert_eq!(state.execution_id, "exec-1");
    assert_eq!(state.status, ExecutionStatus::Running);
    assert_eq!(state.error.as_deref(), Some("node `F` failed: boom"));
    assert_eq!(
        state.created_at.to_rfc3339(),
        "2024-05-06T07:08:09.123456789+00:00"
    );
    assert!(matches!(
        &state.nodes["A"],
        NodeState::Success { attempt: 1, output_key } if output_key == "exec-1/A"
    ));
    assert!(matches!(
        state.nodes["B"],
        NodeState::Running { attempt: 2, .. }
    ));
    assert!(matches!(
        &state.nodes["C"],
        NodeState::Waiting { attempt: 3, last_error: Some(error), started_at: Some(_), .. } if error == "rate limited"
    ));
    assert!(matches!(
        state.nodes["D"],
        NodeState::Waiting {
            attempt: 1,
            last_error: None,
            started_at: None,
            ..
        }
    ));
    assert_eq!(state.nodes["E"], NodeState::Skipped {});
    assert!(matches!(
        &state.nodes["F"],
        NodeState::Failed { attempt: 5, error } if error == "boom"
    ));
}

#[test]
fn every_execution_status_round_trips() {
    for (text, status, finished) in [
        ("running", ExecutionStatus::Running, false),
        ("waiting", ExecutionStatus::Waiting, false),
        ("success", ExecutionStatus::Success, true),
        ("failed", ExecutionStatus::Failed, true),
    ] {
        assert_eq!(lossless::<ExecutionStatus>(&json!(text)), status);
        assert_eq!(status.is_finished(), finished, "{text}");
        let mut execution = full_execution();
        execution["status"] = json!(text);
        assert_eq!(lossless::<ExecutionState>(&execution).status, status);
    }
    let (_, message) = parse_error::<ExecutionStatus>(&json!("done"));
    assert!(message.contains("unknown variant `done`"), "{message}");
}

#[test]
fn a_minimal_execution_state_gets_its_defaults() {
    let state: ExecutionState = round_trip(&json!({
        "execution_id": "e",
        "workflow_id": "w",
        "status": "waiting",
        "created_at": "2024-01-01T00:00:00+02:00",
        "updated_at": "2024-01-01T00:00:00Z"
    }));
    assert!(state.nodes.is_empty());
    assert_eq!(state.error, None);
    // Offsets are normalised to UTC.
    assert_eq!(state.created_at.to_rfc3339(), "2023-12-31T22:00:00+00:00");
    let written = serde_json::to_value(&state).expect("serializes");
    assert!(written.get("error").is_none(), "{written}");
    assert_eq!(written["nodes"], json!({}));
}

#[test]
fn unknown_execution_fields_are_rejected_by_name() {
    let mut top = full_execution();
    top["finished_at"] = json!("2024-05-06T07:08:10Z");
    assert_unknown_field::<ExecutionState>(&top, "finished_at", "finished_at");

    for (node, field) in [
        ("A", "bytes"),
        ("B", "deadline"),
        ("C", "reason"),
        ("F", "stack"),
    ] {
        let mut state = full_execution();
        state["nodes"][node][field] = json!(1);
        let (_, message) = parse_error::<ExecutionState>(&state);
        assert!(
            message.contains(&format!("unknown field `{field}`")),
            "node state {node} rejects `{field}`: {message}"
        );
    }

    let mut variant = full_execution();
    variant["nodes"]["E"]["status"] = json!("cancelled");
    let (_, message) = parse_error::<ExecutionState>(&variant);
    assert!(message.contains("unknown variant `cancelled`"), "{message}");

    let (_, message) = parse_error::<NodeState>(&json!({ "attempt": 1, "error": "x" }));
    assert!(message.contains("missing field `status`"), "{message}");
}

/// A schema value at `pointer`, which must exist.
fn at<'a>(schema: &'a Value, pointer: &str) -> &'a Value {
    schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no `{pointer}` in the workflow schema"))
}

/// The sorted names of a `required` array.
fn sorted_names(value: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_array()
        .expect("an array")
        .iter()
        .map(|name| name.as_str().expect("a name"))
        .collect();
    names.sort_unstable();
    names
}

#[test]
fn the_workflow_schema_is_draft_2020_12_and_describes_the_format() {
    let schema = Workflow::json_schema().to_value();
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(schema["title"], json!("Workflow"));
    assert_eq!(schema["type"], json!("object"));
    assert_eq!(schema["additionalProperties"], json!(false));
    assert_eq!(sorted_names(&schema["required"]), ["id", "nodes"]);
    for property in ["id", "name", "settings", "nodes", "connections"] {
        assert!(
            schema["properties"].get(property).is_some(),
            "the schema describes `{property}`"
        );
    }
    assert!(at(&schema, "/properties/nodes/items/$ref").is_string());

    let definitions = at(&schema, "/$defs");
    let node = &definitions["NodeInstance"];
    assert_eq!(node["type"], json!("object"));
    assert_eq!(node["additionalProperties"], json!(false));
    assert_eq!(sorted_names(&node["required"]), ["kind", "name"]);
    for property in [
        "name",
        "kind",
        "version",
        "parameters",
        "retry",
        "timeout_ms",
        "on_error",
    ] {
        assert!(
            node["properties"].get(property).is_some(),
            "the node schema describes `{property}`"
        );
    }

    let connection = &definitions["Connection"];
    // Exactly one of the two spellings the parser accepts.
    assert_eq!(
        connection["oneOf"],
        json!([{ "required": ["node"] }, { "required": ["node_name"] }])
    );
    assert!(connection["properties"].get("node_name").is_some());
    assert_eq!(connection["properties"]["kind"]["default"], json!("main"));
    assert_eq!(connection["properties"]["index"]["default"], json!(0));

    let on_error = serde_json::to_string(&definitions["OnError"]).expect("json");
    for value in ["\"stop\"", "\"continue\"", "\"error_output\""] {
        assert!(
            on_error.contains(value),
            "OnError lists {value}: {on_error}"
        );
    }

    let settings = &definitions["WorkflowSettings"];
    assert_eq!(
        settings["properties"]["max_concurrency"]["default"],
        json!(16)
    );
    assert_eq!(
        settings["properties"]["max_concurrency"]["minimum"],
        json!(1)
    );

    // Connections: source name -> port kind -> outputs -> targets.
    let connections = at(&schema, "/properties/connections");
    assert_eq!(connections["type"], json!("object"));
    let targets = at(
        connections,
        "/additionalProperties/additionalProperties/items/items/$ref",
    );
    assert_eq!(targets, &json!("#/$defs/Connection"));
}

#[test]
fn the_documented_example_workflow_parses() {
    // The documented example workflow, verbatim.
    let example = r#"{
  "id": "orders",
  "name": "Orders",
  "settings": { "max_concurrency": 16 },
  "nodes": [
    { "name": "Start", "kind": "core.manual_trigger", "version": 1, "parameters": {} },
    { "name": "Greet", "kind": "example.greet", "version": 1,
      "parameters": { "greeting": "Hello" },
      "retry": { "max_attempts": 5, "initial_interval_ms": 200, "backoff_rate": 2.0,
                 "max_interval_ms": 30000, "jitter": "full" },
      "timeout_ms": 10000, "on_error": "stop" }
  ],
  "connections": {
    "Start": { "main": [ [ { "node": "Greet", "kind": "main", "index": 0 } ] ] }
  }
}"#;
    let workflow: Workflow = serde_json::from_str(example).expect("the example parses");
    round_trip::<Workflow>(&serde_json::from_str(example).expect("json"));
    assert_eq!(workflow.id, "orders");
    assert_eq!(workflow.name, "Orders");
    assert_eq!(workflow.settings.max_concurrency, 16);
    let names: Vec<&str> = workflow
        .nodes
        .iter()
        .map(|node| node.name.as_str())
        .collect();
    assert_eq!(names, ["Start", "Greet"]);
    let greet = workflow.node("Greet").expect("Greet");
    assert_eq!(greet.version, Some(1));
    assert_eq!(greet.parameters, json!({ "greeting": "Hello" }));
    assert_eq!(greet.timeout(), Some(Duration::from_secs(10)));
    assert_eq!(greet.on_error, OnError::Stop);
    assert_eq!(
        greet.retry_policy(&RetryPolicy::DEFAULT),
        RetryPolicy {
            max_attempts: 5,
            initial_interval: Duration::from_millis(200),
            backoff_rate: 2.0,
            max_interval: Duration::from_secs(30),
            jitter: Jitter::Full,
        }
    );
    assert_eq!(
        workflow.connections["Start"]["main"],
        [vec![Connection {
            node: "Greet".to_owned(),
            kind: "main".to_owned(),
            index: 0,
        }]]
    );
}

/// A number read and written back keeps its last digit (serde_json's `float_roundtrip`; the
/// fuzzer found `123456789012347658901234567890` coming back one unit in the last place off).
#[test]
#[allow(clippy::unwrap_used)]
fn numbers_round_trip_through_the_store_to_the_last_digit() {
    let bytes = br#"[{"json": [123456789012347658901234567890, 0.1, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308]}]"#;
    let items: Vec<hetumind::model::ItemData> = serde_json::from_slice(bytes).unwrap();
    let written = serde_json::to_vec(&items).unwrap();
    let read: Vec<hetumind::model::ItemData> = serde_json::from_slice(&written).unwrap();
    assert_eq!(read, items);
    assert_eq!(serde_json::to_vec(&read).unwrap(), written);
}
