//! One invocation of an execution that runs a single node: the contender in the race test.
//!
//! `race-step STATE_URL EXECUTION_ID WORKFLOW.json` starts the execution without running any
//! node; `race-step STATE_URL EXECUTION_ID NODE` runs that node (`execute_node`). Prints
//! `advanced` (exit 0) when this invocation advanced the execution, `conflict` (exit 10) on
//! `Hetumind.StateConflict`, the error otherwise (exit 1). With `RACE_STEP_HAND_OUT` set, a
//! start hands out its fan-out nodes (printing the `fan_out` action) instead of running nothing.

use std::process::ExitCode;
use std::time::Duration;

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{ExecuteNode, ExecuteWorkflow, Request};

hetumind::link_node_crates!();

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(execution_id)) = (args.first(), args.get(1)) else {
        eprintln!("usage: race-step STATE_URL EXECUTION_ID (WORKFLOW.json | NODE)");
        return ExitCode::from(2);
    };
    let Some(target) = args.get(2) else {
        eprintln!("usage: race-step STATE_URL EXECUTION_ID (WORKFLOW.json | NODE)");
        return ExitCode::from(2);
    };
    let starting = target.ends_with(".json");
    let request = match Some(target).filter(|_| starting) {
        Some(path) => {
            let workflow = match hetumind_tests::read_workflow(path) {
                Ok(workflow) => workflow,
                Err(error) => {
                    eprintln!("{error}");
                    return ExitCode::from(2);
                }
            };
            Request::ExecuteWorkflow(ExecuteWorkflow {
                workflow_id: None,
                workflow: Some(Box::new(workflow)),
                execution_id: Some(execution_id.clone()),
                input_data: None,
                trigger: None,
                metadata: serde_json::Map::new(),
            })
        }
        None => Request::ExecuteNode(ExecuteNode {
            execution_id: execution_id.clone(),
            node_name: target.clone(),
            batch: None,
            spec: None,
            input_data: None,
            metadata: serde_json::Map::new(),
        }),
    };
    let (registry, store) = match hetumind_tests::registry_and_store(url) {
        Ok(opened) => opened,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    // Starting claims the execution and runs nothing (with `RACE_STEP_HAND_OUT` set, it hands
    // out its fan-out nodes); a step runs its one node to the end.
    let options = if starting && std::env::var_os("RACE_STEP_HAND_OUT").is_none() {
        EngineOptions {
            max_invocation: Some(Duration::ZERO),
            safety_margin: Duration::ZERO,
            ..EngineOptions::default()
        }
    } else {
        EngineOptions::default()
    };
    let engine = Engine::new(registry, store).with_options(options);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(engine.handle(request, None)) {
        Ok(response) => {
            println!(
                "advanced {}",
                serde_json::to_string(&response.next_action).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(error) if error.error_type() == "Hetumind.StateConflict" => {
            println!("conflict {error}");
            ExitCode::from(10)
        }
        Err(error) => {
            println!("error {error}");
            ExitCode::FAILURE
        }
    }
}
