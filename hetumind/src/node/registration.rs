//! The static record `#[node]` submits for every node, and the call the engine makes.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::{NodeError, RunInfo};
use crate::BoxFuture;
use crate::expression::Parameters;
use crate::model::{ItemData, OnError};
use crate::retry::RetryPolicy;

/// How a node consumes its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecuteMode {
    /// Called once per input item (`Item<T>`).
    EachItem,
    /// Called once with all input items (`Items<T>`, or no input role).
    All,
}

/// How many inputs a node reads, that is which input indices connections may end at. Declared
/// with `#[node(inputs = 2)]` or `#[node(inputs = "any")]`; one by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCount {
    /// Inputs `0` to `n - 1`.
    Fixed(u32),
    /// Inputs 0, 1 and so on: as many as there are connections into the node.
    Any,
}

impl InputCount {
    /// One input, `0`: what a node reads unless it declares otherwise.
    pub const ONE: Self = Self::Fixed(1);
}

/// `2`, or `"any"`, as the catalog shows it.
impl Serialize for InputCount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Fixed(count) => serializer.serialize_u32(*count),
            Self::Any => serializer.serialize_str("any"),
        }
    }
}

impl std::fmt::Display for InputCount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(0) => f.write_str("no input"),
            Self::Fixed(1) => f.write_str("one input (0)"),
            Self::Fixed(count) => write!(f, "{count} inputs (0 to {})", count - 1),
            Self::Any => f.write_str("any number of inputs"),
        }
    }
}

/// Where a node was defined in its source code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SourceLocation {
    /// The file, as `file!()` gives it.
    pub file: &'static str,
    /// The line of the `#[node]` attribute.
    pub line: u32,
    /// The module path of the node function.
    pub module: &'static str,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{} ({})", self.file, self.line, self.module)
    }
}

/// A part a node plays beyond passing items on, declared with `#[node(role = "...")]`. The
/// runtime finds such nodes by their role, never by their kind, so a node of any crate can
/// play one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeRole {
    /// None: the node passes items on.
    #[default]
    Regular,
    /// `role = "http_response"`: the first item it outputs, a
    /// [`WebhookResponse`](crate::model::WebhookResponse), answers the HTTP request (API
    /// Gateway, Function URL) that started the execution.
    HttpResponse,
}

/// Everything known about a registered node: constant data and function pointers, built at
/// compile time by `#[node]` and collected at link time.
///
/// Schemas are produced by calling the schema functions, lazily; nothing is computed at start-up.
#[derive(Debug)]
pub struct NodeRegistration {
    /// The node kind, such as `core.if`.
    pub kind: &'static str,
    /// The node version, from 1.
    pub version: u32,
    /// What the node does: its function's doc comment.
    pub description: &'static str,
    /// The names of its outputs, in index order.
    pub outputs: &'static [&'static str],
    /// How many inputs it reads.
    pub inputs: InputCount,
    /// A part the node plays beyond passing items on (`#[node(role = "...")]`).
    pub role: NodeRole,
    /// Whether the node promises never to block its thread (`#[node(nonblocking)]`): it then
    /// runs on the engine's own thread, without the hand-off to a thread of its own that
    /// every other node run pays.
    pub nonblocking: bool,
    /// How it consumes input.
    pub mode: ExecuteMode,
    /// Whether its code takes the input items and nothing else sees them: the function takes
    /// `Item<T>` or `Items<T>` and no `Ctx`. The engine then hands a large input over to the
    /// node instead of copying it (keeping a compact serialized copy in case the node fails),
    /// which halves the memory a node of many items needs. `false` is always correct.
    pub consumes_items: bool,
    /// Its default retry policy.
    pub retry: RetryPolicy,
    /// Where it was defined.
    pub location: SourceLocation,
    /// The JSON Schema of its parameters.
    pub params_schema: fn() -> schemars::Schema,
    /// The JSON Schema of one input item's `json`.
    pub input_schema: fn() -> schemars::Schema,
    /// The JSON Schema of one output item's `json`.
    pub output_schema: fn() -> schemars::Schema,
    /// Checks parameters without running the node; the error names the bad field's path.
    pub check_params: fn(&Value) -> Result<(), NodeError>,
    /// Runs the node.
    pub invoke: fn(Invocation) -> BoxFuture<'static, Result<NodeOutput, NodeError>>,
}

impl NodeRegistration {
    /// `kind@version`, the node's identity.
    #[must_use]
    pub fn id(&self) -> String {
        format!("{}@{}", self.kind, self.version)
    }
}

/// One call of a node: its parameters, its input items and its context.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The node instance's parameters, with their expressions compiled.
    pub parameters: Arc<Parameters>,
    /// The input items, their `source` naming where each came from.
    pub items: Arc<[ItemData]>,
    /// The facts shared by every item of this attempt.
    pub run: Arc<RunInfo>,
    /// What to do with an item that fails.
    pub on_error: OnError,
    /// In each-item mode, the items to process, in order: a retry of the items that failed
    /// with a retryable error. `None`: every item.
    pub only_items: Option<Arc<[usize]>>,
}

/// The items a node produced, one list per output (the `error` output last, when the instance
/// routes errors there).
#[derive(Debug, Clone, Default)]
pub struct NodeOutput {
    /// The items of each output, in output index order.
    pub outputs: Vec<Vec<ItemData>>,
    /// Where the items of an each-item node begin in `outputs`: for every item that failed with
    /// a retryable error (the engine retries those, and only those), and for every item of a
    /// call given [`Invocation::only_items`].
    pub(crate) marks: Vec<ItemMark>,
    /// The size of `outputs` in JSON, as the engine stores them, once measured (the limits
    /// check measures every item); 0 before. Only a hint, for the buffer that stores them.
    pub(crate) json_len: usize,
}

impl NodeOutput {
    /// An output with these items, one list per output.
    #[must_use]
    pub fn new(outputs: Vec<Vec<ItemData>>) -> Self {
        Self {
            outputs,
            marks: Vec::new(),
            json_len: 0,
        }
    }
}

/// Outputs are equal when their items and marks are: the size hint is not part of them.
impl PartialEq for NodeOutput {
    fn eq(&self, other: &Self) -> bool {
        self.outputs == other.outputs && self.marks == other.marks
    }
}

/// Where one input item's outputs begin, and whether it failed with a retryable error (its
/// outputs are then empty: it runs again). Stored with a node's progress while its failed items
/// wait to be retried.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct ItemMark {
    /// The item's position among the node's input items.
    pub(crate) item: usize,
    /// The length of each output when the item started.
    pub(crate) at: Vec<usize>,
    /// The retryable error it failed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<NodeError>,
}
