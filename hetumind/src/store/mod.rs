//! State stores: where executions live. Small async interface, optimistic writes.

mod fs;
mod mem;
#[cfg(feature = "s3")]
mod s3;

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::Arc;

pub use fs::FsStore;
pub use mem::MemStore;
#[cfg(feature = "s3")]
pub use s3::S3Store;

use crate::BoxFuture;

/// A stored object's version, compared by conditional writes (an S3 ETag, a file's version
/// counter, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(pub String);

/// An object read from a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its version, for a following conditional write.
    pub version: Version,
}

/// The condition a write must meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The key must not exist (S3 `If-None-Match: *`).
    Create,
    /// The key must exist at this version (S3 `If-Match`).
    Match(Version),
}

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost a race: someone else wrote the key first.
    #[error("state conflict on `{key}`: another invocation changed it first")]
    Conflict {
        /// The key.
        key: String,
    },
    /// A conditional update found no object.
    #[error("`{key}` does not exist")]
    Missing {
        /// The key.
        key: String,
    },
    /// A transient failure: trying again later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A permanent failure.
    #[error("store error: {0}")]
    Other(String),
}

/// Where execution state lives. Implementations: [`MemStore`] (`mem://`), and the durable
/// file and S3 stores.
///
/// Keys are `/`-separated relative paths; every segment that comes from user input is encoded
/// with [`encode_segment`] by the caller.
pub trait StateStore: Send + Sync + fmt::Debug {
    /// Reads `key`.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Stored>, StoreError>>;

    /// Writes `key` if `condition` holds, returning the new version.
    fn put<'a>(
        &'a self,
        key: &'a str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> BoxFuture<'a, Result<Version, StoreError>>;

    /// Lists the keys starting with `prefix`, sorted.
    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;

    /// Deletes `key`; deleting a missing key is not an error.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Where `key` is, with the store's own location: `s3://bucket/prefix/{key}`,
    /// `file:///dir/{key}`, `mem://{key}`. For people and other tools, in responses and logs.
    fn locate(&self, key: &str) -> String;
}

/// The longest key segment written, in bytes. A file name holds 255 bytes, and the file store
/// adds up to 11 around the longest file name made of a segment (`.{segment}.json.lock` for
/// `workflows/{id}.json`); the limit leaves 10 more, and stays where it is because shortened
/// segments are part of stored keys. Two such segments in an output key take 502 bytes of
/// S3's 1,024, which leaves 522 for the store's prefix.
pub const MAX_SEGMENT_BYTES: usize = 234;

/// How a shortened segment ends: `.` (which encoded text never contains) and the 32 hex digits
/// of a 128-bit hash of the whole name.
const DIGEST_BYTES: usize = 33;

/// `segment` made safe as one key segment whatever it contains: ASCII letters, digits, `-` and
/// `_` stay, every other byte becomes `%XX`, so `/`, `..`, NUL and unicode cannot change
/// the key's structure. The empty string becomes `%`.
///
/// An encoding longer than [`MAX_SEGMENT_BYTES`] is shortened: the encoding of the longest
/// prefix of whole characters that fits, then `.` and the hex xxh3-128 hash of the whole
/// `segment`. Shortened segments are distinct from every other segment (only they contain
/// `.`) and from each other (by the hash), but cannot be decoded: keys are matched to names by
/// encoding the names.
#[must_use]
pub fn encode_segment(segment: &str) -> String {
    Segment(segment).to_string()
}

/// `segment`'s encoding, borrowed when it is its own (the common case, without the encoder's
/// per-chunk formatting).
fn encoded(segment: &str) -> Cow<'_, str> {
    if is_plain(segment) {
        Cow::Borrowed(segment)
    } else {
        Cow::Owned(encode_segment(segment))
    }
}

/// Whether `byte` stays as it is in a segment.
fn is_kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// How many bytes `text` takes percent-encoded.
fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| if is_kept(byte) { 1 } else { 3 })
        .sum()
}

/// Whether `segment` is its own encoding.
fn is_plain(segment: &str) -> bool {
    !segment.is_empty() && segment.len() <= MAX_SEGMENT_BYTES && segment.bytes().all(is_kept)
}

/// A key segment, encoded as it is written (see [`encode_segment`]).
struct Segment<'a>(&'a str);

