//! The engine: runs as much of an execution as an invocation's budget allows, persists it, and
//! says what to do next.
//!
//! ```rust,standalone_crate
//! use std::sync::Arc;
//! use hetumind::engine::Engine;
//! use hetumind::model::{ExecuteWorkflow, NextAction, Request, Workflow};
//! use hetumind::prelude::*;
//! use hetumind::store::MemStore;
//!
//! /// Adds one.
//! #[node(kind = "doc.inc")]
//! async fn inc(Item(n): Item<i64>) -> Result<i64, NodeError> {
//!     Ok(n + 1)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let workflow: Workflow = serde_json::from_value(serde_json::json!({
//!     "id": "twice",
//!     "nodes": [
//!         { "name": "A", "kind": "doc.inc" },
//!         { "name": "B", "kind": "doc.inc" }
//!     ],
//!     "connections": { "A": { "main": [[{ "node": "B" }]] } }
//! }))?;
//! let engine = Engine::new(hetumind::Registry::global()?, Arc::new(MemStore::new()));
//! let response = engine
//!     .handle(Request::ExecuteWorkflow(ExecuteWorkflow {
//!         workflow_id: None,
//!         workflow: Some(Box::new(workflow)),
//!         execution_id: None,
//!         input_data: Some(vec![serde_json::json!(40).into()]),
//!         trigger: None,
//!         metadata: Default::default(),
//!     }), None)
//!     .await?;
//! assert_eq!(response.next_action, NextAction::Complete);
//! assert_eq!(response.output_data.unwrap()[0].json, serde_json::json!(42));
//! # Ok(())
//! # }
//! ```

mod attempt;
mod budget;
mod cleanup;
mod dispatch;
mod drive;
mod error_workflow;
mod input;
mod journal;
mod lookup;
mod plan;
mod run;
mod schedule;
mod sub_workflow;
mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use drive::{Drive, Driven};
pub use plan::{Edge, Plan, PlannedNode, Problem, WorkflowError};
pub use sub_workflow::{Launcher, Started, SubWorkflows, WorkflowSource};

use crate::index::{ExecutionIndex, ExecutionRecord, IndexError};
use crate::limits::Limits;
use crate::model::{
    ExecuteWorkflow, ExecutionState, ExecutionStatus, InvocationRecord, ItemData, MAX_NAME_CHARS,
    NodeRunRecord, OutputRef, Request, Response, ResumeExecution, Workflow,
};
use crate::registry::Registry;
use crate::secrets::Secrets;
use crate::store::{Condition, ExecutionKeys, StateStore, StoreError, Version, workflow_key};
use crate::time::{Clock, FastRandom, Random, SystemClock};
use journal::{create_once, read, read_recorded, to_json};

/// Runs executions against a store.
#[derive(Debug, Clone)]
pub struct Engine {
    registry: &'static Registry,
    store: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    options: EngineOptions,
    observer: Option<Arc<dyn Observer>>,
    secrets: Arc<Secrets>,
    launcher: Option<Arc<dyn Launcher>>,
    index: Option<Arc<dyn ExecutionIndex>>,
}

/// Watches node runs as they end: progress displays, metrics.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A node run ended (or the node was skipped).
    fn node_finished(&self, event: &NodeEvent<'_>);

    /// A [drive](Engine::drive) sleeps through a wait of an execution until `until`.
    fn waiting(&self, execution_id: &str, until: chrono::DateTime<chrono::Utc>) {
        let _ = (execution_id, until);
    }

    /// A node reported a metric ([`Ctx::metric`](crate::Ctx::metric)).
    fn metric(&self, event: &MetricEvent<'_>) {
        let _ = event;
    }

    /// The execution index could not record a change of `execution_id`, even after retries
    /// (the execution itself is unaffected: see [`crate::index`]).
    fn index_failed(&self, execution_id: &str) {
        let _ = execution_id;
    }
}

