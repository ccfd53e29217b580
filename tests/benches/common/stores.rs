//! What the store benchmarks share: a store that counts the traffic through it, and the stores
//! to measure on.

// Each benchmark reads the counts it reports.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hetumind::BoxFuture;
use hetumind::store::{Condition, FsStore, S3Store, StateStore, StoreError, Stored, Version};

#[path = "../../tests/support/moto.rs"]
mod support;

/// A store that counts the calls and bytes going through it.
#[derive(Debug)]
pub(crate) struct Counting {
    inner: Arc<dyn StateStore>,
    /// Bytes read: objects got, keys listed.
    pub(crate) read: AtomicU64,
    /// Bytes written.
    pub(crate) written: AtomicU64,
    /// Writes.
    pub(crate) writes: AtomicU64,
    /// Calls of any kind.
    pub(crate) calls: AtomicU64,
}

impl Counting {
    pub(crate) fn new(inner: Arc<dyn StateStore>) -> Self {
        Self {
            inner,
            read: AtomicU64::new(0),
            written: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            calls: AtomicU64::new(0),
        }
    }

    /// (bytes read, bytes written, calls) since the last call.
    pub(crate) fn take(&self) -> (u64, u64, u64) {
        self.writes.store(0, Ordering::Relaxed);
        (
            self.read.swap(0, Ordering::Relaxed),
            self.written.swap(0, Ordering::Relaxed),
            self.calls.swap(0, Ordering::Relaxed),
        )
    }
}

impl StateStore for Counting {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let stored = self.inner.get(key).await?;
            if let Some(stored) = &stored {
                self.read
                    .fetch_add(stored.bytes.len() as u64, Ordering::Relaxed);
            }
            Ok(stored)
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.inner.put(key, bytes, condition)
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            let keys = self.inner.list(prefix).await?;
            let listed: usize = keys.iter().map(String::len).sum();
            self.read.fetch_add(listed as u64, Ordering::Relaxed);
            Ok(keys)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.inner.delete(key)
    }

    fn locate(&self, key: &str) -> String {
        self.inner.locate(key)
    }
}

/// The stores to measure on: `file://` in `dir`, and, measuring fully, `s3://` on a moto
/// server in bucket `bucket`.
pub(crate) fn stores(
    full: bool,
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    bucket: &str,
) -> Vec<(&'static str, Arc<dyn StateStore>)> {
    let mut stores: Vec<(&str, Arc<dyn StateStore>)> = vec![("file", Arc::new(FsStore::new(dir)))];
    if full && let Some(moto) = support::moto() {
        runtime.block_on(moto.create_bucket(bucket));
        stores.push((
            "s3",
            Arc::new(S3Store::with_client(bucket, "bench", moto.client())),
        ));
    }
    stores
}