impl fmt::Display for Segment<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KEEP: &percent_encoding::AsciiSet =
            &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_');
        if self.0.is_empty() {
            return f.write_str("%");
        }
        if encoded_len(self.0) <= MAX_SEGMENT_BYTES {
            return percent_encoding::utf8_percent_encode(self.0, KEEP).fmt(f);
        }
        // Cut at a character boundary, so that the readable part decodes on its own.
        let mut room = MAX_SEGMENT_BYTES - DIGEST_BYTES;
        let cut = self
            .0
            .char_indices()
            .find_map(|(at, char)| {
                let len = encoded_len(char.encode_utf8(&mut [0; 4]));
                match room.checked_sub(len) {
                    Some(left) => {
                        room = left;
                        None
                    }
                    None => Some(at),
                }
            })
            .unwrap_or(self.0.len());
        percent_encoding::utf8_percent_encode(&self.0[..cut], KEEP).fmt(f)?;
        write!(
            f,
            ".{:032x}",
            xxhash_rust::xxh3::xxh3_128(self.0.as_bytes())
        )
    }
}

/// Opens the store a URL names: `file://DIR` (relative or absolute), `mem://`, or
/// `s3://BUCKET/PREFIX`.
///
/// # Errors
///
/// When the URL is malformed or names a store this build cannot open.
pub fn open(url: &str) -> Result<Arc<dyn StateStore>, StoreError> {
    if let Some(dir) = url.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(StoreError::Other(format!(
                "`{url}`: a file store needs a directory, like `file://./.hetumind`"
            )));
        }
        Ok(Arc::new(FsStore::new(dir)))
    } else if url == "mem://" {
        Ok(Arc::new(MemStore::new()))
    } else if let Some(path) = url.strip_prefix("s3://") {
        open_s3(url, path)
    } else {
        Err(StoreError::Other(format!(
            "`{url}` is not a state store URL: use `file://DIR`, `s3://BUCKET/PREFIX` or `mem://`"
        )))
    }
}

#[cfg(feature = "s3")]
fn open_s3(_url: &str, path: &str) -> Result<Arc<dyn StateStore>, StoreError> {
    Ok(Arc::new(S3Store::from_url_path(path)?))
}

#[cfg(not(feature = "s3"))]
fn open_s3(url: &str, _path: &str) -> Result<Arc<dyn StateStore>, StoreError> {
    Err(StoreError::Other(format!(
        "`{url}`: this binary was built without the `s3` feature of `hetumind`"
    )))
}

/// Where an execution's node outputs live, under its prefix.
const OUTPUTS: &str = "/nodes/";
/// Where its fan-out tasks, their claims and batch outputs live.
const TASKS: &str = "/tasks/";
const CLAIMS: &str = "/claims/";
const PARTS: &str = "/parts/";

/// Which part of a node's work a fan-out task is: all of it, or one batch of its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// The whole node (`all` in keys).
    All,
    /// Batch `n` of its input, from 0.
    Batch(u32),
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Batch(index) => write!(f, "{index}"),
        }
    }
}

/// The keys of one execution.
#[derive(Debug, Clone)]
pub struct ExecutionKeys {
    prefix: String,
}

impl ExecutionKeys {
    /// The keys of execution `execution_id`.
    #[must_use]
    pub fn new(execution_id: &str) -> Self {
        Self {
            prefix: format!("executions/{}", Segment(execution_id)),
        }
    }

    /// `executions/{id}/`: everything of the execution.
    #[must_use]
    pub fn prefix(&self) -> String {
        format!("{}/", self.prefix)
    }

    /// `executions/{id}/workflow.json`: the definition the execution runs.
    #[must_use]
    pub fn workflow(&self) -> String {
        format!("{}/workflow.json", self.prefix)
    }

    /// `executions/{id}/input.json`: the items the start nodes receive, written once.
    #[must_use]
    pub fn input(&self) -> String {
        format!("{}/input.json", self.prefix)
    }

    /// `executions/{id}/nodes/`: every node output.
    #[must_use]
    pub fn outputs(&self) -> String {
        format!("{}{OUTPUTS}", self.prefix)
    }

    /// `executions/{id}/state.json`: the header and node states.
    #[must_use]
    pub fn state(&self) -> String {
        format!("{}/state.json", self.prefix)
    }

    /// `executions/{id}/nodes/{node}/{attempt}.json`: a node's output, written once.
    #[must_use]
    pub fn output(&self, node: &str, attempt: u32) -> String {
        use std::fmt::Write as _;
        let mut key = self.node_outputs(node);
        let _ = write!(key, "{attempt}.json");
        key
    }

    /// `executions/{id}/runs/`: the execution's history, one object per invocation that ran
    /// nodes (see [`InvocationRecord`](crate::model::InvocationRecord)).
    #[must_use]
    pub fn runs(&self) -> String {
        format!("{}/runs/", self.prefix)
    }

    /// `executions/{id}/runs/{invocation}.json`: the node runs invocation `invocation` made.
    #[must_use]
    pub fn run(&self, invocation: &str) -> String {
        format!("{}/runs/{}.json", self.prefix, encoded(invocation))
    }

