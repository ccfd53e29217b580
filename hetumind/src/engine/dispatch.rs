//! Fan-out, from the coordinating side: what the execution's workers did with the nodes handed
//! out (their claims and batch outputs, surveyed once per invocation), and the tasks of a
//! `fan_out` answer, capped so that an answer stays far below Step Functions' 256 KiB payload
//! limit whatever the size of the workflow.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, TryStreamExt, stream};

use super::EngineError;
use super::journal::{IN_FLIGHT, from_json};
use super::schedule::Schedule;
use super::worker::{Claim, Ended};
use crate::model::{Dispatch, Task};
use crate::store::{Condition, ExecutionKeys, Part, StateStore, StoreError};

/// The most bytes of tasks in one answer (as JSON), without the specifications they carry:
/// as many tasks as that holds are handed out in one round. The rest come in the next round.
pub(super) const MAX_TASK_BYTES: usize = 64 * 1024;

/// The most bytes of tasks in one answer with the specifications they carry inline: room left
/// by the tasks themselves takes specifications, the tasks' own order first.
pub(super) const MAX_ANSWER_BYTES: usize = 128 * 1024;

/// The largest task specification (as JSON) a task carries inline, when the answer has room
/// for it; a larger one is stored for the worker to read.
pub(super) const MAX_INLINE_SPEC_BYTES: usize = 4 * 1024;

/// How many bytes of task specifications wait to be written before they are written right
/// away rather than all together at the end of the round.
const UNWRITTEN_BYTES: usize = 16 * 1024 * 1024;

/// The tasks of a `fan_out` answer, and the specifications not yet carried or written.
#[derive(Debug, Default)]
pub(super) struct Tasks {
    pub(super) list: Vec<Task>,
    /// The bytes of `list` as JSON, with no specification carried.
    bytes: usize,
    /// Specifications of tasks of `list` (by index) still to carry inline or write (at a key).
    unwritten: Vec<(usize, String, Vec<u8>)>,
    unwritten_bytes: usize,
}

impl Tasks {
    /// Whether another task may join the answer.
    pub(super) fn has_room(&self) -> bool {
        self.bytes < MAX_TASK_BYTES
    }

    /// Adds `task` to the answer, with its specification `spec`, stored at `key` unless
    /// the answer carries it (see [`Tasks::write`]).
    pub(super) async fn push(
        &mut self,
        task: Task,
        key: String,
        spec: Vec<u8>,
        store: &dyn StateStore,
    ) -> Result<(), EngineError> {
        // A task's JSON: its name (escaped), at most a batch's two numbers, a null spec.
        self.bytes += serde_json::to_string(&task).map_or(MAX_TASK_BYTES, |json| json.len() + 1);
        self.unwritten_bytes += spec.len();
        self.unwritten.push((self.list.len(), key, spec));
        self.list.push(task);
        if self.unwritten_bytes > UNWRITTEN_BYTES {
            // Too much to hold: written now, and carried by none.
            store_specs(std::mem::take(&mut self.unwritten), store).await?;
            self.unwritten_bytes = 0;
        }
        Ok(())
    }

    /// Settles the specifications of the tasks handed out so far: small ones are carried
    /// inline, in order, while the answer stays within [`MAX_ANSWER_BYTES`]; the rest are
    /// written, several at once.
    pub(super) async fn write(&mut self, store: &dyn StateStore) -> Result<(), EngineError> {
        let mut bytes = self.bytes;
        let mut rest = Vec::new();
        for (index, key, spec) in std::mem::take(&mut self.unwritten) {
            // In place of the `null` written when it carries none.
            let more = spec.len().saturating_sub("null".len());
            if spec.len() <= MAX_INLINE_SPEC_BYTES
                && bytes + more <= MAX_ANSWER_BYTES
                && let Ok(value) = serde_json::from_slice(&spec)
            {
                self.list[index].spec = Some(value);
                bytes += more;
            } else {
                rest.push((index, key, spec));
            }
        }
        self.unwritten_bytes = 0;
        store_specs(rest, store).await
    }
}

