//! The deployment assets: the Step Functions state machine retries only what retrying can fix.

#![allow(clippy::unwrap_used)]

use serde_json::Value;

/// Errors a retry cannot fix: the request, the workflow or the execution id is wrong.
const PERMANENT: [&str; 5] = [
    "Hetumind.InvalidRequest",
    "Hetumind.WorkflowInvalid",
    "Hetumind.WorkflowNotFound",
    "Hetumind.ExecutionNotFound",
    "Hetumind.ExecutionExists",
];

#[test]
fn the_state_machine_never_retries_a_permanent_error() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/deploy/statemachine.asl.json"
    );
    let machine: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut tasks = 0;
    for (name, state) in machine["States"].as_object().unwrap() {
        let Some(retries) = state.get("Retry") else {
            continue;
        };
        tasks += 1;
        for retry in retries.as_array().unwrap() {
            for error in retry["ErrorEquals"].as_array().unwrap() {
                let error = error.as_str().unwrap();
                assert!(
                    !PERMANENT.contains(&error) && error != "States.ALL",
                    "state {name} retries {error}"
                );
            }
        }
    }
    assert_eq!(tasks, 2, "both Lambda tasks have a retry policy");
}