    /// `executions/{id}/progress/{node}.json`: what a parked node's next run starts from
    /// (see [`ExecutionState::progress`](crate::model::ExecutionState::progress)).
    #[must_use]
    pub fn progress(&self, node: &str) -> String {
        format!("{}/progress/{}.json", self.prefix, encoded(node))
    }

    /// `executions/{id}/nodes/{node}/`: the outputs of one node (one, unless a store holds
    /// leftovers of a race).
    #[must_use]
    pub fn node_outputs(&self, node: &str) -> String {
        let node = encoded(node);
        let mut key = String::with_capacity(self.prefix.len() + node.len() + 20);
        key.push_str(&self.prefix);
        key.push_str(OUTPUTS);
        key.push_str(&node);
        key.push('/');
        key
    }

    /// Each node's result among `keys`, a listing of [`outputs`](Self::outputs) or
    /// [`node_outputs`](Self::node_outputs): its latest attempt and that output's key, found
    /// by node name with [`LatestOutputs::take`]. A store may hold an older attempt's output
    /// too (the leftover of a race); the latest attempt's output is the node's result. Keys
    /// that are not outputs of this execution are ignored.
    #[must_use]
    pub fn latest_outputs(&self, keys: impl IntoIterator<Item = String>) -> LatestOutputs {
        let mut latest = HashMap::new();
        for key in keys {
            let Some((node, attempt)) = self.parse_output(&key) else {
                continue;
            };
            match latest.entry(node.to_owned()) {
                Entry::Vacant(entry) => {
                    entry.insert((attempt, key));
                }
                Entry::Occupied(mut entry) if entry.get().0 < attempt => {
                    entry.insert((attempt, key));
                }
                Entry::Occupied(_) => {}
            }
        }
        LatestOutputs(latest)
    }

    /// The node segment and attempt of an output key of this execution; `None` for any other
    /// key.
    /// `executions/{id}/tasks/{node}/{part}.json`: what a coordinating invocation handed out
    /// for one fan-out task of a node (its definition and input), read by the worker.
    #[must_use]
    pub fn task(&self, node: &str, part: Part) -> String {
        format!("{}{TASKS}{}/{part}.json", self.prefix, encoded(node))
    }

    /// `executions/{id}/claims/{node}/{part}.json`: a worker's hold on one task of a node,
    /// then how its run ended.
    #[must_use]
    pub fn claim(&self, node: &str, part: Part) -> String {
        format!("{}{CLAIMS}{}/{part}.json", self.prefix, encoded(node))
    }

    /// The prefix of every claim of the execution.
    #[must_use]
    pub fn claims(&self) -> String {
        format!("{}{CLAIMS}", self.prefix)
    }

    /// `executions/{id}/parts/{node}/{batch}.json`: the output of one batch of a node whose
    /// input is split into batches.
    #[must_use]
    pub fn part(&self, node: &str, batch: u32) -> String {
        format!("{}{PARTS}{}/{batch}.json", self.prefix, encoded(node))
    }

    /// The prefix of every batch output of the execution.
    #[must_use]
    pub fn parts(&self) -> String {
        format!("{}{PARTS}", self.prefix)
    }

    /// The node segment and part of a key listed under [`claims`](Self::claims) or
    /// [`parts`](Self::parts): compare the segment with [`node_segment`](Self::node_segment).
    #[must_use]
    pub fn parse_listed<'k>(&self, key: &'k str) -> Option<(&'k str, Part)> {
        let rest = key.strip_prefix(&self.prefix)?;
        let rest = [CLAIMS, PARTS]
            .iter()
            .find_map(|dir| rest.strip_prefix(dir))?;
        let (node, file) = rest.split_once('/')?;
        let part = match file.strip_suffix(".json")? {
            "all" => Part::All,
            batch => Part::Batch(batch.parse().ok()?),
        };
        Some((node, part))
    }

    /// How a node's name appears in its keys.
    #[must_use]
    pub fn node_segment(node: &str) -> Cow<'_, str> {
        encoded(node)
    }

    fn parse_output<'k>(&self, key: &'k str) -> Option<(&'k str, u32)> {
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix(OUTPUTS)?;
        let (node, file) = rest.split_once('/')?;
        let attempt = file.strip_suffix(".json")?.parse().ok()?;
        Some((node, attempt))
    }
}

/// The latest output of each node in a listing, by the node's key segment: a shortened segment
/// cannot be decoded into a name, so names are encoded to find their outputs.
#[derive(Debug, Default)]
pub struct LatestOutputs(HashMap<String, (u32, String)>);

impl LatestOutputs {
    /// Removes and returns the latest attempt of node `node` and its output key, if listed.
    pub fn take(&mut self, node: &str) -> Option<(u32, String)> {
        self.0.remove(&*encoded(node))
    }

