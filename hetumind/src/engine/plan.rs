//! The plan: a workflow checked against the registry and compiled into index-based adjacency
//! lists, so that scheduling costs O(nodes + connections) for a whole execution.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::model::{OnError, Workflow};
use crate::node::NodeRegistration;
use crate::registry::Registry;
use crate::retry::RetryPolicy;

/// A workflow that passed validation, ready to schedule.
#[derive(Debug)]
pub struct Plan {
    nodes: Vec<PlannedNode>,
    parameters: Vec<Arc<Value>>,
    max_concurrency: u32,
    by_name: HashMap<String, usize>,
    starts: Vec<usize>,
}

/// One node of a plan.
#[derive(Debug)]
pub struct PlannedNode {
    /// The node's name.
    pub name: Arc<str>,
    /// The registered node it runs.
    pub registration: &'static NodeRegistration,
    /// The retry policy in force (the node's default with the instance's overrides).
    pub retry: RetryPolicy,
    /// The per-attempt timeout.
    pub timeout: Option<Duration>,
    /// What a failure does.
    pub on_error: OnError,
    /// For each output index (the `error` output last when `on_error` is `error_output`), the
    /// inputs it feeds.
    pub outputs: Vec<Vec<Edge>>,
    /// How many connections end at this node.
    pub incoming: usize,
}

/// A connection's target: node index and input index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The target node's index in the plan.
    pub node: usize,
    /// The target input index.
    pub input: u32,
}

/// Every problem found in a workflow, each with the JSON path where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct WorkflowError {
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the workflow is invalid ({} problem",
            self.problems.len()
        )?;
        if self.problems.len() != 1 {
            f.write_str("s")?;
        }
        f.write_str(")")?;
        for problem in &self.problems {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

/// One problem of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{path}: {message}")]
pub struct Problem {
    /// Where it is, as a JSON path such as `nodes[2].parameters.url`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Plan {
    /// Checks `workflow` against `registry` and compiles it.
    ///
    /// # Errors
    ///
    /// Every problem at once: unknown kinds or versions, parameters that do not match the
    /// node's schema, duplicate names, dangling or out-of-range connections, cycles, and a
    /// workflow without a start node.
    pub fn new(workflow: &Workflow, registry: &Registry) -> Result<Self, WorkflowError> {
        let mut problems = Vec::new();
        let mut by_name = HashMap::with_capacity(workflow.nodes.len());
        let mut nodes = Vec::with_capacity(workflow.nodes.len());
        for (index, instance) in workflow.nodes.iter().enumerate() {
            let path = |field: &str| format!("nodes[{index}].{field}");
            if instance.name.is_empty() {
                problems.push(problem(path("name"), "a node name cannot be empty"));
            } else if by_name.contains_key(&instance.name) {
                // The first node of a name keeps it, so connections resolve to it.
                problems.push(problem(
                    path("name"),
                    format!("duplicate node name `{}`", instance.name),
                ));
            } else {
                by_name.insert(instance.name.clone(), index);
            }
            if let Some(retry) = &instance.retry {
                if retry.max_attempts == Some(0) {
                    problems.push(problem(path("retry.max_attempts"), "must be at least 1"));
                }
                if retry
                    .backoff_rate
                    .is_some_and(|rate| !rate.is_finite() || rate < 1.0)
                {
                    problems.push(problem(
                        path("retry.backoff_rate"),
                        "must be a number of at least 1.0",
                    ));
                }
            }
            if instance.timeout_ms == Some(0) {
                problems.push(problem(path("timeout_ms"), "must be at least 1"));
            }
            let Some(registration) = registry.resolve(&instance.kind, instance.version) else {
                problems.push(problem(
                    path("kind"),
                    unknown_kind(registry, &instance.kind, instance.version),
                ));
                nodes.push(None);
                continue;
            };
            if let Err(error) = (registration.check_params)(&instance.parameters) {
                problems.push(problem(path("parameters"), error.message()));
            }
            let output_count =
                registration.outputs.len() + usize::from(instance.on_error == OnError::ErrorOutput);
            nodes.push(Some(PlannedNode {
                name: Arc::from(instance.name.as_str()),
                registration,
                retry: instance.retry_policy(&registration.retry),
                timeout: instance.timeout(),
                on_error: instance.on_error,
                outputs: vec![Vec::new(); output_count],
                incoming: 0,
            }));
        }
        if workflow.settings.max_concurrency == 0 {
            problems.push(problem(
                "settings.max_concurrency".to_owned(),
                "must be at least 1",
            ));
        }
        let edges = connect(workflow, &by_name, &nodes, &mut problems);
        let mut incoming = vec![0usize; nodes.len()];
        for edge in edges.iter().flatten() {
            incoming[edge.1.node] += 1;
        }
        if nodes.is_empty() {
            problems.push(problem(
                "nodes".to_owned(),
                "a workflow needs at least one node",
            ));
        } else if incoming.iter().all(|&count| count > 0) {
            problems.push(problem(
                "connections".to_owned(),
                "no start node: every node has an incoming connection",
            ));
        }
        if let Some(cycle) = find_cycle(&edges) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&index| workflow.nodes[index].name.as_str())
                .collect();
            problems.push(problem(
                "connections".to_owned(),
                format!("cycle: {}", names.join(" -> ")),
            ));
        }
        if !problems.is_empty() {
            return Err(WorkflowError { problems });
        }
        let mut nodes: Vec<PlannedNode> = nodes.into_iter().flatten().collect();
        for (source, edges) in edges.into_iter().enumerate() {
            for (output, edge) in edges {
                nodes[source].outputs[output].push(edge);
            }
            nodes[source].incoming = incoming[source];
        }
        let starts = (0..nodes.len())
            .filter(|&index| incoming[index] == 0)
            .collect();
        Ok(Self {
            nodes,
            parameters: workflow
                .nodes
                .iter()
                .map(|node| Arc::new(node.parameters.clone()))
                .collect(),
            max_concurrency: workflow.settings.max_concurrency,
            by_name,
            starts,
        })
    }

    /// The nodes, in workflow order.
    #[must_use]
    pub fn nodes(&self) -> &[PlannedNode] {
        &self.nodes
    }

    /// The index of the node named `name`.
    #[must_use]
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The parameters of each node, in workflow order.
    #[must_use]
    pub fn parameters(&self) -> &[Arc<Value>] {
        &self.parameters
    }

    /// How many nodes may run at once.
    #[must_use]
    pub fn max_concurrency(&self) -> u32 {
        self.max_concurrency
    }

    /// The nodes without incoming connections: they receive the execution's input items.
    #[must_use]
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }
}

