//! The plan: a workflow checked against the registry and compiled into index-based adjacency
//! lists, so that scheduling costs O(nodes + connections) for a whole execution.
//!
//! The connections are laid out flat (compressed sparse rows): a node's outputs are a range of
//! output slots, and a slot's targets a range of one edge array, so that a plan costs a handful
//! of allocations whatever its size.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde_json::Value;

use crate::expression::Parameters;
use crate::limits::Limits;
use crate::model::{Dispatch, MAX_NAME_CHARS, NodeInstance, OnError, Workflow};
use crate::node::{ExecuteMode, InputCount, NodeRegistration};
use crate::registry::Registry;
use crate::retry::RetryPolicy;
use crate::secrets;

/// A workflow that passed validation, ready to schedule.
#[derive(Debug)]
pub struct Plan {
    nodes: Vec<PlannedNode>,
    workflow_id: Arc<str>,
    workflow_name: Arc<str>,
    max_concurrency: u32,
    by_name: NameIndex,
    starts: Vec<usize>,
    connections: Layout,
    fans_out: bool,
    error_workflow: Option<Arc<str>>,
}

/// Node indices by name (names shared with the planned nodes).
type NameIndex = HashMap<Arc<str>, usize, foldhash::fast::RandomState>;

/// One node of a plan.
#[derive(Debug)]
pub struct PlannedNode {
    /// The node's name.
    pub name: Arc<str>,
    /// The registered node it runs.
    pub registration: &'static NodeRegistration,
    /// Its parameters, their expressions compiled.
    pub parameters: Arc<Parameters>,
    /// The retry policy in force (the node's default with the instance's overrides).
    pub retry: RetryPolicy,
    /// The per-attempt timeout.
    pub timeout: Option<Duration>,
    /// What a failure does.
    pub on_error: OnError,
    /// Where it runs.
    pub dispatch: Dispatch,
    /// Under fan-out, how many items each `execute_node` invocation runs it on (`None`: all).
    pub batch_size: Option<u32>,
    /// How many connections end at this node.
    pub incoming: usize,
    /// The nodes whose stored outputs its expressions read: those they name with `node` or
    /// `node_items`, and those in between, whose items' lineage pairs items. In workflow order.
    pub reads: Arc<[Arc<str>]>,
}

impl PlannedNode {
    /// Checks one node instance on its own (everything but its name and connections) and
    /// plans it as `name`; `None` when its kind is unknown. Problems are added to `problems`,
    /// each at `path(field)`.
    pub(crate) fn new(
        name: Arc<str>,
        instance: &NodeInstance,
        default_dispatch: Dispatch,
        registry: &Registry,
        path: &dyn Fn(&str) -> String,
        problems: &mut Vec<Problem>,
    ) -> Option<Self> {
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
        let known_problems = problems.len();
        let parameters = planned_parameters(&instance.parameters, path, problems);
        let invalid_expressions = problems.len() > known_problems;
        for name in &parameters.references().secrets {
            if let Some(message) = secrets::check_name(name) {
                problems.push(problem(path("parameters"), message));
            }
        }
        let Some(registration) = registry.resolve(&instance.kind, instance.version) else {
            problems.push(problem(
                path("kind"),
                unknown_kind(registry, &instance.kind, instance.version),
            ));
            return None;
        };
        // Parameters holding expressions take their final shape only when the node runs (see
        // `expression`): what the node makes of them is checked then, item by item.
        if !parameters.has_expressions()
            && !invalid_expressions
            && let Err(error) = (registration.check_params)(parameters.value())
        {
            problems.push(problem(path("parameters"), error.message()));
        }
        let dispatch = instance.dispatch.unwrap_or(default_dispatch);
        if let Some(size) = instance.batch_size {
            let message = if size == 0 {
                Some("must be at least 1".to_owned())
            } else if dispatch != Dispatch::FanOut {
                Some("applies only to a node under `fan_out` dispatch; this one runs inline (set `\"dispatch\": \"fan_out\"` on it or in the workflow's settings)".to_owned())
            } else if registration.mode == ExecuteMode::All {
                Some(format!(
                    "`{}` takes all its items in one call and cannot be split into batches",
                    registration.kind
                ))
            } else {
                None
            };
            if let Some(message) = message {
                problems.push(problem(path("batch_size"), message));
            }
        }
        Some(Self {
            name,
            registration,
            parameters,
            retry: instance.retry_policy(&registration.retry),
            timeout: instance.timeout(),
            on_error: instance.on_error,
            dispatch,
            batch_size: instance.batch_size,
            incoming: 0,
            reads: Arc::from([]),
        })
    }
}

