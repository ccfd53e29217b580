//! One run of a node: its attempts, each on a thread of its own and bounded by the node's
//! timeout and the invocation's hard end, panics caught; retries by the node's policy, slept
//! in-process when they fit the budget and parked otherwise; and, for an each-item node, the
//! retries of just the items that failed.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::SubWorkflows;
use super::input::RunInput;
use super::lookup::{Reads, redact};
use super::{NodeOutcome, Observer};
use crate::expression::{ExecutionInfo, Lookups, Parameters};
use crate::limits::Limits;
use crate::model::{ItemData, NodeRunRecord, OnError};
use crate::node::execute::{failed_output, may_consume};
use crate::node::{
    ErrorKind, Invocation as NodeCall, ItemMark, NodeError, NodeOutput, NodeRegistration, RunInfo,
    panic_message,
};
use crate::retry::RetryPolicy;
use crate::time::{Clock, Random, saturating_add};

/// What one node run came to.
pub(super) enum Outcome {
    Succeeded {
        attempt: u32,
        output: NodeOutput,
    },
    Failed {
        attempt: u32,
        error: NodeError,
    },
    /// Runs again at `until`, with attempt `attempt`: the whole node, or only the items that
    /// failed when `retries` are under way.
    Parked {
        attempt: u32,
        until: DateTime<Utc>,
        /// Whether it waits for a signal (until `until`, its timeout) rather than a time.
        signal: bool,
        error: Option<String>,
        retries: Option<ItemRetries>,
    },
    /// The hard deadline came first: the node (or the items of `retries` still to retry) runs
    /// again, same attempt, next invocation.
    Interrupted {
        attempt: u32,
        retries: Option<ItemRetries>,
    },
}

impl Outcome {
    /// The attempt it ended with, and how an observer hears of it.
    pub(super) fn reported(&self) -> (u32, NodeOutcome) {
        match self {
            Self::Succeeded { attempt, .. } => (*attempt, NodeOutcome::Succeeded),
            Self::Failed { attempt, .. } => (*attempt, NodeOutcome::Failed),
            Self::Parked { attempt, .. } => (*attempt, NodeOutcome::Waiting),
            Self::Interrupted { attempt, .. } => (*attempt, NodeOutcome::Interrupted),
        }
    }

    /// The run as the execution's history keeps it: of node `node` of kind `kind`, on
    /// `items_in` items, started `duration` before `now`.
    pub(super) fn history(
        &self,
        node: &str,
        kind: &str,
        items_in: usize,
        now: DateTime<Utc>,
        duration: Duration,
    ) -> NodeRunRecord {
        let (attempt, outcome) = self.reported();
        let (items_out, error) = match self {
            Self::Succeeded { output, .. } => {
                (Some(output.outputs.iter().map(Vec::len).sum()), None)
            }
            Self::Failed { error, .. } => (None, Some(error.to_string())),
            Self::Parked { error, .. } => (None, error.clone()),
            Self::Interrupted { .. } => (None, None),
        };
        NodeRunRecord {
            node: node.to_owned(),
            kind: kind.to_owned(),
            attempt,
            batch: None,
            outcome,
            started_at: now - chrono::Duration::from_std(duration).unwrap_or_default(),
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            items_in,
            items_out,
            error,
        }
    }

    /// How `on_error` takes a failure for good of a run on `items`: under `continue` or
    /// `error_output` the items pass on carrying the error (where the node's `outputs` put
    /// them) and the run succeeds; under `stop` it stays a failure. The one rule for a whole
    /// node (a timeout, a panic, an error outside the per-item loop) and for each item given up
    /// after its retries alike.
    pub(super) fn or_passed_on(
        self,
        items: &[ItemData],
        on_error: OnError,
        outputs: &'static [&'static str],
    ) -> Self {
        match self {
            Self::Failed { attempt, error } if on_error != OnError::Stop => Self::Succeeded {
                attempt,
                output: failed_output(items, on_error, outputs, &error),
            },
            other => other,
        }
    }
}

/// Per-item retries under way: the node's output so far, and the items still to run again. A
/// node parked or cut off while some of its items wait to be retried keeps this (stored with
/// its progress), so that its next run retries those items only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ItemRetries {
    /// The attempt whose output this is: the node's result is stored under it.
    attempt: u32,
    /// The outputs of the items done so far, one list per output.
    outputs: Vec<Vec<ItemData>>,
    /// The items still failing, and where their outputs belong in `outputs`.
    pending: Vec<ItemMark>,
}

