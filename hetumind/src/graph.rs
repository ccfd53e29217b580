//! Mermaid flowcharts of workflows, with the node states of an execution when given.

use std::fmt::Write as _;

use crate::model::{ExecutionState, NodeState, Workflow};

/// A Mermaid `flowchart` of `workflow`; with `state`, each node is coloured by where it stands
/// in that execution (success, failed, waiting, running, skipped; pending nodes stay plain).
#[must_use]
pub fn mermaid(workflow: &Workflow, state: Option<&ExecutionState>) -> String {
    let mut chart = String::from("flowchart LR\n");
    let id = |name: &str| {
        workflow
            .nodes
            .iter()
            .position(|node| node.name == name)
            .map(|index| format!("n{index}"))
    };
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
        for outputs in ports.values() {
            for (output, targets) in outputs.iter().enumerate() {
                for target in targets {
                    let Some(to) = id(&target.node) else { continue };
                    if outputs.len() > 1 {
                        let _ = writeln!(chart, "  {from} -->|{output}| {to}");
                    } else {
                        let _ = writeln!(chart, "  {from} --> {to}");
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
