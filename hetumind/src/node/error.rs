//! The error a node returns, and how the engine should treat it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a node failed, and whether running it again may help.
///
/// Any error type that converts into `NodeError` can be returned from a node function.
/// Plain strings and I/O errors convert too: strings become terminal errors, I/O errors
/// retryable ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct NodeError {
    kind: ErrorKind,
    message: String,
}

/// How the engine treats a [`NodeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Transient: retried according to the node's retry policy.
    Retryable,
    /// Permanent: never retried.
    Terminal,
    /// Transient, and the node knows when to try again (a rate limit, say); counts as an
    /// attempt of the retry policy.
    RetryAfter {
        /// The delay before the next attempt, in milliseconds.
        after_ms: u64,
    },
    /// Not a failure: the node asks to be run again at `until` (see [`Ctx::wait_until`]).
    ///
    /// [`Ctx::wait_until`]: crate::Ctx::wait_until
    Wait {
        /// When to run the node again.
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Not a failure: the node waits for a signal (a `resume_execution` request naming it),
    /// or until `timeout` when given (see [`Ctx::wait_for_signal`]).
    ///
    /// [`Ctx::wait_for_signal`]: crate::Ctx::wait_for_signal
    Signal {
        /// When to run the node again if no signal came.
        timeout: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl NodeError {
    /// A transient failure, retried according to the node's retry policy.
    pub fn retryable(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Retryable, message)
    }

    /// A permanent failure: the node is never retried.
    pub fn terminal(message: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Terminal, message)
    }

    /// A transient failure that should be retried after `delay`, not after the policy's delay.
    pub fn retry_after(delay: Duration, message: impl fmt::Display) -> Self {
        let after_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        Self::new(ErrorKind::RetryAfter { after_ms }, message)
    }

    /// Parks the node until `until`, when the engine runs it again. Nodes use it through
    /// [`Ctx::wait_until`](crate::Ctx::wait_until) and [`Ctx::wait_for`](crate::Ctx::wait_for).
    #[must_use]
    pub fn wait_until(until: chrono::DateTime<chrono::Utc>) -> Self {
        Self::new(ErrorKind::Wait { until }, format!("waiting until {until}"))
    }

    /// Parks the node until a signal, or until `timeout` when given. Nodes use it through
    /// [`Ctx::wait_for_signal`](crate::Ctx::wait_for_signal).
    #[must_use]
    pub fn wait_for_signal(timeout: Option<chrono::DateTime<chrono::Utc>>) -> Self {
        let message = match timeout {
            Some(timeout) => format!("waiting for a signal until {timeout}"),
            None => "waiting for a signal".to_owned(),
        };
        Self::new(ErrorKind::Signal { timeout }, message)
    }

    fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        Self {
            kind,
            message: message.to_string(),
        }
    }

    /// How the engine treats this error.
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether running the node again may succeed.
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Retryable | ErrorKind::RetryAfter { .. }
        )
    }

    /// This error with `context: ` put before its message, keeping its kind.
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Replaces every value of `secrets` in the message (see [`crate::secrets::redact`]).
    pub(crate) fn redact(&mut self, secrets: &[&crate::secrets::Secret]) {
        if let std::borrow::Cow::Owned(message) = crate::secrets::redact(&self.message, secrets) {
            self.message = message;
        }
    }
}

impl From<String> for NodeError {
    fn from(message: String) -> Self {
        Self::terminal(message)
    }
}

impl From<&str> for NodeError {
    fn from(message: &str) -> Self {
        Self::terminal(message)
    }
}

impl From<std::io::Error> for NodeError {
    fn from(error: std::io::Error) -> Self {
        Self::retryable(error)
    }
}

impl From<serde_json::Error> for NodeError {
    fn from(error: serde_json::Error) -> Self {
        Self::terminal(error)
    }
}

impl From<std::convert::Infallible> for NodeError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// What a panic said, from its payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned())
}
