//! Ceilings on what a function accepts and what its nodes produce. Each is configurable
//! (`HETUMIND_LIMITS`, [`EngineOptions::limits`](crate::engine::EngineOptions::limits)), and
//! going beyond one is a clear error that names the limit, what went beyond it and where.
//! Sizes are checked before anything grows with them: a body or file is measured before it is
//! read or parsed, a node's output before it is stored.

use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::Problem;
use crate::model::{ItemData, Workflow};

/// The deepest nesting of arrays and objects `serde_json` reads: a deeper document does not
/// parse at all, so no configured depth may exceed it.
pub const MAX_JSON_DEPTH: usize = 127;

/// Ceilings on workflows, items, requests and JSON; see the [module docs](self).
///
/// `HETUMIND_LIMITS` sets any of them as a JSON object, like
/// `{"workflow_nodes": 500, "item_bytes": 1048576}`; the others keep their defaults.
///
/// ```
/// use hetumind::Limits;
///
/// let limits: Limits = serde_json::from_str(r#"{"node_output_items": 5000}"#).unwrap();
/// assert_eq!(limits.node_output_items, 5000);
/// assert_eq!(limits.workflow_nodes, Limits::default().workflow_nodes);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Nodes in one workflow (default 100,000).
    pub workflow_nodes: usize,
    /// Connections in one workflow, each target of each output counted (default 1,000,000).
    pub workflow_connections: usize,
    /// A workflow's definition as JSON, in bytes (default 64 MiB): the file the command line
    /// reads as it is, and the definition an execution or `put_workflow` stores, as the
    /// engine writes it (every default written out, so often longer than the file).
    pub workflow_bytes: usize,
    /// Items one node outputs, all its outputs together (default 1,000,000). A node that
    /// outputs more fails, as with any error of its own (its `on_error` applies).
    pub node_output_items: usize,
    /// One item as JSON (its data, binary and lineage), in bytes (default 16 MiB): each item
    /// a node outputs, each item a request gives.
    pub item_bytes: usize,
    /// The body of an HTTP trigger request and an input file (or standard input) of the
    /// command line, in bytes (default 6 MiB, what Lambda accepts in one synchronous
    /// invocation).
    pub request_bytes: usize,
    /// How deeply arrays and objects may nest in JSON (default 64, at most
    /// [`MAX_JSON_DEPTH`]): item data from requests, HTTP bodies and node outputs, node
    /// parameters.
    pub json_depth: usize,
    /// How deeply sub-workflows nest (default 8): an execution a workflow's
    /// `core.execute_workflow` starts is one level below it. Deeper, that node fails.
    pub workflow_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            workflow_nodes: 100_000,
            workflow_connections: 1_000_000,
            workflow_bytes: 64 * 1024 * 1024,
            node_output_items: 1_000_000,
            item_bytes: 16 * 1024 * 1024,
            request_bytes: 6 * 1024 * 1024,
            json_depth: 64,
            workflow_depth: 8,
        }
    }
}

impl Limits {
    /// Checks the limits themselves: a depth beyond [`MAX_JSON_DEPTH`] could never be reached.
    ///
    /// # Errors
    ///
    /// Naming the limit that cannot be.
    pub fn validate(&self) -> Result<(), String> {
        if self.json_depth > MAX_JSON_DEPTH {
            return Err(format!(
                "`json_depth` is {}; JSON nested deeper than {MAX_JSON_DEPTH} levels does not parse, so the most it can be is {MAX_JSON_DEPTH}",
                self.json_depth
            ));
        }
        Ok(())
    }

    /// The size of a workflow: its nodes, its connections, the nesting of its nodes'
    /// parameters. Each problem comes with its path in the workflow.
    pub(crate) fn check_workflow(&self, workflow: &Workflow) -> Vec<Problem> {
        let mut problems = Vec::new();
        let nodes = workflow.nodes.len();
        if nodes > self.workflow_nodes {
            problems.push(Problem {
                path: "nodes".to_owned(),
                message: beyond(
                    "the workflow has",
                    nodes,
                    "nodes",
                    self.workflow_nodes,
                    "workflow_nodes",
                ),
            });
        }
        let connections: usize = workflow
            .connections
            .values()
            .flat_map(crate::model::NodeConnections::values)
            .flatten()
            .map(Vec::len)
            .sum();
        if connections > self.workflow_connections {
            problems.push(Problem {
                path: "connections".to_owned(),
                message: beyond(
                    "the workflow has",
                    connections,
                    "connections",
                    self.workflow_connections,
                    "workflow_connections",
                ),
            });
        }
        for (index, node) in workflow.nodes.iter().enumerate().take(self.workflow_nodes) {
            if let Some(path) = too_deep(&node.parameters, self.json_depth) {
                problems.push(Problem {
                    path: format!("nodes[{index}].parameters{path}"),
                    message: self.depth_problem(),
                });
            }
        }
        problems
    }

