//! Every node instance shown in the library's README is valid: the documentation cannot drift
//! from the parameters the nodes accept.

use hetumind::engine::Plan;
use hetumind::{Registry, Workflow};
use serde_json::{Value, json};

/// The JSON code blocks of `nodes/README.md` that are node instances.
fn documented_instances() -> Vec<Value> {
    let readme = include_str!("../../README.md");
    readme
        .split("```json")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter_map(|block| serde_json::from_str::<Value>(block).ok())
        .filter(|value| value.get("kind").is_some())
        .collect()
}

#[test]
fn every_documented_node_instance_validates() {
    let registry = Registry::global().unwrap();
    let instances = documented_instances();
    assert!(
        instances.len() >= 22,
        "only {} examples found",
        instances.len()
    );
    let mut documented: Vec<&str> = instances
        .iter()
        .map(|instance| instance["kind"].as_str().unwrap())
        .collect();
    documented.sort_unstable();
    documented.dedup();
    let mut builtin: Vec<&str> = registry
        .iter()
        .map(|node| node.kind)
        .filter(|kind| kind.starts_with("core."))
        .collect();
    builtin.dedup();
    assert_eq!(documented, builtin, "every built-in node has an example");
    for instance in instances {
        let workflow: Workflow =
            serde_json::from_value(json!({ "id": "readme", "nodes": [instance.clone()] })).unwrap();
        if let Err(error) = Plan::new(&workflow, registry) {
            panic!("the README's example {instance} is invalid: {error}");
        }
    }
}
