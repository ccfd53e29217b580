//! Time and chance, injectable so that waits, retries and jitter are tested exactly: the
//! wall clock nodes and the engine read, and the randomness of retry jitter. Sleeping and
//! deadlines use tokio's clock, which tests pause and advance.

use std::fmt;

use chrono::{DateTime, Utc};

/// The source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Waits until this clock reads `at` (at once when it already does). The default sleeps on
    /// tokio's clock; a test clock may jump instead.
    fn sleep_until(&self, at: DateTime<Utc>) -> crate::BoxFuture<'_, ()> {
        let delay = (at - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(delay))
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a fixed time and advances with tokio's clock: under a paused tokio
/// runtime (`tokio::time::pause`) it moves only when time is advanced, so tests are exact.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `base` now.
    #[must_use]
    pub fn starting_at(base: DateTime<Utc>) -> Self {
        Self {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.start.elapsed();
        saturating_add(self.base, elapsed)
    }
}

/// `at` plus `by`, or the latest time there is when that is beyond it: a wait, retry delay or
/// lease of any length never overflows into a panic.
pub(crate) fn saturating_add(at: DateTime<Utc>, by: std::time::Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(by)
        .ok()
        .and_then(|by| at.checked_add_signed(by))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The source of randomness for retry jitter: a number in `[0, 1)`.
pub trait Random: Send + Sync + fmt::Debug {
    /// A uniformly distributed number in `[0, 1)`.
    fn unit(&self) -> f64;
}

/// Randomness from a fast non-cryptographic generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct FastRandom;

impl Random for FastRandom {
    fn unit(&self) -> f64 {
        fastrand::f64()
    }
}

/// The same number every time, for exact tests.
#[derive(Debug, Clone, Copy)]
pub struct FixedRandom(pub f64);

impl Random for FixedRandom {
    fn unit(&self) -> f64 {
        self.0
    }
}
