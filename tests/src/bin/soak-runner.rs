//! One process of the soak test: runs executions `{PREFIX}-{FROM}` to `{PREFIX}-{TO - 1}` of a
//! workflow, one after the other, each to its end.
//!
//! `soak-runner STATE_URL WORKFLOW.json PREFIX FROM TO` prints `begin ID` before each
//! execution, `done ID` when it completed, and `error ID: MESSAGE` for each invocation that
//! failed (a store fault, a conflict), after which it tries again, up to five times, and then
//! goes on to the next one, leaving the execution to be resumed. Starting an execution that
//! exists already carries it on, so a runner started again after a kill simply runs its range
//! again. Engine options come from the environment (`HETUMIND_LEASE_MS`, ...).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use hetumind::config::Config;
use hetumind::engine::{Drive, Engine};
use hetumind::model::{ExecuteWorkflow, NextAction, Request};

hetumind::link_node_crates!();

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, workflow, prefix, from, to] = &args[..] else {
        eprintln!("usage: soak-runner STATE_URL WORKFLOW.json PREFIX FROM TO");
        return ExitCode::from(2);
    };
    let (Ok(from), Ok(to)) = (from.parse::<u32>(), to.parse::<u32>()) else {
        eprintln!("FROM and TO are numbers");
        return ExitCode::from(2);
    };
    let workflow = match hetumind_tests::read_workflow(workflow) {
        Ok(workflow) => workflow,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let (registry, store) = match hetumind_tests::registry_and_store(url) {
        Ok(opened) => opened,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let options = match Config::engine_options(&|name: &str| std::env::var(name).ok()) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
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
    let say = |line: String| {
        let mut out = std::io::stdout().lock();
        // A line at a time, flushed: a killed runner leaves whole lines.
        let _ = out.write_all(format!("{line}\n").as_bytes());
        let _ = out.flush();
    };
    runtime.block_on(async {
        for number in from..to {
            let id = format!("{prefix}-{number}");
            say(format!("begin {id}"));
            for _ in 0..5 {
                let request = Request::ExecuteWorkflow(ExecuteWorkflow {
                    workflow_id: None,
                    workflow: Some(Box::new(workflow.clone())),
                    execution_id: Some(id.clone()),
                    input_data: None,
                    trigger: None,
                    metadata: serde_json::Map::new(),
                });
                match engine
                    .drive(request, &Drive::sleeping_up_to(Duration::from_secs(5)))
                    .await
                {
                    Ok(driven) if driven.response.next_action == NextAction::Complete => {
                        say(format!("done {id}"));
                        break;
                    }
                    Ok(driven) => {
                        say(format!(
                            "error {id}: ended with {:?}",
                            driven.response.next_action
                        ));
                    }
                    Err(error) => say(format!("error {id}: {error}")),
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    ExitCode::SUCCESS
}
