//! Testing nodes and workflows without any infrastructure.
//!
//! [`NodeTest`] runs one node without an engine, exactly as the engine would call it, so that
//! node authors can unit-test a node's whole contract: parameter checking, item conversion,
//! outputs and lineage. [`WorkflowTest`] runs a whole workflow through the engine on an
//! in-memory store, driving it as an orchestrator would, and jumps the clock over waits.
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

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::engine::{Drive, Driven, Engine, EngineError, EngineOptions, Observer};
use crate::expression::{Lookups, Parameters};
use crate::model::{
    ExecuteWorkflow, ExecutionStatus, ItemData, NextAction, OnError, Request, Response,
    ResumeExecution, Workflow,
};
use crate::node::{Invocation, Metric, NodeError, NodeOutput, NodeRegistration, RunInfo};
use crate::registry::{Registry, RegistryError};
use crate::secrets::{Secret, Secrets};
use crate::store::MemStore;
use crate::time::{Clock, FixedRandom, SystemClock, TokioClock};

/// One call of one registered node, set up step by step.
#[derive(Debug, Clone)]
#[must_use]
pub struct NodeTest {
    kind: String,
    version: Option<u32>,
    parameters: Value,
    /// Items per input index.
    inputs: Vec<Vec<ItemData>>,
    on_error: OnError,
    attempt: u32,
    now: Option<DateTime<Utc>>,
    lookups: Lookups,
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
    /// An expression in the parameters does not compile.
    #[error("invalid parameters: {0}")]
    Parameters(String),
    /// The node failed.
    #[error("the node failed: {0}")]
    Node(#[from] NodeError),
    /// The workflow could not be read.
    #[error("cannot read the workflow: {0}")]
    Workflow(String),
    /// The engine refused a request (an invalid workflow, a store failure, ...).
    #[error("the engine failed: {0}")]
    Engine(String),
    /// The execution did not finish within the invocations a test allows.
    #[error("the execution did not finish in {0} invocations")]
    Unfinished(u32),
    /// The node asked for has no stored result in this execution.
    #[error("node `{0}` has no result in this execution (unknown, skipped, failed or not run)")]
    NoResult(String),
}

impl NodeTest {
    /// A call of the highest registered version of `kind`, with no parameters and no items.
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            version: None,
            parameters: Value::Object(serde_json::Map::new()),
            inputs: Vec::new(),
            on_error: OnError::Stop,
            attempt: 1,
            now: None,
            lookups: Lookups::default(),
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

    /// The input items (of input 0), given by their `json`.
    pub fn items(self, items: impl IntoIterator<Item = Value>) -> Self {
        self.input(0, items)
    }

    /// The input items (of input 0), given whole (with binary references and lineage).
    pub fn raw_items(self, items: impl IntoIterator<Item = ItemData>) -> Self {
        self.raw_input(0, items)
    }

    /// The items arriving on input `index`, given by their `json`, for nodes fed by several
    /// inputs (see [`Ctx::input_range`](crate::Ctx::input_range)).
    pub fn input(self, index: usize, items: impl IntoIterator<Item = Value>) -> Self {
        self.raw_input(index, items.into_iter().map(ItemData::new))
    }

    /// The items arriving on input `index`, given whole.
    pub fn raw_input(mut self, index: usize, items: impl IntoIterator<Item = ItemData>) -> Self {
        if self.inputs.len() <= index {
            self.inputs.resize_with(index + 1, Vec::new);
        }
        self.inputs[index] = items.into_iter().collect();
        self
    }

    /// The instance's `on_error` setting.
    pub fn on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// The time the node sees ([`Ctx::now`](crate::Ctx::now) and
    /// [`Ctx::started_at`](crate::Ctx::started_at)), fixed; the system clock by default.
    pub fn now(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// The attempt number the node sees.
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt;
        self
    }

    /// The items an earlier node `name` produced on its first output, which the parameters'
    /// expressions read with `node("name")` and `node_items("name")`. `node` pairs an item
    /// with the one it derives from (its lineage, see
    /// [`ItemData::source`](crate::model::ItemData::source)), or with the only item.
    pub fn node_output(mut self, name: &str, items: impl IntoIterator<Item = Value>) -> Self {
        let items = items.into_iter().map(ItemData::new).collect();
        self.lookups.add_output(Arc::from(name), vec![items]);
        self
    }

