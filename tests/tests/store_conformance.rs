//! One conformance suite for every state store: reads, conditional creates and updates,
//! listing, deletion, and races between concurrent writers. `mem://` and `file://` run here;
//! the S3 store runs the same functions against a real S3-compatible server.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hetumind::store::{Condition, FsStore, MemStore, S3Store, StateStore, StoreError, Version};

#[path = "support/moto.rs"]
mod support;

async fn conformance(store: Arc<dyn StateStore>) {
    reads_and_conditional_writes(&*store).await;
    listing_and_deletion(&*store).await;
    racing_writers(Arc::clone(&store)).await;
}

async fn reads_and_conditional_writes(store: &dyn StateStore) {
    let key = "executions/e1/state.json";
    assert_eq!(store.get(key).await.unwrap(), None);

    let v1 = store
        .put(key, b"one".to_vec(), Condition::Create)
        .await
        .unwrap();
    let stored = store.get(key).await.unwrap().unwrap();
    assert_eq!(
        (stored.bytes.as_slice(), &stored.version),
        (&b"one"[..], &v1)
    );
    assert!(matches!(
        store.put(key, b"again".to_vec(), Condition::Create).await,
        Err(StoreError::Conflict { .. })
    ));

    let v2 = store
        .put(key, b"two".to_vec(), Condition::Match(v1.clone()))
        .await
        .unwrap();
    assert_ne!(v1, v2);
    assert!(matches!(
        store
            .put(key, b"stale".to_vec(), Condition::Match(v1))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.get(key).await.unwrap().unwrap().bytes, b"two");
    assert!(matches!(
        store
            .put(
                "executions/e1/missing.json",
                b"x".to_vec(),
                Condition::Match(v2)
            )
            .await,
        Err(StoreError::Missing { .. })
    ));
    // Empty and large objects round-trip.
    store
        .put("executions/e1/empty.json", Vec::new(), Condition::Create)
        .await
        .unwrap();
    assert_eq!(
        store
            .get("executions/e1/empty.json")
            .await
            .unwrap()
            .unwrap()
            .bytes,
        b""
    );
    let large = vec![b'x'; 3 * 1024 * 1024];
    store
        .put("executions/e1/large.json", large.clone(), Condition::Create)
        .await
        .unwrap();
    assert_eq!(
        store
            .get("executions/e1/large.json")
            .await
            .unwrap()
            .unwrap()
            .bytes,
        large
    );
}

async fn listing_and_deletion(store: &dyn StateStore) {
    for key in [
        "executions/e2/nodes/B/1.json",
        "executions/e2/nodes/A/2.json",
        "executions/e2/nodes/A/1.json",
        "executions/e20/nodes/A/1.json",
        "executions/e2/state.json",
    ] {
        store
            .put(key, b"{}".to_vec(), Condition::Create)
            .await
            .unwrap();
    }
    assert_eq!(
        store.list("executions/e2/nodes/").await.unwrap(),
        [
            "executions/e2/nodes/A/1.json",
            "executions/e2/nodes/A/2.json",
            "executions/e2/nodes/B/1.json"
        ]
    );
    assert_eq!(store.list("executions/e2/").await.unwrap().len(), 4);
    assert!(store.list("executions/nothing/").await.unwrap().is_empty());

    store.delete("executions/e2/nodes/A/1.json").await.unwrap();
    store.delete("executions/e2/nodes/A/1.json").await.unwrap();
    assert_eq!(
        store.get("executions/e2/nodes/A/1.json").await.unwrap(),
        None
    );
    // A deleted key can be created again.
    store
        .put(
            "executions/e2/nodes/A/1.json",
            b"{}".to_vec(),
            Condition::Create,
        )
        .await
        .unwrap();
}

async fn racing_writers(store: Arc<dyn StateStore>) {
    // Twenty writers create the same key: exactly one wins.
    let creates = (0..20).map(|writer| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .put(
                    "executions/race/state.json",
                    vec![writer],
                    Condition::Create,
                )
                .await
        })
    });
    let results = futures_join(creates).await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);
    let base = store
        .get("executions/race/state.json")
        .await
        .unwrap()
        .unwrap()
        .version;

    // Twenty writers update from the same version: exactly one wins, nothing else is written.
    let updates = (0..20).map(|writer| {
        let store = Arc::clone(&store);
        let base: Version = base.clone();
        tokio::spawn(async move {
            store
                .put(
                    "executions/race/state.json",
                    vec![100 + writer],
                    Condition::Match(base),
                )
                .await
                .map(|_| writer)
        })
    });
    let results = futures_join(updates).await;
    let winners: Vec<u8> = results.into_iter().filter_map(Result::ok).collect();
    assert_eq!(winners.len(), 1);
    let stored = store
        .get("executions/race/state.json")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.bytes, [100 + winners[0]]);
}

async fn futures_join<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await.unwrap());
    }
    results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mem_store_conforms() {
    conformance(Arc::new(MemStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fs_store_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(Arc::new(FsStore::new(dir.path().join("state")))).await;
}

#[tokio::test]
async fn fs_store_refuses_keys_that_could_escape_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path().join("state"));
    for key in [
        "../escape",
        "a/../../b",
        "/etc/passwd",
        "a//b",
        "",
        "a/.hidden",
        "a\0b",
        "é",
    ] {
        let error = store
            .put(key, b"x".to_vec(), Condition::Create)
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("invalid store key"),
            "{key:?}: {error}"
        );
        assert!(store.get(key).await.is_err(), "{key:?}");
    }
    assert!(!dir.path().join("escape").exists());
}

/// The names of the file store's temporary files in `dir`.
fn temporary_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[tokio::test]
async fn fs_store_leaves_no_temporary_or_lock_files_in_listings() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    let v = store
        .put("k/state.json", b"1".to_vec(), Condition::Create)
        .await
        .unwrap();
    store
        .put("k/state.json", b"2".to_vec(), Condition::Match(v))
        .await
        .unwrap();
    assert_eq!(store.list("k/").await.unwrap(), ["k/state.json"]);
    let names = temporary_files(&dir.path().join("k"));
    assert!(names.is_empty(), "{names:?}");
}

#[tokio::test]
async fn fs_store_takes_over_the_temporary_file_a_killed_writer_left() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    // A writer killed between creating its temporary file and renaming it.
    std::fs::create_dir_all(dir.path().join("k")).unwrap();
    std::fs::write(dir.path().join("k/.state.json.tmp"), b"half a wr").unwrap();
    store
        .put("k/state.json", b"1".to_vec(), Condition::Create)
        .await
        .unwrap();
    assert_eq!(
        store.get("k/state.json").await.unwrap().unwrap().bytes,
        b"1"
    );
    let names = temporary_files(&dir.path().join("k"));
    assert!(names.is_empty(), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_store_conforms() {
    let Some(moto) = support::moto() else { return };
    moto.create_bucket("conformance").await;
    conformance(Arc::new(S3Store::with_client(
        "conformance",
        "under/a/prefix",
        moto.client(),
    )))
    .await;
    // The prefix is part of every key, and listing strips it again.
    let objects = moto
        .client()
        .list_objects_v2()
        .bucket("conformance")
        .send()
        .await
        .unwrap();
    assert!(
        objects
            .contents()
            .iter()
            .all(|object| object.key().unwrap().starts_with("under/a/prefix/"))
    );
}