    /// Whether no output is left.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `workflows/{id}.json`: a stored workflow definition.
#[must_use]
pub fn workflow_key(workflow_id: &str) -> String {
    format!("workflows/{}.json", Segment(workflow_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_segments_stay_one_segment() {
        for hostile in [
            "..",
            ".",
            "../../etc/passwd",
            "/abs",
            "a/b",
            "nul\0byte",
            "",
            "é🙂",
            "%2F",
        ] {
            let encoded = encode_segment(hostile);
            assert!(!encoded.is_empty());
            assert!(
                encoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_%".contains(&b)),
                "{hostile:?} -> {encoded}"
            );
            let key = ExecutionKeys::new(hostile).output(hostile, 1);
            assert_eq!(key.matches('/').count(), 4, "{key}");
        }
        assert_eq!(encode_segment("plain-Name_1"), "plain-Name_1");
        assert_ne!(encode_segment("a b"), encode_segment("a%20b"));
    }

    #[test]
    fn long_segments_are_shortened_distinctly_within_the_limit() {
        let fits = "é".repeat(MAX_SEGMENT_BYTES / 6);
        assert_eq!(
            encode_segment(&fits),
            "%C3%A9".repeat(MAX_SEGMENT_BYTES / 6)
        );
        let prefix = "é/.".repeat(200);
        let names = [
            "a".repeat(MAX_SEGMENT_BYTES + 1),
            "é".repeat(MAX_SEGMENT_BYTES / 6 + 1),
            format!("{prefix}x"),
            format!("{prefix}y"),
            "🙂".repeat(512),
        ];
        let encoded: Vec<String> = names.iter().map(|name| encode_segment(name)).collect();
        for (name, segment) in names.iter().zip(&encoded) {
            assert!(segment.len() <= MAX_SEGMENT_BYTES, "{segment}");
            let (readable, digest) = segment.rsplit_once('.').expect("shortened");
            assert!(
                readable.len() > MAX_SEGMENT_BYTES - DIGEST_BYTES - 12,
                "{segment}"
            );
            assert_eq!(digest.len(), 32);
            // The readable part is the encoding of whole characters of the name.
            let decoded = percent_encoding::percent_decode_str(readable)
                .decode_utf8()
                .expect("whole characters");
            assert!(name.starts_with(&*decoded), "{segment}");
            let key = ExecutionKeys::new(name).output(name, 1);
            assert_eq!(key.matches('/').count(), 4, "{key}");
            assert!(!key.split('/').any(|part| part.starts_with('.')), "{key}");
        }
        let mut distinct = encoded.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len());
        // Names alike up to the cut share the readable part, the digest tells them apart.
        let readable = |segment: &String| {
            segment
                .split_once('.')
                .map(|(readable, _)| readable.to_owned())
        };
        assert_eq!(readable(&encoded[2]), readable(&encoded[3]));
    }

    #[test]
    fn output_keys_follow_the_layout() {
        let keys = ExecutionKeys::new("exec 1");
        assert_eq!(
            keys.output("Send Mail", 2),
            "executions/exec%201/nodes/Send%20Mail/2.json"
        );
        assert_eq!(
            keys.output("plain", 1),
            "executions/exec%201/nodes/plain/1.json"
        );
        assert_eq!(keys.state(), "executions/exec%201/state.json");
        assert_eq!(workflow_key("orders"), "workflows/orders.json");
    }

    #[test]
    fn the_latest_attempt_is_a_nodes_result() {
        let keys = ExecutionKeys::new("e");
        let listed = [
            keys.output("A", 1),
            keys.output("Send Mail", 3),
            keys.output("A", 10),
            keys.output("Send Mail", 2),
            keys.output("", 1),
            keys.output("../x", 1),
            keys.output(&"長".repeat(512), 4),
            keys.state(),
            ExecutionKeys::new("other").output("B", 1),
            "executions/e/nodes/A/not-a-number.json".to_owned(),
        ];
        let mut latest = keys.latest_outputs(listed);
        let long = "長".repeat(512);
        let found: Vec<_> = ["", "../x", &long, "A", "Send Mail", "B", "other"]
            .into_iter()
            .filter_map(|node| latest.take(node).map(|(attempt, key)| (node, attempt, key)))
            .collect();
        assert_eq!(
            found,
            [
                ("", 1, keys.output("", 1)),
                ("../x", 1, keys.output("../x", 1)),
                (&long, 4, keys.output(&long, 4)),
                ("A", 10, keys.output("A", 10)),
                ("Send Mail", 3, keys.output("Send Mail", 3)),
            ]
        );
        assert!(latest.is_empty());
    }
}