    /// Secret `name`, which the parameters' expressions read with `secret("name")`. The
    /// output is the node's own: the engine's redaction of secret values (see
    /// [`secrets`](crate::secrets)) happens after a node returns.
    pub fn secret(mut self, name: &str, value: &str) -> Self {
        self.lookups.add_secret(Arc::from(name), Secret::new(value));
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
        let mut run = RunInfo::new("test-execution", registration.kind, self.attempt);
        run.lookups = Arc::new(self.lookups);
        run.input_ends = crate::node::input_ends(self.inputs.iter().map(Vec::len));
        let recorder = Arc::new(MetricRecorder::default());
        run.observer = Some(Arc::clone(&recorder) as Arc<dyn Observer>);
        if let Some(now) = self.now {
            run.started_at = now;
            run.clock = Arc::new(Frozen(now));
        }
        let parameters = Parameters::new(self.parameters)
            .map_err(|invalid| TestError::Parameters(invalid.to_string()))?;
        let invocation = Invocation {
            parameters: Arc::new(parameters),
            items: self.inputs.into_iter().flatten().collect(),
            run: Arc::new(run),
            on_error: self.on_error,
            only_items: None,
        };
        let output = (registration.invoke)(invocation).await?;
        // An item failing with a retryable error is retried by the engine: as a test's outcome,
        // it is that error.
        if let Some(error) = output.marks.iter().find_map(|mark| mark.error.clone()) {
            return Err(error.into());
        }
        let metrics = std::mem::take(
            &mut *recorder
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Ok(TestOutput {
            registration,
            output,
            metrics,
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
        test_runtime().block_on(self.run())
    }
}

/// What a node produced under test.
#[derive(Debug, Clone)]
pub struct TestOutput {
    registration: &'static NodeRegistration,
    output: NodeOutput,
    metrics: Vec<Metric>,
}

/// Keeps the metrics a node under test reports.
#[derive(Debug, Default)]
struct MetricRecorder(std::sync::Mutex<Vec<Metric>>);

impl Observer for MetricRecorder {
    fn node_finished(&self, _event: &crate::engine::NodeEvent<'_>) {}

    fn metric(&self, event: &crate::engine::MetricEvent<'_>) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.metric.clone());
    }
}

impl TestOutput {
    /// The metrics the node reported ([`Ctx::metric`](crate::Ctx::metric)), in order.
    #[must_use]
    pub fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

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

/// One workflow run end to end on an in-memory store, set up step by step.
///
/// The run is driven as an orchestrator would drive it: `continue` is invoked again at once and
/// `wait` jumps the engine's clock to the answered time before resuming, so a workflow that
/// waits for a day finishes in milliseconds. Retry delays slept inside an invocation are real:
/// give the workflow's nodes short `retry` intervals in tests.
///
/// ```rust,standalone_crate
/// use hetumind::prelude::*;
/// use hetumind::testing::WorkflowTest;
/// use serde_json::json;
///
/// /// Adds one.
/// #[node(kind = "doc.inc")]
/// async fn inc(Item(n): Item<i64>) -> Result<i64, NodeError> {
///     Ok(n + 1)
/// }
///
/// # tokio_test_block_on(async {
/// let run = WorkflowTest::new(json!({
///     "id": "twice",
///     "nodes": [{ "name": "A", "kind": "doc.inc" }, { "name": "B", "kind": "doc.inc" }],
///     "connections": { "A": { "main": [[{ "node": "B" }]] } }
/// }))
/// .input([json!(1), json!(40)])
/// .run()
/// .await?;
/// assert_eq!(run.output(), [json!(3), json!(42)]);
/// assert_eq!(run.json("A", 0).await?, [json!(2), json!(41)]);
/// # Ok::<(), hetumind::testing::TestError>(())
/// # }).unwrap();
/// # fn tokio_test_block_on<F: std::future::Future>(future: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct WorkflowTest {
    workflow: Result<Workflow, String>,
    input: Vec<ItemData>,
    max_invocations: u32,
    start: Option<DateTime<Utc>>,
    secrets: BTreeMap<String, String>,
    stored: Vec<Result<Workflow, String>>,
    /// Signals to send, in order: the node, and its items.
    signals: Vec<(String, Vec<ItemData>)>,
}

impl WorkflowTest {
    /// A run of `workflow` (the JSON of a workflow definition) with one empty input item.
    pub fn new(workflow: Value) -> Self {
        let workflow = crate::json_path::from_value::<Workflow>(workflow);
        Self::with(workflow)
    }

    /// A run of the workflow stored in the JSON file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let workflow = std::fs::read(path)
            .map_err(|error| error.to_string())
            .and_then(|bytes| crate::json_path::from_slice::<Workflow>(&bytes))
            .map_err(|error| format!("{}: {error}", path.display()));
        Self::with(workflow)
    }

    fn with(workflow: Result<Workflow, String>) -> Self {
        Self {
            workflow,
            input: vec![ItemData::empty()],
            max_invocations: 1000,
            start: None,
            secrets: BTreeMap::new(),
            stored: Vec::new(),
            signals: Vec::new(),
        }
    }

    /// The input items, given by their `json`.
    pub fn input(mut self, items: impl IntoIterator<Item = Value>) -> Self {
        self.input = items.into_iter().map(ItemData::new).collect();
        self
    }

    /// The input items, given whole.
    pub fn raw_input(mut self, items: impl IntoIterator<Item = ItemData>) -> Self {
        self.input = items.into_iter().collect();
        self
    }

    /// Starts the engine's clock at `start` (it then runs at the speed of real time, and jumps
    /// over waits), for nodes whose output depends on the time; the system clock by default.
    pub fn starting_at(mut self, start: DateTime<Utc>) -> Self {
        self.start = Some(start);
        self
    }

    /// Stores another workflow (the JSON of its definition) beside the one under test, for it
    /// to name by id, as `settings.error_workflow` does.
    pub fn with_workflow(mut self, workflow: Value) -> Self {
        self.stored
            .push(crate::json_path::from_value::<Workflow>(workflow));
        self
    }

    /// Secret `name`, for `secret("name")` in the workflow's expressions. A test sees only
    /// the secrets it gives (never the environment's); the engine redacts their values from
    /// what it stores, as in production.
    pub fn secret(mut self, name: &str, value: &str) -> Self {
        self.secrets.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Sends a signal to node `node` with `items` (given by their `json`) the next time the
    /// execution waits for one (`Ctx::wait_for_signal`, `core.wait` in `signal` mode), before
    /// any time limit of the wait; signals go in the order given. With no signal left, a wait
    /// with a time limit runs out (the clock jumps over it), one without leaves the run
    /// unfinished.
    pub fn signal(mut self, node: &str, items: impl IntoIterator<Item = Value>) -> Self {
        self.signals.push((
            node.to_owned(),
            items.into_iter().map(ItemData::new).collect(),
        ));
        self
    }

    /// The most invocations the run may take before it counts as stuck (default 1,000).
    pub fn max_invocations(mut self, max: u32) -> Self {
        self.max_invocations = max;
        self
    }

    /// Runs the workflow until it completes, fails or exceeds the invocations allowed.
    ///
    /// # Errors
    ///
    /// When the workflow cannot be read or is invalid, the engine fails, or the run does not
    /// finish. A failed execution is not an error: see [`WorkflowRun::status`].
    pub async fn run(self) -> Result<WorkflowRun, TestError> {
        let workflow = self.workflow.map_err(TestError::Workflow)?;
        let registry = Registry::global().map_err(Clone::clone)?;
        let clock = match self.start {
            Some(start) => JumpClock::on(TokioClock::starting_at(start)),
            None => JumpClock::on(SystemClock),
        };
        let engine = Engine::new(registry, Arc::new(MemStore::new()))
            .with_clock(Arc::new(clock))
            .with_random(Arc::new(FixedRandom(0.5)))
            .with_secrets(Arc::new(Secrets::given(self.secrets)))
            .with_options(EngineOptions {
                max_inline_wait: std::time::Duration::ZERO,
                // The whole output in the response, whatever its size, for `output()`.
                max_inline_output: usize::MAX,
                ..EngineOptions::default()
            });
        for stored in self.stored {
            let stored = stored.map_err(TestError::Workflow)?;
            engine
                .put_workflow(&stored)
                .await
                .map_err(|error| TestError::Workflow(format!("`{}`: {error}", stored.id)))?;
        }
        let request = Request::ExecuteWorkflow(ExecuteWorkflow {
            workflow_id: None,
            workflow: Some(Box::new(workflow)),
            execution_id: Some("test-execution".to_owned()),
            input_data: Some(self.input),
            trigger: None,
            metadata: serde_json::Map::new(),
        });
        // Every wait is jumped over, however long, but for a signal still to send.
        let drive = |signals_left: bool| {
            let drive =
                Drive::sleeping_up_to(std::time::Duration::MAX).at_most(self.max_invocations);
            if signals_left {
                drive.stopping_at_signals()
            } else {
                drive
            }
        };
        let engine_error = |error: EngineError| TestError::Engine(error.to_string());
        let mut signals = self.signals.into_iter().peekable();
        let Driven {
            mut response,
            mut waits,
            mut error_run,
            ..
        } = engine
            .drive(request, &drive(signals.peek().is_some()))
            .await
            .map_err(engine_error)?;
        while matches!(response.next_action, NextAction::AwaitSignal { .. }) {
            let Some((node, items)) = signals.next() else {
                break;
            };
            let signal = Request::ResumeExecution(ResumeExecution {
                execution_id: response.execution_id.clone(),
                node_name: Some(node),
                input_data: Some(items),
                task_token: None,
                metadata: serde_json::Map::new(),
            });
            let driven = engine
                .drive(signal, &drive(signals.peek().is_some()))
                .await
                .map_err(engine_error)?;
            response = driven.response;
            waits.extend(driven.waits);
            error_run = driven.error_run;
        }
        if let Some((node, _)) = signals.next() {
            return Err(TestError::Engine(format!(
                "the signal to `{node}` was never awaited: the execution was {:?} before",
                response.status
            )));
        }
        match response.next_action {
            NextAction::Complete | NextAction::Failed { .. } => Ok(WorkflowRun {
                engine,
                response,
                waits,
                error_run,
            }),
            NextAction::Continue { .. }
            | NextAction::Wait { .. }
            | NextAction::AwaitSignal { .. }
            | NextAction::FanOut { .. } => Err(TestError::Unfinished(self.max_invocations)),
        }
    }

    /// Runs the workflow on a fresh single-threaded runtime, for tests that are not async.
    ///
    /// # Errors
    ///
    /// As [`WorkflowTest::run`].
    ///
    /// # Panics
    ///
    /// When called from inside an async runtime, or when the runtime cannot start.
    pub fn run_blocking(self) -> Result<WorkflowRun, TestError> {
        test_runtime().block_on(self.run())
    }
}

/// A finished [`WorkflowTest`]: the final response, and every node's stored output.
#[derive(Debug)]
pub struct WorkflowRun {
    engine: Engine,
    response: Response,
    waits: Vec<DateTime<Utc>>,
    error_run: Option<Box<Driven>>,
}

impl WorkflowRun {
    /// The final response of the error workflow's execution, when the run failed and its
    /// workflow names one (`settings.error_workflow`, stored with
    /// [`WorkflowTest::with_workflow`]).
    #[must_use]
    pub fn error_workflow(&self) -> Option<&Response> {
        self.error_run.as_ref().map(|run| &run.response)
    }

    /// The final response.
    #[must_use]
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// How the execution ended: [`ExecutionStatus::Success`] or [`ExecutionStatus::Failed`].
    #[must_use]
    pub fn status(&self) -> ExecutionStatus {
        self.response.status
    }

    /// Why the execution failed, if it did.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.response.error.as_deref()
    }

    /// The `json` of the items the workflow's end nodes produced (the response's
    /// `output_data`).
    #[must_use]
    pub fn output(&self) -> Vec<Value> {
        self.response
            .output_data
            .iter()
            .flatten()
            .map(|item| item.json.clone())
            .collect()
    }

    /// The times the execution waited until, in order (each answered `wait`).
    #[must_use]
    pub fn waits(&self) -> &[DateTime<Utc>] {
        &self.waits
    }

    /// The items node `name` produced, one list per output.
    ///
    /// # Errors
    ///
    /// When the node has no stored result (it is unknown, was skipped, or failed).
    pub async fn items(&self, name: &str) -> Result<Vec<Vec<ItemData>>, TestError> {
        self.engine
            .node_output(&self.response.execution_id, name)
            .await
            .map_err(|error| TestError::Engine(error.to_string()))?
            .ok_or_else(|| TestError::NoResult(name.to_owned()))
    }

    /// The `json` of the items node `name` produced on output `index`.
    ///
    /// # Errors
    ///
    /// As [`WorkflowRun::items`].
    pub async fn json(&self, name: &str, index: usize) -> Result<Vec<Value>, TestError> {
        let mut outputs = self.items(name).await?;
        let items = if index < outputs.len() {
            outputs.swap_remove(index)
        } else {
            Vec::new()
        };
        Ok(items.into_iter().map(|item| item.json).collect())
    }
}

/// A clock (the system's, or one started at a chosen time) plus the waits jumped over.
#[derive(Debug)]
struct JumpClock {
    base: Box<dyn Clock>,
    shift: Mutex<TimeDelta>,
}

impl JumpClock {
    fn on(base: impl Clock + 'static) -> Self {
        Self {
            base: Box::new(base),
            shift: Mutex::new(TimeDelta::zero()),
        }
    }

    fn shift(&self) -> std::sync::MutexGuard<'_, TimeDelta> {
        self.shift
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The base clock's time moved by `shift`; a jump to the latest time there is (a wait of a
    /// million years) stays there.
    fn shifted(&self, shift: TimeDelta) -> DateTime<Utc> {
        self.base
            .now()
            .checked_add_signed(shift)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn jump_to(&self, at: DateTime<Utc>) {
        let mut shift = self.shift();
        let now = self.shifted(*shift);
        if at > now {
            *shift += at - now;
        }
    }
}

impl Clock for JumpClock {
    fn now(&self) -> DateTime<Utc> {
        self.shifted(*self.shift())
    }

    fn sleep_until(&self, at: DateTime<Utc>) -> crate::BoxFuture<'_, ()> {
        self.jump_to(at);
        Box::pin(std::future::ready(()))
    }
}

/// A clock that always reads the same time.
#[derive(Debug)]
struct Frozen(DateTime<Utc>);

impl Clock for Frozen {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// A single-threaded runtime with every driver this build has.
fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start a test runtime")
}