/// Everything one run of a node needs, taken from the invocation when it starts.
pub(super) struct NodeRun {
    pub(super) registration: &'static NodeRegistration,
    pub(super) name: Arc<str>,
    pub(super) execution: Arc<ExecutionInfo>,
    pub(super) parameters: Arc<Parameters>,
    pub(super) items: RunInput,
    pub(super) input_ends: Vec<usize>,
    /// Where `items` start among all the node's items (a batch), else 0.
    pub(super) first_item: usize,
    pub(super) retry: RetryPolicy,
    pub(super) timeout: Option<Duration>,
    pub(super) on_error: OnError,
    pub(super) started_at: DateTime<Utc>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) random: Arc<dyn Random>,
    /// No retry is slept for past this instant.
    pub(super) start_until: Option<Instant>,
    /// Attempts are interrupted at this instant.
    pub(super) hard_end: Option<Instant>,
    /// Whether node code runs on threads of its own (see `EngineOptions::node_threads`).
    pub(super) own_threads: bool,
    /// Retries of some items under way, from an earlier run: only those items run.
    pub(super) resume: Option<ItemRetries>,
    /// What the node's output must stay within.
    pub(super) limits: Limits,
    /// What its parameters' expressions read besides the item, if anything.
    pub(super) reads: Option<Arc<Reads>>,
    /// What it needs to start sub-workflows.
    pub(super) sub_workflows: SubWorkflows,
    /// Whether a request named the node to resume it (see `Ctx::resumed`).
    pub(super) resumed: bool,
    /// Who hears of the metrics the node reports.
    pub(super) observer: Option<Arc<dyn Observer>>,
}

/// What [`NodeRun::run`] came to.
pub(super) struct Ran {
    /// The node's input items, restored if they were lent; none after a success.
    pub(super) items: Arc<[ItemData]>,
    /// How many input items the node ran on.
    pub(super) items_in: usize,
    /// How the run ended.
    pub(super) outcome: Outcome,
}

/// How an attempt ended without an output.
enum Stop {
    Interrupted,
    Failed(NodeError),
}

impl NodeRun {
    /// Runs the node from attempt `attempt` until it succeeds, fails for good, parks or is
    /// interrupted: the whole node, or the items whose retries an earlier run left pending.
    ///
    /// Answers the outcome with the node's input items, restored if they were lent to the node
    /// (see [`RunInput`]); after a success, they may be gone.
    pub(super) async fn run(mut self, attempt: u32) -> Ran {
        let outcome = match self.resume.take() {
            // Boxed, as below: the rare path of item retries keeps its state out of the future
            // of every node run.
            Some(retries) => Box::pin(self.retry_items(retries, attempt, true)).await,
            None => self.run_whole(attempt).await,
        };
        let items_in = self.items.len();
        if let Outcome::Succeeded { .. } = outcome {
            return Ran {
                items: Arc::from([]),
                items_in,
                outcome,
            };
        }
        let (items, outcome) = match self.items.items() {
            Ok(items) => (Arc::clone(items), outcome),
            Err(error) => (
                Arc::from([]),
                Outcome::Failed {
                    attempt: outcome.reported().0,
                    error,
                },
            ),
        };
        Ran {
            items,
            items_in,
            outcome,
        }
    }

    /// Calls the node on all its items, and again after each retryable failure of the whole
    /// call; items failing alone go on to [`retry_items`](Self::retry_items).
    async fn run_whole(&mut self, mut attempt: u32) -> Outcome {
        loop {
            let error = match self.attempt(attempt, None).await {
                Ok(output) if output.marks.is_empty() => {
                    return Outcome::Succeeded { attempt, output };
                }
                Ok(output) => {
                    let retries = ItemRetries {
                        attempt,
                        outputs: output.outputs,
                        pending: output.marks,
                    };
                    return Box::pin(self.retry_items(retries, attempt, false)).await;
                }
                Err(Stop::Interrupted) => {
                    return Outcome::Interrupted {
                        attempt,
                        retries: None,
                    };
                }
                Err(Stop::Failed(error)) => error,
            };
            match self.retry_after(error, attempt).await {
                Ok(next) => attempt = next,
                Err(outcome) => return outcome,
            }
        }
    }

