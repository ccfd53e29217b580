//! Store calls bounded by the invocation's deadline: whatever the store's own retries and
//! timeouts, no call outlives the invocation. A call cut short is a retryable failure.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::EngineOptions;
use crate::BoxFuture;
use crate::store::{Condition, StateStore, StoreError, Stored, Version};
use crate::time::saturating_add;

/// When an invocation stops starting things, and when it interrupts what still runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// No node (or retry) starts after this instant.
    pub(super) start_until: Option<Instant>,
    /// Running nodes are interrupted at this instant.
    pub(super) hard_end: Option<Instant>,
}

impl Budget {
    /// The budget of an invocation with `deadline` (none: `options.max_invocation` from now,
    /// if set). A deadline already past (as some local emulators send) means "no deadline".
    pub(super) fn new(options: &EngineOptions, deadline: Option<Instant>) -> Self {
        let now = Instant::now();
        let deadline = deadline.filter(|deadline| *deadline > now).or_else(|| {
            options
                .max_invocation
                .and_then(|budget| now.checked_add(budget)?.checked_add(options.safety_margin))
        });
        Self {
            start_until: deadline
                .map(|deadline| deadline.checked_sub(options.safety_margin).unwrap_or(now)),
            hard_end: deadline.map(|deadline| {
                deadline
                    .checked_sub(options.safety_margin / 2)
                    .unwrap_or(now)
            }),
        }
    }

    /// Whether something may still start now.
    pub(super) fn may_start(&self) -> bool {
        self.start_until.is_none_or(|end| Instant::now() < end)
    }
}

/// How long a hold (an execution's lease, a worker's claim) taken now lasts, and when to
/// renew it: until the invocation's `hard_end` when there is one, never renewed; else `lease`
/// from `now`, renewed after a third of it (never, when that is beyond the clock's range).
pub(super) fn lease_term(
    hard_end: Option<Instant>,
    lease: Duration,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, Option<Instant>) {
    let hold = match hard_end {
        Some(end) => end.saturating_duration_since(Instant::now()),
        None => lease,
    };
    let renew_at = hard_end
        .is_none()
        .then(|| Instant::now().checked_add(lease / 3))
        .flatten();
    (saturating_add(now, hold), renew_at)
}

/// A store whose every call ends by `until`.
#[derive(Debug)]
pub(super) struct BudgetedStore {
    pub(super) inner: Arc<dyn StateStore>,
    pub(super) until: Instant,
}

impl BudgetedStore {
    fn bounded<'a, T: 'a>(
        &self,
        what: &'a str,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        let until = self.until;
        Box::pin(async move {
            tokio::time::timeout_at(until, call)
                .await
                .unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(format!(
                        "`{what}`: the store did not answer within the invocation's deadline"
                    )))
                })
        })
    }
}

impl StateStore for BudgetedStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        self.bounded(key, self.inner.get(key))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        self.bounded(key, self.inner.put(key, bytes, condition))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.bounded(prefix, self.inner.list(prefix))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.bounded(key, self.inner.delete(key))
    }

    fn locate(&self, key: &str) -> String {
        self.inner.locate(key)
    }
}
