//! Store calls bounded by the invocation's deadline: whatever the store's own retries and
//! timeouts, no call outlives the invocation. A call cut short is a retryable failure.

use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

use crate::BoxFuture;
use crate::store::{Condition, StateStore, StoreError, Stored, Version};

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