    /// A workflow definition of `bytes` bytes of JSON.
    pub(crate) fn check_workflow_bytes(&self, bytes: usize) -> Result<(), String> {
        if bytes > self.workflow_bytes {
            return Err(beyond(
                "the workflow is",
                bytes,
                "bytes of JSON",
                self.workflow_bytes,
                "workflow_bytes",
            ));
        }
        Ok(())
    }

    /// Items from outside (a request's `input_data`, an HTTP body), named `field` in the
    /// error: their nesting, then their size.
    pub(crate) fn check_items(&self, field: &str, items: &[ItemData]) -> Result<(), String> {
        for (index, item) in items.iter().enumerate() {
            self.check_item(item)
                .map_err(|(path, problem)| format!("at `{field}[{index}]{path}`: {problem}"))?;
        }
        Ok(())
    }

    /// What a node outputs: how many items, then each item's nesting and size. Answers the
    /// size of `outputs` in JSON (a list of lists of items), measured on the way.
    pub(crate) fn check_output(&self, outputs: &[Vec<ItemData>]) -> Result<usize, String> {
        let count: usize = outputs.iter().map(Vec::len).sum();
        self.check_output_count(count)?;
        // The brackets and commas of the lists, then each item.
        let mut len = 1
            + outputs.len().max(1)
            + outputs
                .iter()
                .map(|items| 1 + items.len().max(1))
                .sum::<usize>();
        for (output, items) in outputs.iter().enumerate() {
            for (index, item) in items.iter().enumerate() {
                len += self.check_item(item).map_err(|(path, problem)| {
                    let at = if path.is_empty() {
                        String::new()
                    } else {
                        format!(" at `{}`", &path[1..])
                    };
                    format!("output {output}, item {index}{at}: {problem}")
                })?;
            }
        }
        Ok(len)
    }

    /// A node's output of `count` items in all.
    pub(crate) fn check_output_count(&self, count: usize) -> Result<(), String> {
        if count > self.node_output_items {
            return Err(beyond(
                "the node output",
                count,
                "items",
                self.node_output_items,
                "node_output_items",
            ));
        }
        Ok(())
    }

    /// One item: its nesting first (measuring the size of a value nested without bound would
    /// recurse without bound), then its size, which it answers. The error is where in the item
    /// (`.json.a[2]`, empty for the whole item) and the problem.
    fn check_item(&self, item: &ItemData) -> Result<usize, (String, String)> {
        if let Some(path) = too_deep(&item.json, self.json_depth) {
            return Err((format!(".json{path}"), self.depth_problem()));
        }
        let bytes = json_len(item);
        if bytes > self.item_bytes {
            return Err((
                String::new(),
                beyond(
                    "the item is",
                    bytes,
                    "bytes of JSON",
                    self.item_bytes,
                    "item_bytes",
                ),
            ));
        }
        Ok(bytes)
    }

    fn depth_problem(&self) -> String {
        format!(
            "nested more than {} levels deep; the limit is {} (`json_depth`)",
            self.json_depth, self.json_depth
        )
    }

    /// An HTTP body of `bytes` bytes, measured before it is decoded or parsed.
    pub(crate) fn check_body(&self, bytes: usize) -> Result<(), String> {
        if bytes > self.request_bytes {
            return Err(beyond(
                "the body is",
                bytes,
                "bytes",
                self.request_bytes,
                "request_bytes",
            ));
        }
        Ok(())
    }

