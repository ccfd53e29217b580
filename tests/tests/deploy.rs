//! The deployment assets: the Step Functions state machine retries only what retrying can fix,
//! and handles every `next_action` the function answers. (`tests/step_functions.rs` runs it.)

#![allow(clippy::unwrap_used)]

use serde_json::{Map, Value, json};

/// Errors a retry cannot fix: the request, the workflow or the execution id is wrong.
const PERMANENT: [&str; 5] = [
    "Hetumind.InvalidRequest",
    "Hetumind.WorkflowInvalid",
    "Hetumind.WorkflowNotFound",
    "Hetumind.ExecutionNotFound",
    "Hetumind.ExecutionExists",
];

fn machine() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/deploy/statemachine.asl.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every state, at any depth (a Map state's own states too), by name.
fn all_states(states: &Map<String, Value>, into: &mut Vec<(String, Value)>) {
    for (name, state) in states {
        into.push((name.clone(), state.clone()));
        if let Some(inner) = state["ItemProcessor"]["States"].as_object() {
            all_states(inner, into);
        }
    }
}

fn states() -> Vec<(String, Value)> {
    let mut states = Vec::new();
    all_states(machine()["States"].as_object().unwrap(), &mut states);
    states
}

fn state(name: &str) -> Value {
    states()
        .into_iter()
        .find(|(found, _)| found == name)
        .unwrap_or_else(|| panic!("no state {name}"))
        .1
}

fn retried(state: &Value) -> Vec<String> {
    state["Retry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|retry| retry["ErrorEquals"].as_array().unwrap())
        .map(|error| error.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_state_machine_never_retries_a_permanent_error() {
    let mut tasks = Vec::new();
    for (name, state) in states() {
        if state["Type"] != "Task" {
            continue;
        }
        tasks.push(name.clone());
        let errors = retried(&state);
        for transient in [
            "Hetumind.Retryable",
            "Lambda.ServiceException",
            "Lambda.Unknown",
        ] {
            assert!(
                errors.iter().any(|error| error == transient),
                "state {name} does not retry {transient}"
            );
        }
        for error in errors {
            assert!(
                !PERMANENT.contains(&error.as_str()) && error != "States.ALL",
                "state {name} retries {error}"
            );
        }
    }
    tasks.sort();
    assert_eq!(
        tasks,
        ["AwaitSignal", "ExecuteNode", "Resume", "Start"],
        "every Lambda task has a retry policy"
    );
}

#[test]
fn the_state_machine_handles_every_next_action() {
    let decide = state("Decide");
    let routes: Vec<(&str, &str)> = decide["Choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|choice| {
            assert_eq!(choice["Variable"], "$.last.next_action.type");
            (
                choice["StringEquals"].as_str().unwrap(),
                choice["Next"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("continue", "Resume"),
            ("wait", "WaitUntilResume"),
            ("await_signal", "AwaitSignal"),
            ("fan_out", "FanOut"),
            ("complete", "Completed"),
            ("failed", "ExecutionFailed"),
        ]
    );
    assert_eq!(state("WaitUntilResume")["Next"], "Resume");
    assert_eq!(
        state("ExecutionFailed")["Error"],
        "Hetumind.ExecutionFailed"
    );
    assert_eq!(state(decide["Default"].as_str().unwrap())["Type"], "Fail");

    // fan_out: every task as an execute_node request of the execution, at most
    // max_concurrency at once, the state kept, then a resume.
    let fan_out = state("FanOut");
    assert_eq!(fan_out["ItemsPath"], "$.last.next_action.tasks");
    assert_eq!(fan_out["MaxConcurrencyPath"], "$.config.max_concurrency");
    assert_eq!(fan_out["ResultPath"], Value::Null);
    assert!(fan_out.as_object().unwrap().contains_key("ResultPath"));
    assert_eq!(fan_out["Next"], "Resume");
    let worker = state("ExecuteNode");
    let payload = &worker["Parameters"]["Payload"];
    assert_eq!(payload["request_type"], "execute_node");
    for field in ["execution_id", "node_name", "batch"] {
        assert!(payload.get(format!("{field}.$")).is_some(), "no {field}");
    }
    // A dead worker's node is held until its lease ends: waited out, then left to the resume.
    assert!(retried(&worker).contains(&"Hetumind.StateConflict".to_owned()));
    assert_eq!(
        worker["Catch"][0]["ErrorEquals"][0],
        "Hetumind.StateConflict"
    );
    // The start names the execution after the state machine execution, so that a retried
    // start carries it on instead of starting another.
    assert_eq!(
        state("Prepare")["Parameters"]["execution_id.$"],
        "$$.Execution.Name"
    );
}

#[test]
fn the_state_machine_awaits_a_signal_on_a_task_token_and_resumes_when_it_times_out() {
    let await_signal = state("AwaitSignal");
    assert_eq!(
        await_signal["Resource"],
        "arn:aws:states:::lambda:invoke.waitForTaskToken"
    );
    assert_eq!(
        await_signal["Parameters"]["Payload"],
        json!({ "request_type": "resume_execution", "execution_id.$": "$.execution_id",
            "task_token.$": "$$.Task.Token" })
    );
    assert_eq!(
        await_signal["TimeoutSecondsPath"],
        "$.last.next_action.timeout_seconds"
    );
    assert_eq!(await_signal["ResultPath"], "$.last");
    assert_eq!(await_signal["Next"], "Decide");
    let catches = await_signal["Catch"].as_array().unwrap();
    assert_eq!(catches.len(), 1);
    assert_eq!(catches[0]["ErrorEquals"], json!(["States.Timeout"]));
    assert_eq!(catches[0]["Next"], "Resume");
}