/// A node instance's parameters, compiled; those of a node without parameters (`null` or `{}`,
/// as many triggers and simple steps have) shared. An expression that does not compile is added
/// to `problems`, and the parameters are planned without expressions.
fn planned_parameters(
    parameters: &Value,
    path: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) -> Arc<Parameters> {
    static NULL: LazyLock<Arc<Parameters>> =
        LazyLock::new(|| Arc::new(Parameters::plain(Value::Null)));
    static EMPTY: LazyLock<Arc<Parameters>> =
        LazyLock::new(|| Arc::new(Parameters::plain(Value::Object(serde_json::Map::new()))));
    match parameters {
        Value::Null => Arc::clone(&NULL),
        Value::Object(map) if map.is_empty() => Arc::clone(&EMPTY),
        parameters => Arc::new(
            Parameters::new(parameters.clone()).unwrap_or_else(|invalid| {
                for (at, message) in invalid.0 {
                    problems.push(problem(format!("{}{at}", path("parameters")), message));
                }
                Parameters::plain(parameters.clone())
            }),
        ),
    }
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
pub struct Problem {
    /// Where it is, as a JSON path such as `nodes[2].parameters.url`; empty for the whole
    /// workflow.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl Plan {
    /// Checks `workflow` against `limits` (its nodes, connections, the nesting of its
    /// parameters), then as [`Plan::new`] does.
    ///
    /// # Errors
    ///
    /// What goes beyond a limit, else every problem [`Plan::new`] finds.
    pub fn checked(
        workflow: &Workflow,
        registry: &Registry,
        limits: &Limits,
    ) -> Result<Self, WorkflowError> {
        let problems = limits.check_workflow(workflow);
        if problems.is_empty() {
            Self::new(workflow, registry)
        } else {
            Err(WorkflowError { problems })
        }
    }

    /// Checks `workflow` against `registry` and compiles it.
    ///
    /// # Errors
    ///
    /// Every problem at once: unknown kinds or versions, parameters that do not match the
    /// node's schema, empty, duplicate or too long names and workflow ids, dangling
    /// connections, connections from outputs or into inputs the node does not have, an
    /// `error_output` whose failed items would be dropped, cycles, and a workflow without a
    /// start node.
    pub fn new(workflow: &Workflow, registry: &Registry) -> Result<Self, WorkflowError> {
        let mut problems = Vec::new();
        if workflow.id.is_empty() {
            problems.push(problem("id".to_owned(), "a workflow id cannot be empty"));
        } else if let Some(message) = too_long(&workflow.id) {
            problems.push(problem("id".to_owned(), message));
        }
        let mut by_name =
            NameIndex::with_capacity_and_hasher(workflow.nodes.len(), Default::default());
        let mut nodes = Vec::with_capacity(workflow.nodes.len());
        // The ports of each node, to check its connections and lay its output slots out (for an
        // unknown kind: as many outputs as its connections use, so that the rest of the graph
        // is still checked).
        let mut ports = Vec::with_capacity(workflow.nodes.len());
        // The nodes whose expressions name other nodes, by index.
        let mut naming = Vec::new();
        let mut resuming = Vec::new();
        for (index, instance) in workflow.nodes.iter().enumerate() {
            let path = |field: &str| format!("nodes[{index}].{field}");
            let name: Arc<str> = Arc::from(instance.name.as_str());
            // A name too long is still the node's name, so that its connections are checked.
            if let Some(message) = too_long(&name) {
                problems.push(problem(path("name"), message));
            }
            if name.is_empty() {
                problems.push(problem(path("name"), "a node name cannot be empty"));
            } else if by_name.contains_key(&name) {
                // The first node of a name keeps it, so connections resolve to it.
                problems.push(problem(
                    path("name"),
                    format!("duplicate node name `{name}`"),
                ));
            } else {
                by_name.insert(Arc::clone(&name), index);
            }
            let Some(node) = PlannedNode::new(
                Arc::clone(&name),
                instance,
                workflow.settings.dispatch,
                registry,
                &path,
                &mut problems,
            ) else {
                ports.push(None);
                continue;
            };
            if !node.parameters.references().nodes.is_empty() {
                naming.push((index, Arc::clone(&node.parameters)));
            }
            if !node.parameters.references().resumes.is_empty() {
                resuming.push((index, Arc::clone(&node.parameters)));
            }
            ports.push(Some(Ports {
                outputs: node.registration.outputs.len()
                    + usize::from(instance.on_error == OnError::ErrorOutput),
                names: node.registration.outputs,
                inputs: node.registration.inputs,
            }));
            nodes.push(node);
        }
        // Any node's resume address can be given, before or after it, by name.
        for (index, parameters) in &resuming {
            for name in &parameters.references().resumes {
                if !by_name.contains_key(name) {
                    problems.push(problem(
                        format!("nodes[{index}].parameters"),
                        format!(
                            "`resume_url` names node `{name}`, which the workflow does not have"
                        ),
                    ));
                }
            }
        }
        if let Some(id) = &workflow.settings.error_workflow {
            let message = if id.is_empty() {
                Some("a workflow id cannot be empty".to_owned())
            } else {
                too_long(id)
            };
            if let Some(message) = message {
                problems.push(problem("settings.error_workflow".to_owned(), message));
            }
        }
        if workflow.settings.max_concurrency == 0 {
            problems.push(problem(
                "settings.max_concurrency".to_owned(),
                "must be at least 1",
            ));
        }
        let (links, any_inputs) = connect(workflow, &by_name, &ports, &mut problems);
        let connections = Layout::new(&ports, &links);
        let mut incoming = vec![0usize; workflow.nodes.len()];
        for edge in &connections.edges {
            incoming[edge.node] += 1;
        }
        for (node, input, path) in any_inputs {
            let count = incoming[node];
            if usize::try_from(input).unwrap_or(usize::MAX) >= count {
                problems.push(problem(
                    path,
                    format!(
                        "`{}` reads inputs 0, 1 and so on, one per connection into it: with {count} connection(s) into it, it has no input {input}",
                        workflow.nodes[node].name
                    ),
                ));
            }
        }
        check_error_outputs(workflow, &ports, &connections, &mut problems);
        if workflow.nodes.is_empty() {
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
        if let Some(cycle) = find_cycle(workflow.nodes.len(), |node| connections.successors(node)) {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&index| workflow.nodes[index].name.as_str())
                .collect();
            problems.push(problem(
                "connections".to_owned(),
                format!("cycle: {}", names.join(" -> ")),
            ));
        }
        let reads = node_reads(
            workflow,
            &naming,
            &by_name,
            |node| connections.successors(node),
            &mut problems,
        );
        if !problems.is_empty() {
            return Err(WorkflowError { problems });
        }
        // Without problems, every node resolved: `nodes` is in workflow order.
        for (node, count) in nodes.iter_mut().zip(&incoming) {
            node.incoming = *count;
        }
        for (index, read) in reads {
            nodes[index].reads = read;
        }
        let starts = (0..nodes.len())
            .filter(|&index| incoming[index] == 0)
            .collect();
        let fans_out = nodes.iter().any(|node| node.dispatch == Dispatch::FanOut);
        Ok(Self {
            nodes,
            workflow_id: Arc::from(workflow.id.as_str()),
            workflow_name: Arc::from(workflow.name.as_str()),
            max_concurrency: workflow.settings.max_concurrency,
            fans_out,
            error_workflow: workflow.settings.error_workflow.as_deref().map(Arc::from),
            by_name,
            starts,
            connections,
        })
    }

    /// The workflow started when an execution fails (`settings.error_workflow`), if any.
    #[must_use]
    pub fn error_workflow(&self) -> Option<&str> {
        self.error_workflow.as_deref()
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

    /// The workflow's identifier.
    #[must_use]
    pub fn workflow_id(&self) -> &Arc<str> {
        &self.workflow_id
    }

    /// The workflow's name.
    #[must_use]
    pub fn workflow_name(&self) -> &Arc<str> {
        &self.workflow_name
    }

    /// Whether any node runs under `fan_out` dispatch.
    #[must_use]
    pub fn fans_out(&self) -> bool {
        self.fans_out
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

    /// For each output of node `index` (the `error` output last when its `on_error` is
    /// `error_output`), the inputs it feeds.
    pub fn outputs(&self, index: usize) -> impl ExactSizeIterator<Item = &[Edge]> + '_ {
        self.connections.outputs(index)
    }

    /// Every input that node `index` feeds, all outputs together.
    #[must_use]
    pub fn successors(&self, index: usize) -> &[Edge] {
        self.connections.successors(index)
    }
}

/// The flat layout of a plan's connections (see the module documentation).
#[derive(Debug)]
struct Layout {
    /// Node `i`'s output slots are `slots[i]..slots[i + 1]`.
    slots: Vec<usize>,
    /// Slot `s`'s edges are `edges[edge_starts[s]..edge_starts[s + 1]]`.
    edge_starts: Vec<usize>,
    edges: Vec<Edge>,
}

impl Layout {
    /// Lays `links` out by slot, keeping their order within a slot (a counting sort).
    fn new(ports: &[Option<Ports>], links: &[(usize, usize, Edge)]) -> Self {
        // An unknown kind's node gets the slots its connections use.
        let mut counts: Vec<usize> = ports
            .iter()
            .map(|ports| ports.map_or(0, |ports| ports.outputs))
            .collect();
        for &(source, output, _) in links {
            if ports[source].is_none() {
                counts[source] = counts[source].max(output + 1);
            }
        }
        let mut slots = Vec::with_capacity(counts.len() + 1);
        let mut total = 0;
        slots.push(0);
        for count in counts {
            total += count;
            slots.push(total);
        }
        let slot_of = |&(source, output, _): &(usize, usize, Edge)| slots[source] + output;
        let mut edge_starts = vec![0usize; total + 1];
        for link in links {
            edge_starts[slot_of(link) + 1] += 1;
        }
        for slot in 0..total {
            edge_starts[slot + 1] += edge_starts[slot];
        }
        let mut next = edge_starts.clone();
        let mut edges = vec![Edge { node: 0, input: 0 }; links.len()];
        for link in links {
            let slot = slot_of(link);
            edges[next[slot]] = link.2;
            next[slot] += 1;
        }
        Self {
            slots,
            edge_starts,
            edges,
        }
    }

    /// Each output slot of node `index`, as the edges it feeds.
    fn outputs(&self, index: usize) -> impl ExactSizeIterator<Item = &[Edge]> + '_ {
        (self.slots[index]..self.slots[index + 1])
            .map(|slot| &self.edges[self.edge_starts[slot]..self.edge_starts[slot + 1]])
    }

    /// Every edge leaving node `index` (its slots are contiguous).
    fn successors(&self, index: usize) -> &[Edge] {
        &self.edges[self.edge_starts[self.slots[index]]..self.edge_starts[self.slots[index + 1]]]
    }
}

/// The outputs and inputs a resolved node has.
#[derive(Debug, Clone, Copy)]
struct Ports {
    /// Its outputs, the `error` output included.
    outputs: usize,
    /// Its declared outputs' names, in order.
    names: &'static [&'static str],
    /// The inputs it reads.
    inputs: InputCount,
}

