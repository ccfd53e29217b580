//! A workflow definition, as the command line's `validate` reads and checks it: parsed with
//! the JSON-path errors of the CLI, planned against the built-in nodes (which checks every
//! node's parameters), drawn as a Mermaid chart, and written and read back as the engine
//! stores it.

#![no_main]

use hetumind::engine::Plan;
use hetumind::fuzzing::read_json;
use hetumind::model::Workflow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let workflow: Workflow = match read_json(data) {
        Ok(workflow) => workflow,
        Err(problem) => {
            assert!(!problem.is_empty());
            return;
        }
    };
    let registry = hetumind_fuzz::registry();
    match Plan::new(&workflow, registry) {
        Ok(plan) => assert!(plan.nodes().len() <= workflow.nodes.len()),
        Err(error) => {
            let _ = error.to_string();
        }
    }
    let _ = hetumind::graph::mermaid(&workflow, registry, None);
    // The engine stores a workflow and reads it back: it must come back the same.
    assert!(
        hetumind_fuzz::round_trips(&workflow),
        "a workflow changed on its way through the store"
    );
});
