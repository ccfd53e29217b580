//! `mem://`: an in-memory store for tests and benchmarks.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{Condition, StateStore, StoreError, Stored, Version};
use crate::BoxFuture;

/// An in-memory [`StateStore`] with the same conditional-write semantics as the durable ones.
#[derive(Debug, Default)]
pub struct MemStore {
    objects: Mutex<Objects>,
}

type Objects = HashMap<String, (Vec<u8>, u64), foldhash::fast::RandomState>;

impl MemStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Total bytes held, for tests and benchmarks.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.lock().values().map(|(bytes, _)| bytes.len()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Objects> {
        // A panic while holding the lock cannot leave the map half-updated: every operation
        // is a single insert or remove.
        self.objects
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StateStore for MemStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        let found = self.lock().get(key).map(|(bytes, version)| Stored {
            bytes: bytes.clone(),
            version: Version(version.to_string()),
        });
        Box::pin(std::future::ready(Ok(found)))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>> {
        let mut objects = self.lock();
        let current = objects.get(key).map(|(_, version)| *version);
        let result = match (&condition, current) {
            (Condition::Create, Some(_)) => Err(StoreError::Conflict {
                key: key.to_owned(),
            }),
            (Condition::Create, None) => Ok(1),
            (Condition::Match(_), None) => Err(StoreError::Missing {
                key: key.to_owned(),
            }),
            (Condition::Match(expected), Some(version)) if expected.0 == version.to_string() => {
                Ok(version + 1)
            }
            (Condition::Match(_), Some(_)) => Err(StoreError::Conflict {
                key: key.to_owned(),
            }),
        };
        let result = result.map(|version| {
            objects.insert(key.to_owned(), (bytes, version));
            Version(version.to_string())
        });
        Box::pin(std::future::ready(result))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let mut keys: Vec<String> = self
            .lock()
            .keys()
            .filter(|key| key.starts_with(prefix))
            .cloned()
            .collect();
        keys.sort_unstable();
        Box::pin(std::future::ready(Ok(keys)))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.lock().remove(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn locate(&self, key: &str) -> String {
        format!("mem://{key}")
    }
}
