//! Mermaid flowcharts of workflows, with the node states of an execution when given.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::model::{ExecutionState, NodeInstance, NodeState, OnError, Workflow};
use crate::registry::Registry;

/// A Mermaid `flowchart` of `workflow`; with `state`, each node is coloured by where it stands
/// in that execution (success, failed, waiting, running, skipped; pending nodes stay plain).
/// Edges from a node with named outputs carry the output's name (`true`, `false`, `error`),
/// from `registry`; edges from the single output `main` carry none.
#[must_use]
pub fn mermaid(workflow: &Workflow, registry: &Registry, state: Option<&ExecutionState>) -> String {
    let mut chart = String::from("flowchart LR\n");
    let ids: HashMap<&str, usize> = workflow
        .nodes
        .iter()
        .enumerate()
        .rev() // the first node of a duplicated name keeps it, as in validation
        .map(|(index, node)| (node.name.as_str(), index))
        .collect();
    let id = |name: &str| ids.get(name).map(|index| format!("n{index}"));
    for (index, node) in workflow.nodes.iter().enumerate() {
        let _ = writeln!(
            chart,
            "  n{index}[\"{}<br/><small>{}</small>\"]",
            escape(&node.name),
            escape(&node.kind)
        );
    }
    for (source, ports) in &workflow.connections {
        let Some(from) = id(source) else { continue };
        let names = ids
            .get(source.as_str())
            .map(|&index| output_names(&workflow.nodes[index], registry));
        for outputs in ports.values() {
            for (output, targets) in outputs.iter().enumerate() {
                let label = match &names {
                    Some(Some(names)) => match names.get(output) {
                        Some(&"main") => None,
                        Some(name) => Some(escape(name)),
                        None => Some(output.to_string()),
                    },
                    // An unknown kind: its outputs are only known by index.
                    _ => (outputs.len() > 1).then(|| output.to_string()),
                };
                for target in targets {
                    let Some(to) = id(&target.node) else { continue };
                    match &label {
                        Some(label) => {
                            let _ = writeln!(chart, "  {from} -->|\"{label}\"| {to}");
                        }
                        None => {
                            let _ = writeln!(chart, "  {from} --> {to}");
                        }
                    }
                }
            }
        }
    }
    if let Some(state) = state {
        chart.push_str(concat!(
            "  classDef success fill:#c8e6c9,stroke:#2e7d32\n",
            "  classDef failed fill:#ffcdd2,stroke:#c62828\n",
            "  classDef waiting fill:#fff9c4,stroke:#f9a825\n",
            "  classDef running fill:#bbdefb,stroke:#1565c0\n",
            "  classDef skipped fill:#eeeeee,stroke:#9e9e9e,stroke-dasharray: 4 4\n",
        ));
        for (name, node) in &state.nodes {
            let class = match node {
                NodeState::Success { .. } => "success",
                NodeState::Failed { .. } => "failed",
                NodeState::Waiting { .. } => "waiting",
                NodeState::Running { .. } => "running",
                NodeState::Skipped {} => "skipped",
            };
            if let Some(node_id) = id(name) {
                let _ = writeln!(chart, "  class {node_id} {class}");
            }
        }
    }
    chart
}

/// The output names of `node` in index order, `error` last under `on_error: error_output`;
/// `None` when its kind is not registered.
fn output_names(node: &NodeInstance, registry: &Registry) -> Option<Vec<&'static str>> {
    let registration = registry.resolve(&node.kind, node.version)?;
    let mut names = registration.outputs.to_vec();
    if node.on_error == OnError::ErrorOutput {
        names.push("error");
    }
    Some(names)
}

/// Text made safe inside a quoted Mermaid label.
fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => "#quot;".to_owned(),
            '<' => "#lt;".to_owned(),
            '>' => "#gt;".to_owned(),
            '\n' | '\r' => " ".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