    /// After attempt `attempt` failed with `error`: sleeps the retry delay and answers the next
    /// attempt, or says how the run ends (failed, parked until the retry time).
    async fn retry_after(&self, error: NodeError, attempt: u32) -> Result<u32, Outcome> {
        let delay = match error.kind() {
            ErrorKind::Wait { .. } | ErrorKind::Signal { .. } | ErrorKind::Terminal => {
                return Err(ended(error, attempt, None));
            }
            _ if !self.retry.allows_retry_after(attempt) => {
                let error = error.context(format!(
                    "gave up after {attempt} attempt{}",
                    if attempt == 1 { "" } else { "s" }
                ));
                return Err(Outcome::Failed { attempt, error });
            }
            ErrorKind::RetryAfter { after_ms } => Duration::from_millis(after_ms),
            _ => self.retry.delay(attempt, self.random.unit()),
        };
        let next = attempt.saturating_add(1);
        if self
            .start_until
            .is_some_and(|end| Instant::now().checked_add(delay).is_none_or(|at| at >= end))
        {
            return Err(Outcome::Parked {
                attempt: next,
                until: saturating_add(self.clock.now(), delay),
                signal: false,
                error: Some(error.to_string()),
                retries: None,
            });
        }
        tracing::debug!(node = %self.name, attempt = next, delay_ms = delay.as_millis(), "retrying: {error}");
        tokio::time::sleep(delay).await;
        Ok(next)
    }

    /// Retries the pending items of `retries`, all together in each round, until none is left
    /// or their retries are exhausted; the outputs of the items that succeeded are kept as they
    /// are. `round` is the attempt that last ran them, or, when `due`, the one to run now.
    async fn retry_items(
        &mut self,
        mut retries: ItemRetries,
        mut round: u32,
        mut due: bool,
    ) -> Outcome {
        loop {
            if !due {
                let Some(error) = round_error(&retries.pending) else {
                    return Outcome::Succeeded {
                        attempt: retries.attempt,
                        output: NodeOutput::new(retries.outputs),
                    };
                };
                match self.retry_after(error, round).await {
                    Ok(next) => round = next,
                    // Their retries are exhausted.
                    Err(Outcome::Failed {
                        attempt: last,
                        error,
                    }) if error.is_retryable() => {
                        return self.give_up(retries, last);
                    }
                    Err(Outcome::Parked {
                        attempt,
                        until,
                        signal,
                        error,
                        ..
                    }) => {
                        return Outcome::Parked {
                            attempt,
                            until,
                            signal,
                            error,
                            retries: Some(retries),
                        };
                    }
                    Err(outcome) => return outcome,
                }
            }
            due = false;
            let only: Arc<[usize]> = retries.pending.iter().map(|mark| mark.item).collect();
            match self.attempt(round, Some(only)).await {
                Ok(retried) => {
                    retries.pending = merge(&mut retries.outputs, &retries.pending, retried);
                }
                Err(Stop::Interrupted) => {
                    return Outcome::Interrupted {
                        attempt: round,
                        retries: Some(retries),
                    };
                }
                // The whole call failed again (a timeout, say): every item of the round did.
                Err(Stop::Failed(error)) if error.is_retryable() => {
                    for mark in &mut retries.pending {
                        mark.error = Some(error.clone());
                    }
                }
                Err(Stop::Failed(error)) => return ended(error, round, Some(retries)),
            }
        }
    }

    /// The items still failing after their last attempt, `last`: the node fails with the
    /// first one's error (`on_error: stop`), or each passes on as a failed item where it
    /// belongs (see [`Outcome::or_passed_on`]), and the node succeeds.
    fn give_up(&mut self, retries: ItemRetries, last: u32) -> Outcome {
        let ItemRetries {
            attempt,
            mut outputs,
            pending,
        } = retries;
        let items = match self.items.items() {
            Ok(items) => Arc::clone(items),
            Err(error) => {
                return Outcome::Failed {
                    attempt: last,
                    error,
                };
            }
        };
        let gave_up = |mark: &ItemMark| {
            mark.error
                .clone()
                .unwrap_or_else(|| NodeError::retryable("failed"))
                .context(format!(
                    "input item {}: gave up after {last} attempts",
                    mark.item + self.first_item
                ))
        };
        // Each failed item as the only item of a run that failed for good, their outputs end
        // to end.
        let mut failed = NodeOutput::new(vec![Vec::new(); outputs.len()]);
        for mark in &pending {
            let failure = Outcome::Failed {
                attempt: last,
                error: gave_up(mark),
            };
            let one = match failure.or_passed_on(
                &items[mark.item..=mark.item],
                self.on_error,
                self.registration.outputs,
            ) {
                Outcome::Succeeded { output, .. } => output,
                stopped => return stopped,
            };
            failed.marks.push(ItemMark {
                item: mark.item,
                at: failed.outputs.iter().map(Vec::len).collect(),
                error: None,
            });
            for (port, items) in one.outputs.into_iter().enumerate() {
                if let Some(target) = failed.outputs.get_mut(port) {
                    target.extend(items);
                }
            }
        }
        merge(&mut outputs, &pending, failed);
        Outcome::Succeeded {
            attempt,
            output: NodeOutput::new(outputs),
        }
    }

