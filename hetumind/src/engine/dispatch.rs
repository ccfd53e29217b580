//! Fan-out, from the coordinating side: what the execution's workers did with the nodes handed
//! out (their claims and batch outputs, surveyed once per invocation), and the tasks of a
//! `fan_out` answer, capped so that an answer stays far below Step Functions' 256 KiB payload
//! limit whatever the size of the workflow.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::EngineError;
use super::journal::from_json;
use super::schedule::Schedule;
use super::worker::{Claim, Ended};
use crate::model::{Dispatch, Task};
use crate::store::{ExecutionKeys, Part, StateStore};

/// The most bytes of tasks in one answer (as JSON). The rest come in the next round.
pub(super) const MAX_TASK_BYTES: usize = 64 * 1024;

/// The tasks of a `fan_out` answer.
#[derive(Debug, Default)]
pub(super) struct Tasks {
    pub(super) list: Vec<Task>,
    bytes: usize,
}

impl Tasks {
    /// Whether another task may join the answer.
    pub(super) fn has_room(&self) -> bool {
        self.bytes < MAX_TASK_BYTES
    }

    pub(super) fn push(&mut self, task: Task) {
        // A task's JSON: its name (escaped) and at most a batch's two numbers.
        self.bytes += serde_json::to_string(&task).map_or(MAX_TASK_BYTES, |json| json.len() + 1);
        self.list.push(task);
    }
}

/// What the workers did with one node's tasks.
#[derive(Debug, Default)]
pub(super) struct Workers {
    /// Batches whose output is stored.
    pub(super) done: HashSet<Part>,
    /// Tasks a live worker holds, until when.
    pub(super) held: HashMap<Part, DateTime<Utc>>,
    /// Tasks parked until a time: when, with which attempt, after which error.
    pub(super) waiting: HashMap<Part, (DateTime<Utc>, u32, Option<String>)>,
    /// A task failed for good: its attempt and error.
    pub(super) failed: Option<(u32, String)>,
}

/// What the workers did with the fan-out nodes of `schedule` not done yet, by node: one listing
/// of the claims (and of the batch outputs, when there are claims), then each claim of those
/// nodes read.
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
        let mut workers = Workers {
            done,
            ..Workers::default()
        };
        for (part, key) in claims {
            if workers.done.contains(&part) {
                continue;
            }
            let Some(stored) = store.get(key).await? else {
                continue;
            };
            let claim: Claim = from_json(key, &stored.bytes)?;
            if claim.is_held(now) {
                workers.held.insert(part, claim.until.unwrap_or(now));
                continue;
            }
            match claim.ended {
                Some(Ended::Failed { error }) => {
                    workers.failed = Some((claim.attempt, error));
                }
                Some(Ended::Waiting {
                    resume_at, error, ..
                }) => {
                    workers
                        .waiting
                        .insert(part, (resume_at, claim.attempt, error));
                }
                // Stored (and found by the restore), cut off, or its worker died: handed out
                // again if not done.
                Some(Ended::Succeeded | Ended::Interrupted { .. }) | None => {}
            }
        }
        found.insert(index, workers);
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
