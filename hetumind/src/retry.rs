//! Retry policies: how often and how long to wait before a node that failed with a retryable
//! error runs again.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// When and how often a node that failed with a retryable error is attempted again:
/// exponential backoff with a cap, optionally randomised with full jitter.
///
/// Const-constructible, so that a node's default policy lives in its static registration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 means never retried).
    pub max_attempts: u32,
    /// The delay before the first retry.
    #[serde(rename = "initial_interval_ms", with = "millis")]
    #[schemars(with = "u64")]
    pub initial_interval: Duration,
    /// The factor each following delay grows by.
    pub backoff_rate: f64,
    /// The cap on any single delay.
    #[serde(rename = "max_interval_ms", with = "millis")]
    #[schemars(with = "u64")]
    pub max_interval: Duration,
    /// How delays are randomised.
    pub jitter: Jitter,
}

impl RetryPolicy {
    /// The policy of a node that declares none: 3 attempts, 1 s then 2 s, capped at 30 s,
    /// with full jitter.
    pub const DEFAULT: Self = Self {
        max_attempts: 3,
        initial_interval: Duration::from_secs(1),
        backoff_rate: 2.0,
        max_interval: Duration::from_secs(30),
        jitter: Jitter::Full,
    };

    /// A policy that never retries.
    pub const NEVER: Self = Self {
        max_attempts: 1,
        ..Self::DEFAULT
    };
}

impl RetryPolicy {
    /// Whether a node that failed on attempt `attempt` (from 1) may run again.
    #[must_use]
    pub const fn allows_retry_after(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }

    /// The delay after failed attempt `attempt` (from 1): `initial * rate^(attempt - 1)`,
    /// capped at `max_interval`, then with full jitter scaled by `unit` (a number in `[0, 1)`).
    #[must_use]
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let exponential = self.initial_interval.as_secs_f64() * self.backoff_rate.powi(exponent);
        let capped = exponential.min(self.max_interval.as_secs_f64());
        let delay = match self.jitter {
            Jitter::None => capped,
            Jitter::Full => capped * unit.clamp(0.0, 1.0),
        };
        Duration::try_from_secs_f64(delay).unwrap_or(self.max_interval)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// How retry delays are randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// The exact exponential delay.
    None,
    /// A uniformly random delay between zero and the exponential delay ("full jitter"), which
    /// spreads retries of many executions apart.
    Full,
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let policy = RetryPolicy {
            jitter: Jitter::None,
            ..RetryPolicy::DEFAULT
        };
        let delays: Vec<u64> = (1..=7)
            .map(|attempt| policy.delay(attempt, 0.5).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(policy.delay(u32::MAX, 0.5), Duration::from_secs(30));
    }

    #[test]
    fn full_jitter_scales_the_delay() {
        let policy = RetryPolicy::DEFAULT;
        assert_eq!(policy.delay(3, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(3, 0.25), Duration::from_secs(1));
        assert!(policy.allows_retry_after(2));
        assert!(!policy.allows_retry_after(3));
    }
}