    /// One attempt: the node's code on a thread of its own, bounded by the node's timeout and
    /// the invocation's hard end; a panic fails it for good.
    async fn attempt(
        &mut self,
        attempt: u32,
        only_items: Option<Arc<[usize]>>,
    ) -> Result<NodeOutput, Stop> {
        // A retry of some items only reads those: the whole input is not worth lending.
        let consumes =
            may_consume(self.registration.consumes_items, self.on_error) && only_items.is_none();
        let lookups = match &self.reads {
            // Boxed: the rare path keeps its state out of every node run's future.
            Some(reads) => Arc::new(Box::pin(reads.fetch()).await.map_err(Stop::Failed)?),
            None => Arc::clone(&NO_LOOKUPS),
        };
        let items = self.items.for_call(consumes).map_err(Stop::Failed)?;
        let span = tracing::info_span!(
            "node",
            execution_id = %self.execution.id,
            node = %self.name,
            kind = self.registration.kind,
            attempt,
            workflow_id = tracing::field::Empty,
            items_in = tracing::field::Empty,
            items_out = tracing::field::Empty,
            error = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        crate::telemetry::node_started(&span, &self.execution.workflow_id, items.len());
        let call = NodeCall {
            parameters: Arc::clone(&self.parameters),
            items,
            run: Arc::new(RunInfo {
                execution: Arc::clone(&self.execution),
                node_name: Arc::clone(&self.name),
                attempt,
                deadline: self.hard_end,
                span: span.clone(),
                started_at: self.started_at,
                clock: Arc::clone(&self.clock),
                input_ends: self.input_ends.clone(),
                first_item: self.first_item,
                lookups: Arc::clone(&lookups),
                sub_workflows: Some(self.sub_workflows.clone()),
                resumed: self.resumed,
                observer: self.observer.clone(),
            }),
            on_error: self.on_error,
            only_items,
        };
        let code = AssertUnwindSafe((self.registration.invoke)(call)).catch_unwind();
        // An output over the limits is the node's own error, checked where it was made (on
        // the node's thread, when it has one).
        let limits = self.limits;
        let code = async move {
            code.await.map(|result| {
                result.and_then(|mut output| {
                    output.json_len = limits
                        .check_output(&output.outputs)
                        .map_err(NodeError::terminal)?;
                    Ok(output)
                })
            })
        };
        let code = async {
            if self.own_threads && !self.registration.nonblocking {
                on_node_thread(code).await
            } else {
                Ok(code.await)
            }
        };
        let bounded = async {
            match self.timeout {
                Some(limit) => tokio::time::timeout(limit, code).await.map_err(|_| limit),
                None => Ok(code.await),
            }
        };
        let result = match self.hard_end {
            Some(end) => tokio::time::timeout_at(end, bounded)
                .await
                .map_err(|_| Stop::Interrupted)?,
            None => bounded.await,
        };
        let mut ended = match result {
            Ok(Ok(Ok(Ok(output)))) => Ok(output),
            Ok(Ok(Ok(Err(error))) | Err(error)) => Err(error),
            Ok(Ok(Err(panic))) => Err(NodeError::terminal(format!(
                "the node panicked: {}",
                panic_message(&*panic)
            ))),
            Err(limit) => Err(NodeError::retryable(format!(
                "the node timed out after {} ms",
                limit.as_millis()
            ))),
        };
        redact(&lookups, ended.as_mut());
        crate::telemetry::node_ended(&span, &ended);
        ended.map_err(Stop::Failed)
    }
}

/// What a node run reads when its expressions name no node and no secret.
static NO_LOOKUPS: LazyLock<Arc<Lookups>> = LazyLock::new(Arc::default);

/// How a run ends on `error`, a wait or a failure for good, of attempt `attempt`: parked until
/// the wait's time (keeping the item `retries` under way), or failed.
fn ended(error: NodeError, attempt: u32, retries: Option<ItemRetries>) -> Outcome {
    match error.kind() {
        ErrorKind::Wait { until } => Outcome::Parked {
            attempt,
            until,
            signal: false,
            error: None,
            retries,
        },
        ErrorKind::Signal { timeout } => Outcome::Parked {
            attempt,
            until: timeout.unwrap_or_else(crate::model::latest_rfc3339),
            signal: true,
            error: None,
            retries,
        },
        _ => Outcome::Failed { attempt, error },
    }
}

/// The error a retry round is decided by: the longest `retry_after` among the failed items,
/// else the first item's error; `None` when no item failed.
fn round_error(pending: &[ItemMark]) -> Option<NodeError> {
    let errors = pending.iter().filter_map(|mark| mark.error.as_ref());
    errors
        .clone()
        .filter(|error| matches!(error.kind(), ErrorKind::RetryAfter { .. }))
        .max_by_key(|error| match error.kind() {
            ErrorKind::RetryAfter { after_ms } => after_ms,
            _ => 0,
        })
        .or_else(|| errors.clone().next())
        .cloned()
}

/// Puts the outputs of a call on `pending`'s items (`retried`, marked item by item) where
/// those items belong in `outputs`, and answers the items that failed again, marked where they
/// now belong.
fn merge(
    outputs: &mut [Vec<ItemData>],
    pending: &[ItemMark],
    retried: NodeOutput,
) -> Vec<ItemMark> {
    let NodeOutput {
        outputs: retried_outputs,
        marks: retried_marks,
        json_len: _,
    } = retried;
    let mut still = Vec::new();
    let mut now_at = vec![Vec::with_capacity(outputs.len()); pending.len()];
    for (port, (kept, fresh)) in outputs.iter_mut().zip(retried_outputs).enumerate() {
        let fresh_len = fresh.len();
        let mut fresh = fresh.into_iter();
        let mut old = std::mem::take(kept).into_iter();
        let mut copied = 0;
        for (position, mark) in pending.iter().enumerate() {
            let at = mark.at.get(port).copied().unwrap_or(copied);
            kept.extend(old.by_ref().take(at.saturating_sub(copied)));
            copied = copied.max(at);
            now_at[position].push(kept.len());
            // Its outputs in `fresh` run from its mark to the next item's (or the end).
            let start = retried_marks
                .get(position)
                .and_then(|mark| mark.at.get(port).copied())
                .unwrap_or(fresh_len);
            let end = retried_marks
                .get(position + 1)
                .and_then(|mark| mark.at.get(port).copied())
                .unwrap_or(fresh_len);
            kept.extend(fresh.by_ref().take(end.saturating_sub(start)));
        }
        kept.extend(old);
    }
    for ((mark, at), retried) in pending.iter().zip(now_at).zip(&retried_marks) {
        if let Some(error) = &retried.error {
            still.push(ItemMark {
                item: mark.item,
                at,
                error: Some(error.clone()),
            });
        }
    }
    still
}

/// Runs `code` on a thread of its own (tokio's pool of blocking threads, of a runtime kept for
/// this), driven by the calling runtime: a node that blocks its thread (a `std::thread::sleep`,
/// CPU-heavy work) then holds only that thread, while the engine renews its lease, enforces
/// timeouts and runs the other nodes. Threads are reused from one node run to the next.
fn on_node_thread<F>(code: F) -> impl Future<Output = Result<F::Output, NodeError>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    /// Holds the pool of node threads; it drives no tasks of its own.
    static NODE_THREADS: LazyLock<Result<tokio::runtime::Runtime, String>> = LazyLock::new(|| {
        tokio::runtime::Builder::new_current_thread()
            .thread_name("hetumind-node")
            .build()
            .map_err(|error| error.to_string())
    });
    let engine = tokio::runtime::Handle::current();
    let spawned = NODE_THREADS
        .as_ref()
        .map(|threads| threads.spawn_blocking(move || engine.block_on(code)));
    async move {
        match spawned {
            Ok(handle) => handle.await.map_err(|error| {
                NodeError::terminal(format!("the node's thread ended abnormally: {error}"))
            }),
            Err(error) => Err(NodeError::terminal(format!(
                "cannot start a thread for the node: {error}"
            ))),
        }
    }
}