/// A metric a node reported.
#[derive(Debug, Clone)]
pub struct MetricEvent<'a> {
    /// The execution.
    pub execution_id: &'a str,
    /// The workflow it runs.
    pub workflow_id: &'a str,
    /// The node's name.
    pub node: &'a str,
    /// The metric.
    pub metric: &'a crate::Metric,
}

/// How one node run ended.
#[derive(Debug, Clone)]
pub struct NodeEvent<'a> {
    /// The execution.
    pub execution_id: &'a str,
    /// The workflow it runs.
    pub workflow_id: &'a str,
    /// The node's name.
    pub node: &'a str,
    /// The node's kind.
    pub kind: &'static str,
    /// The attempt that ended.
    pub attempt: u32,
    /// How it ended.
    pub outcome: NodeOutcome,
    /// How long it ran, retries slept in-process included.
    pub duration: Duration,
}

/// How a node run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeOutcome {
    /// It produced its output.
    Succeeded,
    /// It failed for good.
    Failed,
    /// It waits for a time (a wait, or a retry beyond the budget).
    Waiting,
    /// The invocation's deadline stopped it; it runs again next time.
    Interrupted,
    /// None of its inputs carried items.
    Skipped,
}

/// Limits of an invocation, and of what it accepts.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Time kept back from the deadline to persist state before it.
    pub safety_margin: Duration,
    /// The budget of an invocation that has no deadline; `None` runs until nothing can run.
    pub max_invocation: Option<Duration>,
    /// The longest wait (of a waiting node, when nothing else can run) slept in-process
    /// instead of being answered with `wait`.
    pub max_inline_wait: Duration,
    /// How long an invocation without a deadline holds an execution before renewing its
    /// lease; another invocation can take over this long after a crash. Under a deadline the
    /// lease lasts until the deadline.
    pub lease: Duration,
    /// The largest `output_data` inlined in a response, in bytes of JSON; larger outputs are
    /// left in the store (see `state_key`).
    pub max_inline_output: usize,
    /// Whether node code runs on threads of its own (the default), so that a node blocking its
    /// thread cannot hold up lease renewal, timeouts or the other nodes. Off, nodes run on the
    /// engine's own task: only for deterministic tests under a paused tokio clock.
    pub node_threads: bool,
    /// Ceilings on workflows, items, requests and JSON.
    pub limits: Limits,
    /// The base of the resume addresses nodes and expressions give (see [`crate::resume`]):
    /// the function's public URL, without a trailing `/`; empty for addresses that are paths.
    pub public_url: Arc<str>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            safety_margin: Duration::from_secs(2),
            max_invocation: None,
            max_inline_wait: Duration::from_secs(5),
            lease: Duration::from_secs(30),
            max_inline_output: 256 * 1024,
            node_threads: true,
            limits: Limits::default(),
            public_url: Arc::from(""),
        }
    }
}

/// Why an invocation could not be carried out. Each maps to a stable `error_type`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The request itself is wrong.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The workflow is invalid.
    #[error(transparent)]
    WorkflowInvalid(#[from] WorkflowError),
    /// No such execution in the store.
    #[error("execution `{0}` not found")]
    ExecutionNotFound(String),
    /// No such stored workflow.
    #[error("workflow `{0}` not found")]
    WorkflowNotFound(String),
    /// Another invocation advanced the execution first; nothing was lost.
    #[error("state conflict: {0}")]
    StateConflict(String),
    /// An execution with this id was started before with another workflow or other input (the
    /// same ones again carry that execution on). Permanent: retrying cannot help.
    #[error(
        "execution `{execution_id}` already exists with {differs}: resume it, or start this one under another execution id"
    )]
    ExecutionExists {
        /// The execution.
        execution_id: String,
        /// What the request has that differs from the execution's: `another workflow`,
        /// `other input`, or both.
        differs: String,
    },
    /// The store failed; retrying later may work.
    #[error("store unavailable: {0}")]
    StoreUnavailable(String),
    /// The store failed for good, or holds data that does not parse.
    #[error("store error: {0}")]
    Store(String),
}

