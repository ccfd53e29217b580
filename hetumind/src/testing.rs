//! Running one node without an engine, exactly as the engine would call it, so that node
//! authors can unit-test a node's whole contract: parameter checking, item conversion,
//! outputs and lineage.
//!
//! ```rust,standalone_crate
//! use hetumind::prelude::*;
//! use hetumind::testing::NodeTest;
//! use serde_json::json;
//!
//! /// Doubles a number.
//! #[node(kind = "doc.double")]
//! async fn double(Item(n): Item<i64>) -> Result<i64, NodeError> {
//!     Ok(n * 2)
//! }
//!
//! let output = NodeTest::new("doc.double").items([json!(1), json!(21)]).run_blocking()?;
//! assert_eq!(output.json(0), [json!(2), json!(42)]);
//! # Ok::<(), hetumind::testing::TestError>(())
//! ```

use std::sync::Arc;

use serde_json::Value;

use crate::model::{ItemData, OnError};
use crate::node::{Invocation, NodeError, NodeOutput, NodeRegistration, RunInfo};
use crate::registry::{Registry, RegistryError};

/// One call of one registered node, set up step by step.
#[derive(Debug, Clone)]
#[must_use]
pub struct NodeTest {
    kind: String,
    version: Option<u32>,
    parameters: Value,
    items: Vec<ItemData>,
    on_error: OnError,
    attempt: u32,
}

/// Why a [`NodeTest`] could not produce outputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TestError {
    /// The binary's registry is invalid.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// No node of that kind and version is linked into the test binary.
    #[error("no node `{kind}` (version {version}) is registered in this binary")]
    UnknownNode {
        /// The kind asked for.
        kind: String,
        /// The version asked for, or `latest`.
        version: String,
    },
    /// The node failed.
    #[error("the node failed: {0}")]
    Node(#[from] NodeError),
}

impl NodeTest {
    /// A call of the highest registered version of `kind`, with no parameters and no items.
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            version: None,
            parameters: Value::Object(serde_json::Map::new()),
            items: Vec::new(),
            on_error: OnError::Stop,
            attempt: 1,
        }
    }

    /// Calls `version` instead of the highest one.
    pub fn version(mut self, version: u32) -> Self {
        self.version = Some(version);
        self
    }

    /// The node instance's parameters.
    pub fn params(mut self, parameters: Value) -> Self {
        self.parameters = parameters;
        self
    }

    /// The input items, given by their `json`.
    pub fn items(mut self, items: impl IntoIterator<Item = Value>) -> Self {
        self.items = items.into_iter().map(ItemData::new).collect();
        self
    }

    /// The input items, given whole (with binary references and lineage).
    pub fn raw_items(mut self, items: impl IntoIterator<Item = ItemData>) -> Self {
        self.items = items.into_iter().collect();
        self
    }

    /// The instance's `on_error` setting.
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// The attempt number the node sees.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// The registration this call targets.
    ///
    /// # Errors
    ///
    /// When the registry is invalid or has no such node.
    pub fn registration(&self) -> Result<&'static NodeRegistration, TestError> {
        let registry = Registry::global().map_err(Clone::clone)?;
        registry
            .resolve(&self.kind, self.version)
            .ok_or_else(|| TestError::UnknownNode {
                kind: self.kind.clone(),
                version: self
                    .version
                    .map_or_else(|| "latest".to_owned(), |version| version.to_string()),
            })
    }

    /// Runs the node.
    ///
    /// # Errors
    ///
    /// When the node is unknown or fails (bad parameters and bad items included).
    pub async fn run(self) -> Result<TestOutput, TestError> {
        let registration = self.registration()?;
        let invocation = Invocation {
            parameters: Arc::new(self.parameters),
            items: self.items.into(),
            run: Arc::new(RunInfo::new(
                "test-execution",
                registration.kind,
                self.attempt,
            )),
            on_error: self.on_error,
        };
        let output = (registration.invoke)(invocation).await?;
        Ok(TestOutput {
            registration,
            output,
        })
    }

    /// Runs the node on a fresh single-threaded runtime with timers, for tests that are not
    /// async themselves.
    ///
    /// # Errors
    ///
    /// As [`NodeTest::run`].
    ///
    /// # Panics
    ///
    /// When called from inside an async runtime, or when the runtime cannot start.
    pub fn run_blocking(self) -> Result<TestOutput, TestError> {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("cannot start a test runtime")
            .block_on(self.run())
    }
}

/// What a node produced under test.
#[derive(Debug, Clone)]
pub struct TestOutput {
    registration: &'static NodeRegistration,
    output: NodeOutput,
}

impl TestOutput {
    /// The items of output `index`, whole.
    #[must_use]
    pub fn items(&self, index: usize) -> &[ItemData] {
        self.output.outputs.get(index).map_or(&[], Vec::as_slice)
    }

    /// The `json` of the items of output `index`.
    #[must_use]
    pub fn json(&self, index: usize) -> Vec<Value> {
        self.items(index)
            .iter()
            .map(|item| item.json.clone())
            .collect()
    }

    /// The `json` of the items of the output named `name` (`error` for the error output).
    ///
    /// # Panics
    ///
    /// When the node has no such output.
    #[must_use]
    pub fn named(&self, name: &str) -> Vec<Value> {
        let outputs = self.registration.outputs;
        let index = outputs
            .iter()
            .position(|output| *output == name)
            .or_else(|| (name == "error").then_some(outputs.len()))
            .unwrap_or_else(|| panic!("the node has no output named `{name}`; it has {outputs:?}"));
        self.json(index)
    }

    /// Every output, in index order.
    #[must_use]
    pub fn into_output(self) -> NodeOutput {
        self.output
    }
}