/// For each node of `naming` (its index and parameters), the nodes it reads (see
/// [`PlannedNode::reads`]); a name that is no node, or a node that does not run before it, is
/// a problem.
fn node_reads<'a>(
    workflow: &Workflow,
    naming: &[(usize, Arc<Parameters>)],
    by_name: &NameIndex,
    successors: impl Fn(usize) -> &'a [Edge],
    problems: &mut Vec<Problem>,
) -> Vec<(usize, Arc<[Arc<str>]>)> {
    if naming.is_empty() {
        return Vec::new();
    }
    let count = workflow.nodes.len();
    let mut predecessors = vec![Vec::new(); count];
    for node in 0..count {
        for edge in successors(node) {
            predecessors[edge.node].push(node);
        }
    }
    // Every node reached from `start` along `next`, `start` excluded unless on a cycle.
    let reach = |start: usize, next: &dyn Fn(usize) -> Vec<usize>| {
        let mut seen = vec![false; count];
        let mut stack = next(start);
        while let Some(node) = stack.pop() {
            if !std::mem::replace(&mut seen[node], true) {
                stack.extend(next(node));
            }
        }
        seen
    };
    let before = |node: usize| predecessors[node].clone();
    let after = |node: usize| successors(node).iter().map(|edge| edge.node).collect();
    let mut reads = Vec::with_capacity(naming.len());
    for (index, parameters) in naming {
        let index = *index;
        let here = &workflow.nodes[index].name;
        let ancestors = reach(index, &before);
        let mut read = vec![false; count];
        for name in &parameters.references().nodes {
            let message = match by_name.get(name) {
                None => {
                    format!("an expression reads node `{name}`, which the workflow does not have")
                }
                Some(&node) if node == index => format!(
                    "an expression of `{here}` reads its own output (`{name}`), which does not exist while it runs"
                ),
                Some(&node) if !ancestors[node] => format!(
                    "an expression reads node `{name}`, which does not run before `{here}`: no path of connections leads from it to here"
                ),
                Some(&node) => {
                    // The node, and those between it and here.
                    read[node] = true;
                    for (between, reached) in reach(node, &after).into_iter().enumerate() {
                        read[between] |= reached && ancestors[between];
                    }
                    continue;
                }
            };
            problems.push(problem(format!("nodes[{index}].parameters"), message));
        }
        let names = (0..count)
            .filter(|&node| read[node])
            .map(|node| Arc::from(workflow.nodes[node].name.as_str()))
            .collect();
        reads.push((index, names));
    }
    reads
}