impl EngineError {
    /// The stable name an orchestrator's Retry/Catch can match.
    #[must_use]
    pub const fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "Hetumind.InvalidRequest",
            Self::WorkflowInvalid(_) => "Hetumind.WorkflowInvalid",
            Self::ExecutionNotFound(_) => "Hetumind.ExecutionNotFound",
            Self::WorkflowNotFound(_) => "Hetumind.WorkflowNotFound",
            Self::StateConflict(_) => "Hetumind.StateConflict",
            Self::ExecutionExists { .. } => "Hetumind.ExecutionExists",
            Self::StoreUnavailable(_) => "Hetumind.Retryable",
            Self::Store(_) => "Hetumind.StoreError",
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict { .. } => Self::StateConflict(error.to_string()),
            StoreError::Unavailable(message) => Self::StoreUnavailable(message),
            StoreError::Missing { .. } => Self::Store(error.to_string()),
            StoreError::Other(message) => Self::Store(message),
        }
    }
}

impl Engine {
    /// An engine over `registry` and `store`, on the system clock.
    #[must_use]
    pub fn new(registry: &'static Registry, store: Arc<dyn StateStore>) -> Self {
        Self {
            registry,
            store,
            clock: Arc::new(SystemClock),
            random: Arc::new(FastRandom),
            options: EngineOptions::default(),
            observer: None,
            secrets: Arc::default(),
            launcher: None,
            index: None,
        }
    }

    /// This engine, recording every execution's start and every change of its status in
    /// `index` (see [`crate::index`]).
    #[must_use]
    pub fn with_index(mut self, index: Arc<dyn ExecutionIndex>) -> Self {
        self.index = Some(index);
        self
    }

    /// The execution index, if there is one.
    #[must_use]
    pub fn index(&self) -> Option<&Arc<dyn ExecutionIndex>> {
        self.index.as_ref()
    }

    /// Writes `record` to the index, if there is one (see [`Engine::index_write`]).
    async fn index_record(&self, record: ExecutionRecord, deadline: Option<tokio::time::Instant>) {
        self.index_write(&record.execution_id, deadline, |index| {
            index.record(&record)
        })
        .await;
    }

    /// Does `write` on the index for `execution_id`, if there is an index: tried a few times,
    /// each try within `deadline`; given up with a warning and a report to the observer, never
    /// an error (the store is the source of truth, and `index rebuild` rebuilds the index from
    /// it).
    async fn index_write<'a>(
        &'a self,
        execution_id: &str,
        deadline: Option<tokio::time::Instant>,
        write: impl Fn(&'a dyn ExecutionIndex) -> crate::BoxFuture<'a, Result<(), IndexError>>,
    ) {
        let Some(index) = &self.index else {
            return;
        };
        let mut last_error = String::new();
        for pause in crate::index::TRIES {
            let time = deadline.map_or(crate::index::TRY_TIMEOUT, |deadline| {
                deadline
                    .saturating_duration_since(tokio::time::Instant::now())
                    .min(crate::index::TRY_TIMEOUT)
            });
            if time.is_zero() {
                break;
            }
            match tokio::time::timeout(time, write(index.as_ref())).await {
                Ok(Ok(())) => return,
                Ok(Err(error)) => last_error = error.to_string(),
                Err(_) => last_error = format!("no answer within {} ms", time.as_millis()),
            }
            tokio::time::sleep(pause).await;
        }
        tracing::warn!(
            %execution_id,
            error = %last_error,
            "the execution index could not record the execution's change; \
             `index rebuild` rebuilds it from the store"
        );
        if let Some(observer) = &self.observer {
            observer.index_failed(execution_id);
        }
    }

    /// This engine, handing the sub-workflows that nodes start without waiting for them
    /// ([`Ctx::start_workflow`](crate::Ctx::start_workflow)) to `launcher`, which drives them
    /// on; without one, they run in the invocation that starts them, as far as its deadline
    /// allows.
    #[must_use]
    pub fn with_launcher(mut self, launcher: Arc<dyn Launcher>) -> Self {
        self.launcher = Some(launcher);
        self
    }

