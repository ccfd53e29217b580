//! The execution index: one row per execution (its workflow, status, trigger, times, error and
//! node counts), kept beside the state store so that executions can be listed and filtered
//! without reading the store.
//!
//! The store stays the source of truth. The engine writes a row when an execution starts and
//! at the end of every invocation that advances it, after the state is written; a row that
//! cannot be written is retried a few times within the invocation's deadline, then logged
//! (`tracing` warning) and counted ([`Observer::index_failed`](crate::engine::Observer::index_failed),
//! the `IndexWriteFailures` metric under Lambda), and the execution goes on as if there were
//! no index. `index rebuild` on the command line writes the table again from the store.
//!
//! Configured with `HETUMIND_INDEX=postgres://...` (see [`PostgresIndex`], behind the
//! `postgres` feature, on by default); without it there is no index, and `executions list`
//! walks the store instead.

#[cfg(feature = "postgres")]
mod postgres;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::BoxFuture;
use crate::model::{ExecutionState, ExecutionStatus, NodeState};
#[cfg(feature = "postgres")]
pub use postgres::PostgresIndex;

/// What the index keeps of one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// The execution's identifier.
    pub execution_id: String,
    /// The workflow it runs.
    pub workflow_id: String,
    /// Its status.
    pub status: ExecutionStatus,
    /// What started it (see [`ExecuteWorkflow::trigger`](crate::model::ExecuteWorkflow::trigger));
    /// `request` when the request named nothing.
    pub trigger: String,
    /// When it was created.
    pub started_at: DateTime<Utc>,
    /// When its state was last written.
    pub updated_at: DateTime<Utc>,
    /// When it ended, if it has.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The node that failed for good, if one did (the first by name when several did).
    pub failed_node: Option<String>,
    /// Where its nodes stand.
    pub nodes: NodeCounts,
}

/// How many of an execution's nodes stand where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeCounts {
    /// Nodes in the workflow.
    pub total: u32,
    /// Nodes whose output is stored.
    pub succeeded: u32,
    /// Nodes that failed for good.
    pub failed: u32,
    /// Nodes waiting for a time, a retry or a signal.
    pub waiting: u32,
    /// Nodes running (here or in a worker).
    pub running: u32,
    /// Nodes skipped (no input carried items).
    pub skipped: u32,
}

/// Where one node that has left `pending` stands, as [`NodeCounts`] counts it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Standing {
    Running,
    Waiting,
    Succeeded,
    Skipped,
    Failed,
}

impl NodeCounts {
    /// The counts of a workflow of `total` nodes whose nodes that have left `pending` stand as
    /// `states` say (as [`Engine::execution_state`](crate::engine::Engine::execution_state)
    /// lists them).
    #[must_use]
    pub fn of_states<'a>(total: usize, states: impl IntoIterator<Item = &'a NodeState>) -> Self {
        Self::tally(
            total,
            states.into_iter().map(|state| match state {
                NodeState::Running { .. } => Standing::Running,
                NodeState::Waiting { .. } => Standing::Waiting,
                NodeState::Success { .. } => Standing::Succeeded,
                NodeState::Skipped {} => Standing::Skipped,
                NodeState::Failed { .. } => Standing::Failed,
            }),
        )
    }

    /// The counts of a workflow of `total` nodes, those not pending standing as `standings`.
    pub(crate) fn tally(total: usize, standings: impl IntoIterator<Item = Standing>) -> Self {
        let mut counts = Self {
            total: saturate(total),
            ..Self::default()
        };
        for standing in standings {
            let count = match standing {
                Standing::Running => &mut counts.running,
                Standing::Waiting => &mut counts.waiting,
                Standing::Succeeded => &mut counts.succeeded,
                Standing::Skipped => &mut counts.skipped,
                Standing::Failed => &mut counts.failed,
            };
            *count += 1;
        }
        counts
    }
}