/// Writes task specifications (with their keys), several at once, each create-only: a task
/// handed out before (in a round that did not finish it) stands.
async fn store_specs(
    specs: Vec<(usize, String, Vec<u8>)>,
    store: &dyn StateStore,
) -> Result<(), EngineError> {
    stream::iter(specs)
        .map(|(_, key, spec)| async move {
            match store.put(&key, spec, Condition::Create).await {
                Ok(_) | Err(StoreError::Conflict { .. }) => Ok(()),
                Err(error) => Err(EngineError::from(error)),
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await
}

/// What the workers did with one node's tasks.
#[derive(Debug, Default)]
pub(super) struct Workers {
    /// Batches whose output is stored.
    pub(super) done: HashSet<Part>,
    /// Tasks a live worker holds, until when.
    pub(super) held: HashMap<Part, DateTime<Utc>>,
    /// Tasks parked until a time: when, with which attempt, after which error.
    pub(super) waiting: HashMap<Part, Parked>,
    /// A task failed for good: its attempt and error.
    pub(super) failed: Option<(u32, String)>,
    /// When the node first started, by the earliest claim that says so.
    pub(super) started: Option<DateTime<Utc>>,
}

/// How a node waits: parked by a worker, or by this invocation.
#[derive(Debug, Clone)]
pub(super) struct Parked {
    /// When it runs again (for a signal wait, when the wait times out).
    pub(super) until: DateTime<Utc>,
    /// The attempt it runs with then.
    pub(super) attempt: u32,
    /// The error that caused a retry wait, if any.
    pub(super) error: Option<String>,
    /// Whether it waits for a signal.
    pub(super) signal: bool,
}

/// What the workers did with the fan-out nodes of `schedule` not done yet, by node: one listing
/// of the claims (and of the batch outputs, when there are claims), then the claims of those
/// nodes read, several at once.
pub(super) async fn survey(
    store: &dyn StateStore,
    keys: &ExecutionKeys,
    schedule: &Schedule<'_>,
    now: DateTime<Utc>,
) -> Result<HashMap<usize, Workers>, EngineError> {
    let claims = store.list(&keys.claims()).await?;
    if claims.is_empty() {
        return Ok(HashMap::new());
    }
    let parts = store.list(&keys.parts()).await?;
    let mut listed: HashMap<&str, Listed<'_>> = HashMap::new();
    for key in &claims {
        if let Some((node, part)) = keys.parse_listed(key) {
            listed.entry(node).or_default().claims.push((part, key));
        }
    }
    for key in &parts {
        if let Some((node, part)) = keys.parse_listed(key) {
            listed.entry(node).or_default().done.insert(part);
        }
    }
    let plan = schedule.plan();
    let mut found = HashMap::new();
    // The claims to read: of which node, which part.
    let mut unread: Vec<(usize, Part, &str)> = Vec::new();
    for (index, node) in plan.nodes().iter().enumerate() {
        if listed.is_empty() {
            break;
        }
        if node.dispatch != Dispatch::FanOut || schedule.phase(index).is_done() {
            continue;
        }
        let Some(Listed { claims, done }) =
            listed.remove(&*ExecutionKeys::node_segment(&node.name))
        else {
            continue;
        };
        unread.extend(
            claims
                .into_iter()
                .filter(|(part, _)| !done.contains(part))
                .map(|(part, key)| (index, part, key)),
        );
        found.insert(
            index,
            Workers {
                done,
                ..Workers::default()
            },
        );
    }
    // Owned keys: a stream over borrowed ones makes the invocation's future not `Send`.
    let unread_keys: Vec<String> = unread.iter().map(|(.., key)| (*key).to_owned()).collect();
    let read: Vec<Option<Claim>> = stream::iter(unread_keys)
        .map(|key| async move {
            match store.get(&key).await? {
                Some(stored) => from_json(&key, &stored.bytes).map(Some),
                None => Ok(None),
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    for ((index, part, _), claim) in unread.into_iter().zip(read) {
        let (Some(claim), Some(workers)) = (claim, found.get_mut(&index)) else {
            continue;
        };
        if let Some(at) = claim.started_at {
            workers.started = Some(workers.started.map_or(at, |started| started.min(at)));
        }
        if claim.is_held(now) {
            workers.held.insert(part, claim.until.unwrap_or(now));
            continue;
        }
        match claim.ended {
            Some(Ended::Failed { error }) => {
                workers.failed = Some((claim.attempt, error));
            }
            Some(Ended::Waiting {
                resume_at,
                signal,
                error,
                ..
            }) => {
                workers.waiting.insert(
                    part,
                    Parked {
                        until: resume_at,
                        attempt: claim.attempt,
                        error,
                        signal,
                    },
                );
            }
            // Stored (and found by the restore), cut off, or its worker died: handed out
            // again if not done.
            Some(Ended::Succeeded | Ended::Interrupted { .. }) | None => {}
        }
    }
    Ok(found)
}

/// One node's listed claims and stored batches.
#[derive(Default)]
struct Listed<'k> {
    claims: Vec<(Part, &'k str)>,
    done: HashSet<Part>,
}

/// How many batches of `size` items `items` make.
pub(super) fn batch_count(items: usize, size: u32) -> u32 {
    let size = usize::try_from(size).unwrap_or(usize::MAX).max(1);
    u32::try_from(items.div_ceil(size)).unwrap_or(u32::MAX)
}