    /// This engine, taking the secrets expressions read from `secrets` (by default, the
    /// environment: see [`secrets`](crate::secrets)).
    #[must_use]
    pub fn with_secrets(mut self, secrets: Arc<Secrets>) -> Self {
        self.secrets = secrets;
        self
    }

    /// This engine, reporting node runs to `observer`.
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// This engine on another clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// This engine with another source of retry jitter.
    #[must_use]
    pub fn with_random(mut self, random: Arc<dyn Random>) -> Self {
        self.random = random;
        self
    }

    /// This engine with other limits.
    #[must_use]
    pub fn with_options(mut self, options: EngineOptions) -> Self {
        self.options = options;
        self
    }

    /// Its options.
    #[must_use]
    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    /// The node registry workflows are checked against.
    #[must_use]
    pub fn registry(&self) -> &'static Registry {
        self.registry
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// Carries out one request within `deadline` (none: see
    /// [`EngineOptions::max_invocation`]; a deadline already past counts as none).
    ///
    /// # Errors
    ///
    /// When the request is invalid, the workflow is invalid, the execution is unknown, another
    /// invocation advanced it first, or the store fails. A failing node is not an error: it is
    /// reported in the response.
    pub async fn handle(
        &self,
        request: Request,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Response, EngineError> {
        match deadline.filter(|deadline| *deadline > tokio::time::Instant::now()) {
            // Every store call of this invocation ends by the deadline.
            Some(until) => {
                let bounded = Self {
                    store: Arc::new(budget::BudgetedStore {
                        inner: Arc::clone(&self.store),
                        until,
                    }),
                    ..self.clone()
                };
                bounded.carry_out(request, deadline).await
            }
            None => self.carry_out(request, deadline).await,
        }
    }

    async fn carry_out(
        &self,
        request: Request,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Response, EngineError> {
        check_request(&request, &self.options.limits)?;
        match request {
            Request::ExecuteWorkflow(ExecuteWorkflow {
                workflow_id,
                workflow,
                execution_id,
                input_data,
                trigger,
                metadata,
            }) => {
                let workflow = match (workflow, workflow_id) {
                    (Some(workflow), _) => *workflow,
                    (None, Some(id)) => self.stored_workflow(&id).await?,
                    (None, None) => {
                        return Err(EngineError::InvalidRequest(
                            "execute_workflow needs `workflow_id` or an inline `workflow`"
                                .to_owned(),
                        ));
                    }
                };
                let execution_id = execution_id.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
                let input = input_data.unwrap_or_else(|| vec![ItemData::empty()]);
                let keys = ExecutionKeys::new(&execution_id);
                let origin = Origin {
                    metadata: Some(&metadata),
                    trigger,
                    ..Origin::default()
                };
                let (plan, created) = self
                    .create(&workflow, &keys, execution_id, &input, origin)
                    .await?;
                match created {
                    Created::New(state, version) => {
                        if self.index.is_some() {
                            let counts = crate::index::NodeCounts::tally(plan.nodes().len(), []);
                            let record = ExecutionRecord::new(&state, counts);
                            self.index_record(record, deadline).await;
                        }
                        run::Run::new(self, &plan, keys, (*state, version), deadline)
                            .execute(run::Scope::Start { input }, metadata)
                            .await
                    }
                    // Started before with this very workflow and input (a retried request, a
                    // redelivered event): the start carries on with that execution, and
                    // answers as a resume would.
                    Created::Existing(execution_id) => {
                        self.advance(&execution_id, None, None, metadata, deadline)
                            .await
                    }
                }
            }
            Request::ResumeExecution(ResumeExecution {
                execution_id,
                node_name,
                input_data,
                task_token,
                metadata,
            }) => {
                let target = node_name.map(|name| Target {
                    name,
                    input: input_data,
                });
                self.advance(&execution_id, target, task_token, metadata, deadline)
                    .await
            }
            Request::ExecuteNode(request) => worker::execute(self, request, deadline).await,
        }
    }

    /// Checks `workflow`, then writes a new execution of it with `input`: its definition, its
    /// input and its first state, each once, so that a start interrupted before its state was
    /// written can simply be repeated. Answers the workflow's plan too.
    ///
    /// # Errors
    ///
    /// When the workflow is invalid, the execution exists with another workflow or other
    /// input, or the store fails.
    async fn create(
        &self,
        workflow: &Workflow,
        keys: &ExecutionKeys,
        execution_id: String,
        input: &Vec<ItemData>,
        origin: Origin<'_>,
    ) -> Result<(Plan, Created), EngineError> {
        let json = to_json(workflow)?;
        let plan = self.plan_new(workflow, json.len())?;
        let other_workflow = create_once(&*self.store, &keys.workflow(), json, workflow).await?;
        let other_input = create_once(&*self.store, &keys.input(), to_json(input)?, input).await?;
        let differs = match (other_workflow, other_input) {
            (false, false) => None,
            (true, false) => Some("another workflow"),
            (false, true) => Some("other input"),
            (true, true) => Some("another workflow and other input"),
        };
        if let Some(differs) = differs {
            return Err(EngineError::ExecutionExists {
                execution_id,
                differs: differs.to_owned(),
            });
        }
        let now = self.clock.now();
        let state = ExecutionState {
            execution_id,
            workflow_id: workflow.id.clone(),
            status: ExecutionStatus::Running,
            trigger: origin.trigger,
            created_at: now,
            updated_at: now,
            nodes: std::collections::BTreeMap::new(),
            progress: std::collections::BTreeSet::new(),
            error: None,
            lease: None,
            error_of: origin.error_of,
            depth: origin.depth,
            resume_key: Some(crate::resume::new_key()),
            task_token: None,
            trace: crate::telemetry::new_trace(origin.metadata),
        };
        match self
            .store
            .put(&keys.state(), to_json(&state)?, Condition::Create)
            .await
        {
            Ok(version) => Ok((plan, Created::New(Box::new(state), version))),
            Err(StoreError::Conflict { .. }) => Ok((plan, Created::Existing(state.execution_id))),
            Err(other) => Err(other.into()),
        }
    }

    /// Carries an existing execution on: every node that can run, `target` first; the
    /// orchestrator's `task_token` is kept if the execution is left waiting for a signal.
    async fn advance(
        &self,
        execution_id: &str,
        target: Option<Target>,
        task_token: Option<String>,
        metadata: serde_json::Map<String, serde_json::Value>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Response, EngineError> {
        let (plan, keys, state) = self.load(execution_id).await?;
        let scope = match target {
            None => run::Scope::All,
            Some(Target { name, input }) => run::Scope::Resume {
                node: node_index(&plan, &name)?,
                input,
            },
        };
        run::Run::new(self, &plan, keys, state, deadline)
            .with_task_token(task_token)
            .execute(scope, metadata)
            .await
    }

    /// What `execute_node` runs for a node nobody handed out, derived from the execution.
    async fn derive_task(
        &self,
        execution_id: &str,
        node_name: &str,
    ) -> Result<worker::TaskSpec, EngineError> {
        let (plan, keys, state) = self.load(execution_id).await?;
        let node = node_index(&plan, node_name)?;
        run::Run::new(self, &plan, keys, state, None)
            .task(node)
            .await
    }

    /// Stores `workflow` as `workflows/{id}.json`, replacing any previous definition.
    /// Executions already started keep the definition they started with.
    ///
    /// # Errors
    ///
    /// When the workflow is invalid or the store fails.
    pub async fn put_workflow(&self, workflow: &Workflow) -> Result<(), EngineError> {
        let key = workflow_key(&workflow.id);
        let bytes = to_json(workflow)?;
        self.plan_new(workflow, bytes.len())?;
        loop {
            let condition = match self.store.get(&key).await? {
                Some(stored) => Condition::Match(stored.version),
                None => Condition::Create,
            };
            match self.store.put(&key, bytes.clone(), condition).await {
                Err(StoreError::Conflict { .. } | StoreError::Missing { .. }) => {}
                other => return other.map(drop).map_err(EngineError::from),
            }
        }
    }

    /// The stored workflow `id` (`workflows/{id}.json`), as it is now.
    ///
    /// # Errors
    ///
    /// `WorkflowNotFound` when there is none, `WorkflowInvalid` when it does not parse (naming
    /// the JSON path of the problem), a store error when the store fails.
    pub async fn stored_workflow(&self, id: &str) -> Result<Workflow, EngineError> {
        let key = workflow_key(id);
        let stored = self
            .store
            .get(&key)
            .await?
            .ok_or_else(|| EngineError::WorkflowNotFound(id.to_owned()))?;
        // An operator's broken definition, not a broken store: the same class as a workflow
        // that parses but does not validate.
        crate::json_path::from_slice(&stored.bytes).map_err(|message| {
            EngineError::WorkflowInvalid(WorkflowError {
                problems: vec![Problem {
                    path: key.clone(),
                    message: format!("does not parse: {message}"),
                }],
            })
        })
    }

    /// The execution as the execution index records it, read from the store (its node counts
    /// from [`execution_state`](Self::execution_state)).
    ///
    /// # Errors
    ///
    /// As [`execution_state`](Self::execution_state).
    pub async fn execution_record(
        &self,
        execution_id: &str,
    ) -> Result<ExecutionRecord, EngineError> {
        let (plan, keys, state) = self.load(execution_id).await?;
        let total = plan.nodes().len();
        let view = run::Run::new(self, &plan, keys, state, None).view().await?;
        let counts = crate::index::NodeCounts::of_states(total, view.nodes.values());
        Ok(ExecutionRecord::new(&view, counts))
    }

    /// Every execution in the store, as the execution index records them, by walking the
    /// store: a listing of every object under `executions/`, then each execution's state and
    /// outputs. Slower than the index by far on a large store. An execution that cannot be
    /// read is left out, with a warning naming it.
    ///
    /// # Errors
    ///
    /// When the store cannot be listed.
    pub async fn execution_records(&self) -> Result<Vec<ExecutionRecord>, EngineError> {
        use futures_util::StreamExt as _;
        let keys = self.store.list("executions/").await?;
        let states = keys.into_iter().filter(|key| {
            key.strip_prefix("executions/")
                .and_then(|rest| rest.strip_suffix("/state.json"))
                .is_some_and(|id| !id.contains('/'))
        });
        let records = futures_util::stream::iter(states)
            .map(|key| async move {
                let state: ExecutionState = read(&*self.store, &key, || {
                    EngineError::Store(format!("`{key}` vanished"))
                })
                .await?
                .0;
                self.execution_record(&state.execution_id).await
            })
            .buffer_unordered(journal::IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        Ok(records
            .into_iter()
            .filter_map(|record| {
                record
                    .inspect_err(|error| tracing::warn!(%error, "an execution left out"))
                    .ok()
            })
            .collect())
    }

    /// The execution's history: every node run its invocations recorded (see
    /// [`NodeRunRecord`]), in the order they started.
    ///
    /// # Errors
    ///
    /// When there is no such execution, or the store fails or holds a history that does not
    /// parse.
    pub async fn history(&self, execution_id: &str) -> Result<Vec<NodeRunRecord>, EngineError> {
        use futures_util::{StreamExt as _, TryStreamExt as _};
        let keys = ExecutionKeys::new(execution_id);
        self.read_state(&keys, execution_id).await?;
        let listed = self.store.list(&keys.runs()).await?;
        let invocations: Vec<InvocationRecord> = futures_util::stream::iter(listed)
            .map(|key| async move { read_recorded::<InvocationRecord>(&*self.store, &key).await })
            .buffered(journal::IN_FLIGHT)
            .try_collect()
            .await?;
        let mut runs: Vec<NodeRunRecord> = invocations
            .into_iter()
            .flat_map(|invocation| invocation.runs)
            .collect();
        runs.sort_by(|a, b| (a.started_at, &a.node).cmp(&(b.started_at, &b.node)));
        Ok(runs)
    }

    /// The state of an execution with every node's state: the stored header and states of
    /// the nodes in flight or failed, a success for every stored output, and the skips they
    /// imply.
    ///
    /// # Errors
    ///
    /// When there is no such execution, its workflow no longer validates against this
    /// engine's registry, or the store fails.
    pub async fn execution_state(&self, execution_id: &str) -> Result<ExecutionState, EngineError> {
        let (plan, keys, state) = self.load(execution_id).await?;
        run::Run::new(self, &plan, keys, state, None).view().await
    }

    async fn read_state(
        &self,
        keys: &ExecutionKeys,
        execution_id: &str,
    ) -> Result<(ExecutionState, Version), EngineError> {
        read(&*self.store, &keys.state(), || {
            EngineError::ExecutionNotFound(execution_id.to_owned())
        })
        .await
    }

    /// Whether `token` is the token of node `node`'s resume address in execution
    /// `execution_id` (see [`crate::resume`]): false for an execution that does not exist or
    /// has no resume key. Reads the execution's state only.
    ///
    /// # Errors
    ///
    /// When the store fails.
    pub async fn verify_resume_token(
        &self,
        execution_id: &str,
        node: &str,
        token: &str,
    ) -> Result<bool, EngineError> {
        let keys = ExecutionKeys::new(execution_id);
        let state = match self.read_state(&keys, execution_id).await {
            Ok((state, _)) => state,
            Err(EngineError::ExecutionNotFound(_)) => return Ok(false),
            Err(other) => return Err(other),
        };
        Ok(state
            .resume_key
            .is_some_and(|key| crate::resume::verify(&key, execution_id, node, token)))
    }

    /// The workflow an execution runs, as it was stored when the execution started.
    ///
    /// # Errors
    ///
    /// When there is no such execution or the store fails.
    pub async fn execution_workflow(&self, execution_id: &str) -> Result<Workflow, EngineError> {
        let key = ExecutionKeys::new(execution_id).workflow();
        let (workflow, _) = read(&*self.store, &key, || {
            EngineError::ExecutionNotFound(execution_id.to_owned())
        })
        .await?;
        Ok(workflow)
    }

    /// The items a node of an execution produced, one list per output (the `error` output
    /// last, when the instance routes errors there); `None` while the node has no stored result.
    ///
    /// # Errors
    ///
    /// When there is no such execution or the store fails.
    pub async fn node_output(
        &self,
        execution_id: &str,
        node_name: &str,
    ) -> Result<Option<Vec<Vec<ItemData>>>, EngineError> {
        let keys = ExecutionKeys::new(execution_id);
        self.read_state(&keys, execution_id).await?;
        self.stored_output(&keys, node_name).await
    }

    /// A node's stored result (its latest attempt's output), for an execution known to exist.
    pub(crate) async fn stored_output(
        &self,
        keys: &ExecutionKeys,
        node_name: &str,
    ) -> Result<Option<Vec<Vec<ItemData>>>, EngineError> {
        journal::stored_output(&*self.store, keys, node_name).await
    }

    /// The items of an execution's end nodes (those without outgoing connections) that have
    /// a stored result, in workflow order, read from the store whatever their size: the
    /// execution's output once it completed.
    ///
    /// # Errors
    ///
    /// When there is no such execution, its workflow no longer validates against this
    /// engine's registry, or the store fails.
    pub async fn final_output(&self, execution_id: &str) -> Result<Vec<ItemData>, EngineError> {
        let (plan, keys, _) = self.load(execution_id).await?;
        let end_keys = journal::end_output_keys(&*self.store, &plan, &keys).await?;
        match journal::read_end_output(&*self.store, &end_keys, usize::MAX, &mut []).await? {
            EndOutput::Inline(items) => Ok(items),
            // Sizes add up saturating, so nothing exceeds this limit.
            EndOutput::Stored(reference) => Err(EngineError::Store(format!(
                "the output of execution `{execution_id}` ({} bytes) is too big to read",
                reference.bytes
            ))),
        }
    }

    /// The plan of a workflow new to the engine (to start or to store), `bytes` long as JSON:
    /// checked against the limits (its size: not again when an execution of it is loaded, so
    /// that lowering a limit strands no execution), then against the registry.
    fn plan_new(&self, workflow: &Workflow, bytes: usize) -> Result<Plan, EngineError> {
        let limits = &self.options.limits;
        if let Err(message) = limits.check_workflow_bytes(bytes) {
            return Err(WorkflowError {
                problems: vec![Problem {
                    path: String::new(),
                    message,
                }],
            }
            .into());
        }
        Ok(Plan::checked(workflow, self.registry, limits)?)
    }

    /// An execution's plan, keys, and state with its version.
    async fn load(
        &self,
        execution_id: &str,
    ) -> Result<(Plan, ExecutionKeys, (ExecutionState, Version)), EngineError> {
        let keys = ExecutionKeys::new(execution_id);
        let state = self.read_state(&keys, execution_id).await?;
        let workflow: Workflow = read_recorded(&*self.store, &keys.workflow()).await?;
        let plan = Plan::new(&workflow, self.registry)?;
        Ok((plan, keys, state))
    }
}

/// Who started an execution, as its state records it: a request or a trigger (the default), a
/// failed execution (an error workflow's), a node (a sub-workflow's, one level deeper).
#[derive(Debug, Default)]
struct Origin<'a> {
    error_of: Option<String>,
    depth: u32,
    trigger: Option<String>,
    /// The creating request's metadata, whose `traceparent` the execution's trace continues.
    metadata: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

/// What [`Engine::create`] found.
enum Created {
    /// A new execution, and the version of its first state.
    New(Box<ExecutionState>, Version),
    /// The execution of that id, started before with the same workflow and input.
    Existing(String),
}

/// The node a resume or `execute_node` names.
struct Target {
    name: String,
    /// Items replacing the node's input.
    input: Option<Vec<ItemData>>,
}

/// A completed execution's output, as a response carries it.
pub(super) enum EndOutput {
    /// Small enough to inline.
    Inline(Vec<ItemData>),
    /// Too big: where it is stored.
    Stored(OutputRef),
}

/// Rejects an empty or overlong `execution_id` or `node_name`, naming the field and the limit,
/// and given items over the limits.
fn check_request(request: &Request, limits: &Limits) -> Result<(), EngineError> {
    let (execution_id, node_name, input_data) = match request {
        Request::ExecuteWorkflow(request) => (
            request.execution_id.as_deref(),
            None,
            request.input_data.as_deref(),
        ),
        Request::ResumeExecution(request) => (
            Some(request.execution_id.as_str()),
            request.node_name.as_deref(),
            request.input_data.as_deref(),
        ),
        Request::ExecuteNode(request) => (
            Some(request.execution_id.as_str()),
            Some(request.node_name.as_str()),
            request.input_data.as_deref(),
        ),
    };
    for (field, value) in [("execution_id", execution_id), ("node_name", node_name)] {
        let Some(value) = value else { continue };
        if value.is_empty() {
            return Err(EngineError::InvalidRequest(format!(
                "`{field}` cannot be empty"
            )));
        }
        // Bytes bound characters from above: most names are counted without a scan.
        if value.len() > MAX_NAME_CHARS {
            let chars = value.chars().count();
            if chars > MAX_NAME_CHARS {
                return Err(EngineError::InvalidRequest(format!(
                    "`{field}` is {chars} characters long; the longest accepted is {MAX_NAME_CHARS}"
                )));
            }
        }
    }
    if let Some(items) = input_data {
        limits
            .check_items("input_data", items)
            .map_err(EngineError::InvalidRequest)?;
    }
    Ok(())
}

fn node_index(plan: &Plan, name: &str) -> Result<usize, EngineError> {
    plan.index_of(name).ok_or_else(|| {
        EngineError::InvalidRequest(format!("the workflow has no node named `{name}`"))
    })
}