fn problem(path: String, message: impl Into<String>) -> Problem {
    Problem {
        path,
        message: message.into(),
    }
}

fn unknown_kind(registry: &Registry, kind: &str, version: Option<u32>) -> String {
    match (version, registry.latest(kind)) {
        (Some(version), Some(latest)) => format!(
            "node `{kind}` has no version {version}; the highest registered version is {}",
            latest.version
        ),
        _ => format!(
            "unknown node kind `{kind}`: no node of this kind is linked into this binary (is its crate a dependency of the binary?)"
        ),
    }
}

/// Resolves `connections` into edges, per source node: `(output index, target)`. Dangling and
/// out-of-range connections are recorded and left out.
fn connect(
    workflow: &Workflow,
    by_name: &HashMap<String, usize>,
    nodes: &[Option<PlannedNode>],
    problems: &mut Vec<Problem>,
) -> Vec<Vec<(usize, Edge)>> {
    let mut edges = vec![Vec::new(); nodes.len()];
    for (source, ports) in &workflow.connections {
        let Some(&source_index) = by_name.get(source) else {
            problems.push(problem(
                format!("connections.{source}"),
                format!("connection from `{source}`, which is not a node of this workflow"),
            ));
            continue;
        };
        let output_count = nodes[source_index].as_ref().map(|node| node.outputs.len());
        for (port, outputs) in ports {
            if port != "main" {
                problems.push(problem(
                    format!("connections.{source}.{port}"),
                    format!("unsupported connection kind `{port}`; only `main` is supported"),
                ));
                continue;
            }
            for (output, targets) in outputs.iter().enumerate() {
                if let Some(count) =
                    output_count.filter(|&count| output >= count && !targets.is_empty())
                {
                    problems.push(problem(
                        format!("connections.{source}.main[{output}]"),
                        format!("`{source}` has no output {output}: it has {count}"),
                    ));
                    continue;
                }
                for (position, target) in targets.iter().enumerate() {
                    // Built only for a problem: this loop runs once per connection.
                    let path = || format!("connections.{source}.main[{output}][{position}]");
                    if target.kind != "main" {
                        problems.push(problem(
                            format!("{}.kind", path()),
                            format!(
                                "unsupported input kind `{}`; only `main` is supported",
                                target.kind
                            ),
                        ));
                    }
                    match by_name.get(&target.node) {
                        Some(&node) => edges[source_index].push((
                            output,
                            Edge {
                                node,
                                input: target.index,
                            },
                        )),
                        None => problems.push(problem(
                            format!("{}.node", path()),
                            format!(
                                "connection to `{}`, which is not a node of this workflow",
                                target.node
                            ),
                        )),
                    }
                }
            }
        }
    }
    edges
}

/// One cycle of the graph, as node indices with the first repeated at the end, if any.
/// Iterative depth-first search, so that deep graphs cannot overflow the stack.
fn find_cycle(edges: &[Vec<(usize, Edge)>]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; edges.len()];
    for root in 0..edges.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // (node, position of the next edge to follow)
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::Open;
        while let Some(frame) = stack.last_mut() {
            let (node, next) = *frame;
            let Some(&(_, target)) = edges[node].get(next) else {
                marks[node] = Mark::Done;
                stack.pop();
                continue;
            };
            frame.1 += 1;
            match marks[target.node] {
                Mark::New => {
                    marks[target.node] = Mark::Open;
                    stack.push((target.node, 0));
                }
                Mark::Open => {
                    let start = stack.iter().position(|&(open, _)| open == target.node)?;
                    let mut cycle: Vec<usize> =
                        stack[start..].iter().map(|&(open, _)| open).collect();
                    cycle.push(target.node);
                    return Some(cycle);
                }
                Mark::Done => {}
            }
        }
    }
    None
}