/// `n` as a `u32`, at most `u32::MAX`.
fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ExecutionRecord {
    /// The record of the execution whose state is `state`, its nodes counted as `nodes`.
    ///
    /// Times are kept to the microsecond, as PostgreSQL keeps them, so that a record read
    /// from the index equals the one made from the store.
    #[must_use]
    pub fn new(state: &ExecutionState, nodes: NodeCounts) -> Self {
        let created_at = state.created_at.trunc_subsecs(6);
        let updated_at = state.updated_at.trunc_subsecs(6);
        Self {
            execution_id: state.execution_id.clone(),
            workflow_id: state.workflow_id.clone(),
            status: state.status,
            trigger: state
                .trigger
                .clone()
                .unwrap_or_else(|| "request".to_owned()),
            started_at: created_at,
            updated_at,
            finished_at: state.status.is_finished().then_some(updated_at),
            error: state.error.clone(),
            failed_node: state.nodes.iter().find_map(|(name, node)| {
                matches!(node, NodeState::Failed { .. }).then(|| name.clone())
            }),
            nodes,
        }
    }
}

/// Which executions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionFilter {
    /// Only those of this status.
    pub status: Option<ExecutionStatus>,
    /// Only those of this workflow.
    pub workflow_id: Option<String>,
    /// Only those started at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only those started before this time.
    pub until: Option<DateTime<Utc>>,
    /// At most this many, the most recently started first.
    pub limit: Option<usize>,
}

impl ExecutionFilter {
    /// Whether `record` passes the filter (its limit aside).
    #[must_use]
    pub fn matches(&self, record: &ExecutionRecord) -> bool {
        self.status.is_none_or(|status| record.status == status)
            && self
                .workflow_id
                .as_ref()
                .is_none_or(|workflow| record.workflow_id == *workflow)
            && self.since.is_none_or(|since| record.started_at >= since)
            && self.until.is_none_or(|until| record.started_at < until)
    }

    /// Sorts `records` the most recently started first (by id among those started at the same
    /// time), keeps those that pass, and at most [`limit`](Self::limit) of them.
    #[must_use]
    pub fn apply(&self, mut records: Vec<ExecutionRecord>) -> Vec<ExecutionRecord> {
        records.retain(|record| self.matches(record));
        records
            .sort_by(|a, b| (b.started_at, &b.execution_id).cmp(&(a.started_at, &a.execution_id)));
        records.truncate(self.limit.unwrap_or(usize::MAX));
        records
    }
}

/// Why the index could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// The index's address is not one this build can use.
    #[error("invalid execution index address: {0}")]
    Config(String),
    /// The index could not be reached or refused the operation.
    #[error("execution index unavailable: {0}")]
    Unavailable(String),
    /// The index holds a row this version cannot read.
    #[error("execution index holds an unreadable row: {0}")]
    Corrupt(String),
}

/// An execution index (see the [module](self)).
pub trait ExecutionIndex: Send + Sync + fmt::Debug {
    /// Writes `record`, replacing the row of its execution unless that row was updated later.
    fn record<'a>(&'a self, record: &'a ExecutionRecord) -> BoxFuture<'a, Result<(), IndexError>>;

    /// The executions that pass `filter`, the most recently started first.
    fn list<'a>(
        &'a self,
        filter: &'a ExecutionFilter,
    ) -> BoxFuture<'a, Result<Vec<ExecutionRecord>, IndexError>>;

    /// Removes the row of `execution_id`, if there is one (the execution was deleted from
    /// the store).
    fn forget<'a>(&'a self, execution_id: &'a str) -> BoxFuture<'a, Result<(), IndexError>>;

    /// Replaces every row with `records`, at once for readers.
    fn replace_all<'a>(
        &'a self,
        records: &'a [ExecutionRecord],
    ) -> BoxFuture<'a, Result<(), IndexError>>;
}

