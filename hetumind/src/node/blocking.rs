//! Blocking work inside a node.

use super::NodeError;
use super::error::panic_message;

/// Runs blocking work (a synchronous client's call, a file read, CPU-heavy computation) on a
/// thread of tokio's blocking pool and waits for it, so that the node's own async work goes on
/// meanwhile. A panic in `work` fails the node for good, with the panic's message.
///
/// Node code always runs on a thread of its own, so a node that blocks (this function or not)
/// never holds up the engine: its lease is renewed, its `timeout_ms` is enforced and the nodes
/// beside it run. What blocking costs is that thread: an each-item node handles its items one
/// after another, so a blocking call per item adds up, and a node past its timeout keeps its
/// thread busy until its code returns (its result is then discarded). Use this function when a
/// node awaits other things concurrently with the blocking work, such as a timer or requests
/// joined together.
///
/// ```
/// use hetumind::prelude::*;
///
/// /// Counts the lines of a file.
/// #[node(kind = "doc.count_lines")]
/// async fn count_lines(Item(path): Item<String>) -> Result<usize, NodeError> {
///     let text = hetumind::blocking(move || std::fs::read_to_string(path)).await??;
///     Ok(text.lines().count())
/// }
/// ```
///
/// # Errors
///
/// When `work` panics, or the runtime is shutting down.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NodeError> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        if error.is_panic() {
            let message = panic_message(&*error.into_panic());
            NodeError::terminal(format!("blocking work panicked: {message}"))
        } else {
            NodeError::terminal(format!("blocking work did not finish: {error}"))
        }
    })
}
