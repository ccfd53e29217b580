//! Nodes used by the process-level tests (crash and race), linked into the test binaries in
//! `src/bin`.

use std::io::Write;
use std::time::Duration;

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The parameters of `test.record`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RecordParams {
    /// The file every run appends a line to.
    pub log: String,
    /// The longest random pause before recording, in milliseconds.
    #[serde(default)]
    pub pause_ms: u64,
    /// A fixed pause added to the random one, in milliseconds.
    #[serde(default)]
    pub fixed_ms: u64,
}

/// What `test.record` emits.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Record {
    /// The token of the run that produced this item.
    pub token: String,
}

/// Pauses a random while, then appends `{node} {token}` to a log file and emits the token: a
/// run of a node whose result is later stored is the one whose token the store holds.
#[node(kind = "test.record")]
pub async fn record(
    Params(p): Params<RecordParams>,
    Items(_inputs): Items<serde_json::Value>,
    ctx: Ctx,
) -> Result<Record, NodeError> {
    let pause = if p.pause_ms == 0 {
        0
    } else {
        random_below(p.pause_ms)
    };
    tokio::time::sleep(Duration::from_millis(p.fixed_ms + pause)).await;
    let token = format!("{}-{}", ctx.idempotency_key(), std::process::id());
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p.log)?;
    // One write, so that a process killed mid-record leaves no torn line.
    log.write_all(format!("{} {token}\n", ctx.node_name()).as_bytes())?;
    Ok(Record { token })
}

/// A pseudo-random number below `bound` (xorshift, seeded from the clock once per thread):
/// good enough to scatter pauses, kills and faults.
pub fn random_below(bound: u64) -> u64 {
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(7, |elapsed| u64::from(elapsed.subsec_nanos()) | 1),
        );
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x % bound.max(1)
    })
}

/// The workflow in the JSON file at `path`, for the test binaries; the error names the file.
///
/// # Errors
///
/// When the file cannot be read or is not a workflow.
pub fn read_workflow(path: &str) -> Result<hetumind::Workflow, String> {
    std::fs::read(path)
        .map_err(|error| error.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|error| error.to_string()))
        .map_err(|error| format!("{path}: {error}"))
}

/// The registry of the nodes linked in, and the store `url` names, for the test binaries.
///
/// # Errors
///
/// When two nodes share a kind and version, or the URL names no store.
pub fn registry_and_store(
    url: &str,
) -> Result<
    (
        &'static hetumind::Registry,
        std::sync::Arc<dyn hetumind::store::StateStore>,
    ),
    String,
> {
    let registry = hetumind::Registry::global().map_err(ToString::to_string)?;
    let store = hetumind::store::open(url).map_err(|error| error.to_string())?;
    Ok((registry, store))
}

/// The `json` of every output item a response carries inline.
///
/// # Panics
///
/// When the response carries no inline output (it finished with none, or by reference).
#[must_use]
pub fn output_jsons(response: &hetumind::model::Response) -> Vec<serde_json::Value> {
    response
        .output_data
        .as_ref()
        .expect("the response carries its output inline")
        .iter()
        .map(|item| item.json.clone())
        .collect()
}

/// Passes every item on unchanged.
#[node(kind = "test.echo")]
pub async fn echo(
    Items(items): Items<serde_json::Value>,
) -> Result<Vec<serde_json::Value>, NodeError> {
    Ok(items)
}

/// Emits its parameters as its one item (for expressions that the engine resolves into them).
#[node(kind = "test.say")]
pub async fn say(Params(said): Params<serde_json::Value>) -> Result<serde_json::Value, NodeError> {
    Ok(said)
}

/// Sleeps `ms` milliseconds per call, then passes the item on.
#[node(kind = "test.sleep")]
pub async fn sleep(
    Params(ms): Params<u64>,
    Item(value): Item<serde_json::Value>,
) -> Result<serde_json::Value, NodeError> {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(value)
}

/// Fails for good, naming the item.
#[node(kind = "test.fail")]
pub async fn fail(Item(value): Item<serde_json::Value>) -> Result<serde_json::Value, NodeError> {
    Err(NodeError::terminal(format!("cannot handle {value}")))
}

/// Waits `seconds` after it first started, durably, then passes its items on.
#[node(kind = "test.wait")]
pub async fn wait(
    Params(seconds): Params<u64>,
    Items(items): Items<serde_json::Value>,
    ctx: &Ctx,
) -> Result<Vec<serde_json::Value>, NodeError> {
    ctx.wait_for(Duration::from_secs(seconds))?;
    Ok(items)
}

/// Waits for a signal (at most `seconds` after it first started, when given), durably, then
/// passes its items on: the signal's, when it brought some.
#[node(kind = "test.signal")]
pub async fn signal(
    Params(seconds): Params<Option<u64>>,
    Items(items): Items<serde_json::Value>,
    ctx: &Ctx,
) -> Result<Vec<serde_json::Value>, NodeError> {
    let timeout = seconds
        .map(|seconds| ctx.after_start(Duration::from_secs(seconds)))
        .transpose()?;
    ctx.wait_for_signal(timeout)?;
    Ok(items)
}

/// The parameters of `test.block`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct BlockParams {
    /// How long the node blocks its thread, in milliseconds.
    pub ms: u64,
    /// The file every run appends `{node} start|end {microseconds since the epoch}` to.
    pub log: String,
}

/// Blocks its thread (`std::thread::sleep`, as careless or CPU-heavy node code does) between
/// two lines it appends to a log, then passes its item on.
#[node(kind = "test.block")]
pub async fn block(
    Params(p): Params<BlockParams>,
    Item(value): Item<serde_json::Value>,
    ctx: Ctx,
) -> Result<serde_json::Value, NodeError> {
    let stamp = |what: &str| -> std::io::Result<()> {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_micros());
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p.log)?;
        log.write_all(format!("{} {what} {micros}\n", ctx.node_name()).as_bytes())
    };
    stamp("start")?;
    std::thread::sleep(Duration::from_millis(p.ms));
    stamp("end")?;
    Ok(value)
}

/// Fails its first attempt (retryably), then passes its items on: a node run with one retry.
#[node(kind = "test.fails_once")]
pub async fn fails_once(
    Items(items): Items<serde_json::Value>,
    ctx: &Ctx,
) -> Result<Vec<serde_json::Value>, NodeError> {
    if ctx.attempt() == 1 {
        return Err(NodeError::retryable("the first attempt fails"));
    }
    Ok(items)
}
