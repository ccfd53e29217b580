//! What a running node can see of its execution.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, Utc};

use super::NodeError;
use super::{Metric, MetricUnit};
use crate::engine::{MetricEvent, Observer, Started, SubWorkflows, WorkflowSource};
use crate::expression::{ExecutionInfo, Lookups};
use crate::model::ItemData;
use crate::time::{Clock, SystemClock};

/// The context of one node invocation: which execution and attempt it belongs to, how much time
/// is left, and the raw item being processed.
///
/// Cheap to clone. A node takes it as `ctx: Ctx` or `ctx: &Ctx`.
#[derive(Debug, Clone)]
pub struct Ctx {
    run: Arc<RunInfo>,
    items: Arc<[ItemData]>,
    index: Option<usize>,
}

/// The facts about one node attempt that every item of it shares.
#[derive(Debug)]
pub struct RunInfo {
    /// The execution: its identifier, when it was created, and its workflow.
    pub execution: Arc<ExecutionInfo>,
    /// The node instance's name in the workflow.
    pub node_name: Arc<str>,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// When the invocation must have persisted its results, if there is a deadline.
    pub deadline: Option<Instant>,
    /// The span the node runs in.
    pub span: tracing::Span,
    /// When the node first started in this execution (kept across waits and retries).
    pub started_at: DateTime<Utc>,
    /// The engine's clock.
    pub clock: Arc<dyn Clock>,
    /// For a node fed by several inputs: where each input's items end among the node's items
    /// (input `n` holds the items from `input_ends[n - 1]` to `input_ends[n]`). Empty when all
    /// items arrived on one input.
    pub input_ends: Vec<usize>,
    /// For one batch of a node's input (see `batch_size`): where its first item stands among
    /// all the node's items. 0 otherwise.
    pub first_item: usize,
    /// What the parameters' expressions read besides the item: earlier nodes' outputs and
    /// secrets, fetched before the attempt.
    pub lookups: Arc<Lookups>,
    /// What [`Ctx::run_workflow`] needs; `None` outside an engine.
    pub sub_workflows: Option<SubWorkflows>,
    /// Whether a request named the node to resume it (see [`Ctx::resumed`]).
    pub resumed: bool,
    /// Who hears of the metrics the node reports ([`Ctx::metric`]); `None` drops them.
    pub observer: Option<Arc<dyn Observer>>,
}

impl RunInfo {
    /// The facts of attempt `attempt` of `node_name` in `execution_id`, starting now on the
    /// system clock, without deadline.
    #[must_use]
    pub fn new(
        execution_id: impl Into<Arc<str>>,
        node_name: impl Into<Arc<str>>,
        attempt: u32,
    ) -> Self {
        Self {
            execution: Arc::new(ExecutionInfo::new(execution_id)),
            node_name: node_name.into(),
            attempt,
            deadline: None,
            span: tracing::Span::none(),
            started_at: Utc::now(),
            clock: Arc::new(SystemClock),
            input_ends: Vec::new(),
            first_item: 0,
            lookups: Arc::default(),
            sub_workflows: None,
            resumed: false,
            observer: None,
        }
    }
}