    /// Reads `file` to its end, and no more than one byte beyond `limit` bytes: over the
    /// limit, the error names it (`name`). The buffer is allocated once at the size the file
    /// says it has (a large workflow file would otherwise be copied into ever larger buffers,
    /// each touching fresh pages).
    pub(crate) fn read_bounded(
        file: std::fs::File,
        limit: usize,
        name: &str,
    ) -> Result<Vec<u8>, String> {
        let expected = file
            .metadata()
            .ok()
            .and_then(|metadata| usize::try_from(metadata.len()).ok())
            .unwrap_or(0);
        // One byte more than the file holds: reading to its end then needs no second buffer.
        let mut bytes = Vec::with_capacity(expected.min(limit).saturating_add(1));
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        file.take(cap)
            .read_to_end(&mut bytes)
            .map_err(|error| format!("cannot be read: {error}"))?;
        if bytes.len() > limit {
            return Err(format!(
                "is more than {limit} bytes; the limit is {limit} (`{name}`)"
            ));
        }
        Ok(bytes)
    }
}

/// `{what} {found} {unit}; the limit is {limit} (`{name}`)`.
fn beyond(what: &str, found: usize, unit: &str, limit: usize, name: &str) -> String {
    format!("{what} {found} {unit}; the limit is {limit} (`{name}`)")
}

/// Where `value` nests arrays and objects more than `limit` deep (`[[1]]` nests 2 deep,
/// a scalar 0), as the path from it to the container one level too deep: `.a[3].b`; `None`
/// when it does not. The walk goes at most `limit + 1` levels down, whatever the value, and
/// builds the path only for a value that is too deep.
fn too_deep(value: &Value, limit: usize) -> Option<String> {
    /// The steps up from the container too deep, the innermost first.
    fn walk(value: &Value, left: usize) -> Option<Vec<String>> {
        let container = matches!(value, Value::Array(_) | Value::Object(_));
        if container && left == 0 {
            return Some(Vec::new());
        }
        match value {
            Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
                let mut steps = walk(item, left - 1)?;
                steps.push(format!("[{index}]"));
                Some(steps)
            }),
            Value::Object(fields) => fields.iter().find_map(|(key, field)| {
                let mut steps = walk(field, left - 1)?;
                steps.push(format!(".{key}"));
                Some(steps)
            }),
            _ => None,
        }
    }
    let mut steps = walk(value, limit)?;
    steps.reverse();
    Some(steps.concat())
}

/// The length of `value` as JSON text, without writing it anywhere.
pub(crate) fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail; a value that cannot be written has no length to limit.
    serde_json::to_writer(&mut count, value).map_or(0, |()| count.0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn nested(depth: usize) -> Value {
        (0..depth).fold(Value::from(1), |inner, _| Value::Array(vec![inner]))
    }

    #[test]
    fn the_output_check_measures_the_outputs_as_stored() {
        let item = |json: Value| ItemData::new(json);
        for outputs in [
            vec![],
            vec![vec![]],
            vec![vec![item(serde_json::json!({ "a": "b" }))]],
            vec![
                vec![item(Value::Null), item(serde_json::json!([1, 2]))],
                vec![],
                vec![item(serde_json::json!("é\n"))],
            ],
        ] {
            let stored = serde_json::to_vec(&outputs).unwrap();
            assert_eq!(Limits::default().check_output(&outputs), Ok(stored.len()));
        }
    }

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert_eq!(too_deep(&Value::from(1), 0), None);
        assert_eq!(too_deep(&serde_json::json!([]), 0), Some(String::new()));
        assert_eq!(too_deep(&nested(5), 5), None);
        assert_eq!(too_deep(&nested(6), 5).as_deref(), Some("[0][0][0][0][0]"));
        let value = serde_json::json!({ "a": [1, { "b": [[2]] }] });
        assert_eq!(too_deep(&value, 5), None);
        assert_eq!(too_deep(&value, 4).as_deref(), Some(".a[1].b[0]"));
    }

    #[test]
    fn the_deepest_json_that_parses_is_the_most_a_limit_can_be() {
        let text = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let parsed: Value = serde_json::from_str(&text(MAX_JSON_DEPTH)).unwrap();
        assert_eq!(too_deep(&parsed, MAX_JSON_DEPTH), None);
        assert!(serde_json::from_str::<Value>(&text(MAX_JSON_DEPTH + 1)).is_err());
        let limits = Limits {
            json_depth: MAX_JSON_DEPTH + 1,
            ..Limits::default()
        };
        assert!(limits.validate().is_err());
    }
}