/// The index an address names: `postgres://` or `postgresql://` (a libpq URL; `sslmode`
/// `disable`, `prefer` (the default) or `require`, TLS by rustls with the system's roots).
/// Nothing connects until the index is first used.
///
/// # Errors
///
/// When the address has another scheme, does not parse, or names PostgreSQL in a build
/// without the `postgres` feature.
pub fn from_url(url: &str) -> Result<std::sync::Arc<dyn ExecutionIndex>, IndexError> {
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    match scheme {
        #[cfg(feature = "postgres")]
        Some("postgres" | "postgresql") => Ok(std::sync::Arc::new(PostgresIndex::new(url)?)),
        #[cfg(not(feature = "postgres"))]
        Some("postgres" | "postgresql") => Err(IndexError::Config(
            "this build has no PostgreSQL support (the `postgres` feature of hetumind)".to_owned(),
        )),
        _ => Err(IndexError::Config(
            "expected a postgres:// or postgresql:// URL".to_owned(),
        )),
    }
}

/// How often a row is tried before it is given up, and the pause after each failed try.
pub(crate) const TRIES: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::ZERO,
];

/// The longest one try may take.
pub(crate) const TRY_TIMEOUT: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record(id: &str, workflow: &str, status: ExecutionStatus, minute: u32) -> ExecutionRecord {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 5, 10, minute, 0).unwrap();
        ExecutionRecord {
            execution_id: id.to_owned(),
            workflow_id: workflow.to_owned(),
            status,
            trigger: "request".to_owned(),
            started_at: at,
            updated_at: at,
            finished_at: None,
            error: None,
            failed_node: None,
            nodes: NodeCounts::default(),
        }
    }

    #[test]
    fn a_filter_keeps_what_matches_newest_first_up_to_its_limit() {
        let records = vec![
            record("a", "orders", ExecutionStatus::Success, 1),
            record("b", "orders", ExecutionStatus::Failed, 2),
            record("c", "billing", ExecutionStatus::Failed, 3),
            record("d", "orders", ExecutionStatus::Failed, 4),
        ];
        let ids = |filter: ExecutionFilter| -> Vec<String> {
            filter
                .apply(records.clone())
                .into_iter()
                .map(|record| record.execution_id)
                .collect()
        };
        assert_eq!(ids(ExecutionFilter::default()), ["d", "c", "b", "a"]);
        let failed_orders = ExecutionFilter {
            status: Some(ExecutionStatus::Failed),
            workflow_id: Some("orders".to_owned()),
            ..ExecutionFilter::default()
        };
        assert_eq!(ids(failed_orders), ["d", "b"]);
        let window = ExecutionFilter {
            since: Some(records[1].started_at),
            until: Some(records[3].started_at),
            limit: Some(1),
            ..ExecutionFilter::default()
        };
        assert_eq!(ids(window), ["c"]);
    }

    #[test]
    fn a_record_names_the_failed_node_and_the_end() {
        let mut state: ExecutionState = serde_json::from_value(serde_json::json!({
            "execution_id": "e", "workflow_id": "w", "status": "failed",
            "created_at": "2026-12-05T10:00:00Z", "updated_at": "2026-12-05T10:00:03Z",
            "error": "node `Charge` failed: declined",
            "nodes": { "Charge": { "status": "failed", "attempt": 3, "error": "declined" } }
        }))
        .unwrap();
        let counts = NodeCounts::of_states(4, state.nodes.values());
        let record = ExecutionRecord::new(&state, counts);
        assert_eq!(record.failed_node.as_deref(), Some("Charge"));
        assert_eq!(record.finished_at, Some(state.updated_at));
        assert_eq!(record.trigger, "request");
        assert_eq!((record.nodes.total, record.nodes.failed), (4, 1));
        state.status = ExecutionStatus::Waiting;
        state.trigger = Some("sqs".to_owned());
        let waiting = ExecutionRecord::new(&state, counts);
        assert_eq!(
            (waiting.finished_at, waiting.trigger.as_str()),
            (None, "sqs")
        );
    }

    #[test]
    fn only_postgres_addresses_are_taken() {
        for url in ["mysql://x", "postgres", "s3://bucket"] {
            assert!(matches!(from_url(url), Err(IndexError::Config(_))), "{url}");
        }
    }
}