/// Runs `child` as a task of its own: a sub-workflow runs nodes, which may start sub-workflows
/// of their own, and each level then starts from the runtime's stack instead of nesting in its
/// parent's. The task stops with the node (a timeout, the end of the invocation), as if it ran
/// inline.
async fn in_own_task<T: Send + 'static>(
    child: impl Future<Output = Result<T, NodeError>> + Send + 'static,
) -> Result<T, NodeError> {
    let child = tokio::spawn(child);
    let _stop = AbortOnDrop(child.abort_handle());
    child.await.unwrap_or_else(|error| {
        Err(NodeError::terminal(format!(
            "the sub-workflow's run ended abruptly: {error}"
        )))
    })
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The id of the sub-workflow execution that attempt `attempt` of node `node` of execution
/// `execution_id` starts (see [`Ctx::run_workflow`]).
fn child_execution_id(execution_id: &str, node: &str, attempt: u32) -> String {
    format!("{execution_id}:{node}:{attempt}")
}

/// Where each input's items end when the inputs' items (`lengths` of them) are laid end to end
/// (see [`RunInfo::input_ends`]); empty for fewer than two inputs.
pub(crate) fn input_ends(lengths: impl ExactSizeIterator<Item = usize>) -> Vec<usize> {
    if lengths.len() < 2 {
        return Vec::new();
    }
    lengths
        .scan(0, |end, length| {
            *end += length;
            Some(*end)
        })
        .collect()
}

impl Ctx {
    pub(crate) fn new(run: Arc<RunInfo>, items: Arc<[ItemData]>, index: Option<usize>) -> Self {
        Self { run, items, index }
    }

    /// The execution's identifier.
    #[must_use]
    pub fn execution_id(&self) -> &str {
        &self.run.execution.id
    }

    /// The execution: its identifier, when it was created, and the workflow it runs.
    #[must_use]
    pub fn execution(&self) -> &ExecutionInfo {
        &self.run.execution
    }

    /// The node instance's name in the workflow.
    #[must_use]
    pub fn node_name(&self) -> &str {
        &self.run.node_name
    }

    /// The attempt number: 1 for the first run, 2 for the first retry, and so on.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.run.attempt
    }

    /// Reports a metric about the node's work: under Lambda it is published with the
    /// function's own metrics (CloudWatch namespace `Hetumind`, with the dimensions
    /// `FunctionName` and `FunctionName, Workflow`); under [`NodeTest`](crate::testing::NodeTest)
    /// it is recorded for the test to read ([`TestOutput::metrics`](crate::testing::TestOutput::metrics)).
    ///
    /// ```rust
    /// use hetumind::prelude::*;
    /// use hetumind::MetricUnit;
    ///
    /// /// Charges an order.
    /// #[node(kind = "doc.charge")]
    /// async fn charge(ctx: &Ctx, Item(cents): Item<u64>) -> Result<u64, NodeError> {
    ///     ctx.metric("AmountCharged", cents as f64, MetricUnit::Count)?;
    ///     Ok(cents)
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// A terminal error when the name or the value is invalid (see [`Metric::new`]).
    pub fn metric(&self, name: &str, value: f64, unit: MetricUnit) -> Result<(), NodeError> {
        let metric = Metric::new(name, value, unit)?;
        if let Some(observer) = &self.run.observer {
            observer.metric(&MetricEvent {
                execution_id: &self.run.execution.id,
                workflow_id: &self.run.execution.workflow_id,
                node: &self.run.node_name,
                metric: &metric,
            });
        }
        Ok(())
    }

    /// A key that is the same every time this attempt of this node runs, including a re-run
    /// after a crash: `{execution_id}:{node}:{attempt}`. Pass it to external systems that
    /// deduplicate requests.
    #[must_use]
    pub fn idempotency_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.run.execution.id, self.run.node_name, self.run.attempt
        )
    }

    /// In each-item mode, a key for this item of this node in this execution, the same on every
    /// attempt and every re-run after a crash: `{execution_id}:{node}:{item index}`. Send it to
    /// external systems that deduplicate requests, so that a retried item is recognised as the
    /// same request. `None` in all mode.
    #[must_use]
    pub fn item_idempotency_key(&self) -> Option<String> {
        self.item_index()
            .map(|index| format!("{}:{}:{index}", self.run.execution.id, self.run.node_name))
    }

    /// The time left before the invocation's deadline; `None` when there is no deadline.
    #[must_use]
    pub fn remaining(&self) -> Option<Duration> {
        self.run
            .deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// The raw item being processed, in each-item mode; `None` in all mode.
    #[must_use]
    pub fn item(&self) -> Option<&ItemData> {
        self.index.and_then(|index| self.items.get(index))
    }

    /// The position of the item being processed among the node's input items, in each-item mode.
    /// Under fan-out with a `batch_size`, a run sees one batch ([`items`](Self::items) holds
    /// it) and this still counts among all the node's items, as an inline run would.
    #[must_use]
    pub fn item_index(&self) -> Option<usize> {
        self.index.map(|index| index + self.run.first_item)
    }

    /// All raw input items of this invocation.
    #[must_use]
    pub fn items(&self) -> &[ItemData] {
        &self.items
    }

    /// How many inputs delivered this node's items: 1 unless connections target several input
    /// indexes (as with a merge).
    #[must_use]
    pub fn input_count(&self) -> usize {
        self.run.input_ends.len().max(1)
    }

    /// The positions, among all input items (`Items<T>` or [`Ctx::items`]), of the items that
    /// arrived on input `index`; empty for an input that delivered nothing.
    ///
    /// ```rust,standalone_crate
    /// use hetumind::prelude::*;
    /// use serde_json::Value;
    ///
    /// /// Pairs the items of input 0 with those of input 1.
    /// #[node(kind = "doc.zip")]
    /// async fn zip(Items(items): Items<Value>, ctx: Ctx) -> Result<Vec<Value>, NodeError> {
    ///     let (left, right) = (&items[ctx.input_range(0)], &items[ctx.input_range(1)]);
    ///     Ok(left.iter().zip(right).map(|(l, r)| Value::Array(vec![l.clone(), r.clone()])).collect())
    /// }
    /// ```
    #[must_use]
    pub fn input_range(&self, index: usize) -> std::ops::Range<usize> {
        let ends = &self.run.input_ends;
        if ends.is_empty() {
            return if index == 0 {
                0..self.items.len()
            } else {
                0..0
            };
        }
        let start = match index {
            0 => 0,
            _ => ends.get(index - 1).copied().unwrap_or(self.items.len()),
        };
        let end = ends.get(index).copied().unwrap_or(start);
        start..end.max(start)
    }

    /// The input on which the item at position `item_index` arrived.
    #[must_use]
    pub fn input_of(&self, item_index: usize) -> usize {
        self.run
            .input_ends
            .partition_point(|&end| end <= item_index)
    }

    /// The current time, on the engine's clock.
    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.run.clock.now()
    }

    /// When this node first started in this execution; stays the same across waits and
    /// retries.
    #[must_use]
    pub fn started_at(&self) -> DateTime<Utc> {
        self.run.started_at
    }

    /// Whether this run of the node was woken by a request naming it: a `resume_execution`
    /// with its `node_name` (the command line's `resume ID --node NAME`, a resume address of
    /// the HTTP trigger, a signal passed on by Step Functions). The request's `input_data`, if
    /// any, replaced the node's input items.
    #[must_use]
    pub fn resumed(&self) -> bool {
        self.run.resumed
    }

    /// Parks the node until `until`: returns `Ok(())` once that time has passed (or when a
    /// request woke the node early, see [`resumed`](Self::resumed)), and otherwise an error the
    /// engine understands as "run me again at `until`" (durably: the invocation may end and a
    /// later one resumes). Use it with `?` before the work that must wait.
    ///
    /// # Errors
    ///
    /// While `until` is in the future.
    pub fn wait_until(&self, until: DateTime<Utc>) -> Result<(), NodeError> {
        if self.resumed() || self.now() >= until {
            Ok(())
        } else {
            Err(NodeError::wait_until(until))
        }
    }

    /// Parks the node until a signal: returns `Ok(())` once a request named the node (see
    /// [`resumed`](Self::resumed); the signal's items are then the node's input), or once
    /// `timeout` has passed, and otherwise an error the engine understands as "run me again
    /// when a signal comes, or at `timeout`". Durable like [`wait_until`](Self::wait_until):
    /// the execution answers `await_signal` and waits, however long, for a `resume_execution`
    /// naming the node. Tell the signal's sender where to send it with the node's
    /// [`resume_url`](Self::resume_url), in an earlier node or in this one before it parks.
    ///
    /// # Errors
    ///
    /// Until a signal came or `timeout` passed.
    pub fn wait_for_signal(&self, timeout: Option<DateTime<Utc>>) -> Result<(), NodeError> {
        if self.resumed() || timeout.is_some_and(|timeout| self.now() >= timeout) {
            Ok(())
        } else {
            Err(NodeError::wait_for_signal(timeout))
        }
    }

    /// The address at which a signal resumes node `node` of this execution through the HTTP
    /// trigger (see [`resume`](crate::resume)); `self.node_name()` for this node's own.
    ///
    /// # Errors
    ///
    /// A terminal error when the execution has no resume key (created by an older version).
    pub fn resume_url(&self, node: &str) -> Result<String, NodeError> {
        self.execution()
            .resume_url(node)
            .map_err(NodeError::terminal)
    }

    /// Parks the node until `duration` after it first started: see [`Ctx::wait_until`].
    ///
    /// # Errors
    ///
    /// While that time is in the future; a terminal error when it is beyond the dates the
    /// engine can represent (hundreds of thousands of years away).
    pub fn wait_for(&self, duration: Duration) -> Result<(), NodeError> {
        self.wait_until(self.after_start(duration)?)
    }

    /// The time `duration` after this node first started (see [`started_at`](Self::started_at)):
    /// the end of a wait measured from it.
    ///
    /// # Errors
    ///
    /// A terminal error when that time is beyond the dates the engine can represent (hundreds
    /// of thousands of years away).
    pub fn after_start(&self, duration: Duration) -> Result<DateTime<Utc>, NodeError> {
        chrono::TimeDelta::from_std(duration)
            .ok()
            .and_then(|delta| self.started_at().checked_add_signed(delta))
            .ok_or_else(|| {
                NodeError::terminal(format!(
                    "cannot wait {} s from {}: that time is beyond the supported range of dates",
                    duration.as_secs(),
                    self.started_at()
                ))
            })
    }

    /// Runs workflow `source` as a sub-workflow with `input` as its input items, and answers
    /// its end items once it completed. Use it with `?`: while the child runs on (it waits, or
    /// this invocation runs out of time), the node parks, and its next run carries the child on
    /// from where it is; when the child fails, the node fails for good with the child's error.
    ///
    /// The child is an execution of its own, `{execution id}:{node name}:{attempt}`: a run of
    /// the same attempt (after a crash, a wait) finds it, so a retry of the attempt never
    /// starts a second child; a new attempt starts a new one. Children nest at most
    /// [`Limits::workflow_depth`](crate::Limits::workflow_depth) levels.
    ///
    /// # Errors
    ///
    /// As described; also a terminal error outside an engine ([`NodeTest`]), when the stored
    /// workflow does not exist or is invalid, or when the child would nest too deep.
    ///
    /// [`NodeTest`]: crate::testing::NodeTest
    pub async fn run_workflow(
        &self,
        source: WorkflowSource,
        input: Vec<ItemData>,
    ) -> Result<Vec<ItemData>, NodeError> {
        let (sub_workflows, execution_id) = self.child()?;
        let deadline = self.run.deadline;
        in_own_task(async move {
            sub_workflows
                .run(source, execution_id, input, deadline)
                .await
        })
        .await
    }

    /// Starts workflow `source` as a sub-workflow with `input` as its input items, and goes on
    /// without waiting for it: the engine's [launcher](crate::engine::Engine::with_launcher)
    /// (a Lambda function's state machine) drives it, or, without one, it runs in this
    /// invocation as far as the deadline allows. Its execution id is as for
    /// [`Ctx::run_workflow`]: a run of the same attempt finds it started.
    ///
    /// # Errors
    ///
    /// As [`Ctx::run_workflow`], except that the node never waits for it.
    pub async fn start_workflow(
        &self,
        source: WorkflowSource,
        input: Vec<ItemData>,
    ) -> Result<Started, NodeError> {
        let (sub_workflows, execution_id) = self.child()?;
        let deadline = self.run.deadline;
        in_own_task(async move {
            sub_workflows
                .start(source, execution_id, input, deadline)
                .await
        })
        .await
    }

    /// What starting this attempt's sub-workflow takes, and its execution id.
    fn child(&self) -> Result<(SubWorkflows, String), NodeError> {
        let sub_workflows = self.run.sub_workflows.clone().ok_or_else(|| {
            NodeError::terminal(
                "sub-workflows run only under the engine (test this node with WorkflowTest)",
            )
        })?;
        let execution_id =
            child_execution_id(self.execution_id(), self.node_name(), self.attempt());
        Ok((sub_workflows, execution_id))
    }

    /// The tracing span of this node attempt.
    #[must_use]
    pub fn span(&self) -> &tracing::Span {
        &self.run.span
    }
}