/// Why `name` (a workflow id or node name) is too long, if it is.
fn too_long(name: &str) -> Option<String> {
    // No character is shorter than a byte: most names need no count.
    if name.len() <= MAX_NAME_CHARS {
        return None;
    }
    let length = name.chars().count();
    (length > MAX_NAME_CHARS)
        .then(|| format!("{length} characters long; the limit is {MAX_NAME_CHARS} characters"))
}

/// Records every node with `on_error: error_output` whose `error` output is connected nowhere
/// while another of its outputs is: its failed items would vanish. (A node with no outgoing
/// connection at all is an end node, whose outputs, `error` included, are the execution's
/// output.)
fn check_error_outputs(
    workflow: &Workflow,
    ports: &[Option<Ports>],
    connections: &Layout,
    problems: &mut Vec<Problem>,
) {
    for (index, instance) in workflow.nodes.iter().enumerate() {
        if instance.on_error != OnError::ErrorOutput || ports[index].is_none() {
            continue;
        }
        let outputs: Vec<&[Edge]> = connections.outputs(index).collect();
        let Some((error, others)) = outputs.split_last() else {
            continue;
        };
        if error.is_empty() && others.iter().any(|edges| !edges.is_empty()) {
            let output = others.len();
            problems.push(problem(
                format!("nodes[{index}].on_error"),
                format!(
                    "`error_output` sends failed items to output {output} (`error`), but nothing is connected to `connections.{}.main[{output}]` while the node's other outputs are: its failed items would be dropped; connect the error output, or use `continue` or `stop`",
                    instance.name
                ),
            ));
        }
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

/// A connection into input `1` or beyond of a node reading any number of inputs, which only the
/// count of connections into it can check: (target node, input index, JSON path of `index`).
type AnyInput = (usize, u32, String);

/// Resolves `connections` into `(source node, output index, target)` links. Dangling and
/// out-of-range connections are recorded and left out; connections into a node reading any
/// number of inputs are returned for [`Plan::new`] to check against its incoming count.
fn connect(
    workflow: &Workflow,
    by_name: &NameIndex,
    node_ports: &[Option<Ports>],
    problems: &mut Vec<Problem>,
) -> (Vec<(usize, usize, Edge)>, Vec<AnyInput>) {
    let mut links = Vec::with_capacity(workflow.connections.len());
    let mut any_inputs = Vec::new();
    for (source, ports) in &workflow.connections {
        let Some(&source_index) = by_name.get(source.as_str()) else {
            problems.push(problem(
                format!("connections.{source}"),
                format!("connection from `{source}`, which is not a node of this workflow"),
            ));
            continue;
        };
        let output_count = node_ports[source_index].map(|ports| ports.outputs);
        for (port, outputs) in ports {
            if port != "main" {
                let named = node_ports[source_index]
                    .and_then(|ports| ports.names.iter().position(|name| *name == port));
                let message = match named {
                    // The mistake a node's named outputs invite.
                    Some(output) => format!(
                        "`{port}` is output {output} of `{source}`, and outputs are positions \
                         of the port `main`: write its targets as list {output} of \
                         `\"main\": [...]`"
                    ),
                    None => {
                        format!("unsupported connection kind `{port}`; only `main` is supported")
                    }
                };
                problems.push(problem(format!("connections.{source}.{port}"), message));
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
                    match by_name.get(target.node.as_str()) {
                        Some(&node) => {
                            match node_ports[node].map(|ports| ports.inputs) {
                                Some(InputCount::Fixed(count)) if target.index >= count => {
                                    problems.push(problem(
                                        format!("{}.index", path()),
                                        format!(
                                            "`{}` reads {count_text}: it has no input {}",
                                            target.node,
                                            target.index,
                                            count_text = InputCount::Fixed(count),
                                        ),
                                    ));
                                    continue;
                                }
                                Some(InputCount::Any) if target.index > 0 => {
                                    any_inputs.push((
                                        node,
                                        target.index,
                                        format!("{}.index", path()),
                                    ));
                                }
                                _ => {}
                            }
                            links.push((
                                source_index,
                                output,
                                Edge {
                                    node,
                                    input: target.index,
                                },
                            ));
                        }
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
    (links, any_inputs)
}

/// One cycle of the graph, as node indices with the first repeated at the end, if any.
/// Iterative depth-first search, so that deep graphs cannot overflow the stack.
fn find_cycle<'a>(count: usize, successors: impl Fn(usize) -> &'a [Edge]) -> Option<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut marks = vec![Mark::New; count];
    for root in 0..count {
        if marks[root] != Mark::New {
            continue;
        }
        // (node, position of the next edge to follow)
        let mut stack = vec![(root, 0usize)];
        marks[root] = Mark::Open;
        while let Some(frame) = stack.last_mut() {
            let (node, next) = *frame;
            let Some(&target) = successors(node).get(next) else {
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
