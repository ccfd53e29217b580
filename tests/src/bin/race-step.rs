//! One invocation of an execution, sized to run a single node: the contender in the race test.
//!
//! `race-step STATE_URL EXECUTION_ID [WORKFLOW.json]`: starts the execution from the workflow
//! when given, else resumes it. Prints `advanced` (exit 0) when this invocation advanced the
//! execution, `conflict` (exit 10) on `Hetumind.StateConflict`, the error otherwise (exit 1).

use hetumind::model::{ExecuteWorkflow, ResumeExecution};
use std::process::ExitCode;
use std::time::Duration;

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{Request, Workflow};

hetumind::link_node_crates!();

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(execution_id)) = (args.first(), args.get(1)) else {
        eprintln!("usage: race-step STATE_URL EXECUTION_ID [WORKFLOW.json]");
        return ExitCode::from(2);
    };
    let request = match args.get(2) {
        Some(path) => {
            let workflow: Workflow = match std::fs::read(path)
                .map_err(|error| error.to_string())
                .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| error.to_string()))
            {
                Ok(workflow) => workflow,
                Err(error) => {
                    eprintln!("{path}: {error}");
                    return ExitCode::from(2);
                }
            };
            Request::ExecuteWorkflow(ExecuteWorkflow {
                workflow_id: None,
                workflow: Some(Box::new(workflow)),
                execution_id: Some(execution_id.clone()),
                input_data: None,
                metadata: serde_json::Map::new(),
            })
        }
        None => Request::ResumeExecution(ResumeExecution {
            execution_id: execution_id.clone(),
            node_name: None,
            input_data: None,
            metadata: serde_json::Map::new(),
        }),
    };
    let (registry, store) = match (hetumind::Registry::global(), hetumind::store::open(url)) {
        (Ok(registry), Ok(store)) => (registry, store),
        (Err(error), _) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
        (_, Err(error)) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    // A budget that lets exactly one node start, and time for it to finish.
    let engine = Engine::new(registry, store).with_options(EngineOptions {
        max_invocation: Some(Duration::from_millis(100)),
        safety_margin: Duration::from_secs(4),
        ..EngineOptions::default()
    });
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
