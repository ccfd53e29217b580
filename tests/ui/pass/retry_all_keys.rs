// `retry(...)` with every key, and `version`.
use std::time::Duration;

use hetumind::prelude::*;
use hetumind::retry::Jitter;

/// Calls a flaky service.
#[node(
    kind = "pass.retry",
    version = 3,
    retry(max_attempts = 7, initial = "250ms", max = "2m", backoff_rate = 1.5, jitter = "none")
)]
async fn flaky(Item(n): Item<u32>) -> Result<u32, NodeError> {
    Ok(n)
}

/// Hours, seconds and an integer rate.
#[node(kind = "pass.retry_units", retry(initial = "1s", max = "1h", backoff_rate = 3, jitter = "full"))]
async fn slow(Item(n): Item<u32>) -> Result<u32, NodeError> {
    Ok(n)
}

fn main() {
    let registry = hetumind::Registry::global().expect("no duplicates");
    let node = registry.get("pass.retry", 3).expect("registered");
    assert_eq!(node.description, "Calls a flaky service.");
    let retry = node.retry;
    assert_eq!(retry.max_attempts, 7);
    assert_eq!(retry.initial_interval, Duration::from_millis(250));
    assert_eq!(retry.max_interval, Duration::from_secs(120));
    assert!((retry.backoff_rate - 1.5).abs() < f64::EPSILON);
    assert_eq!(retry.jitter, Jitter::None);

    let retry = registry.latest("pass.retry_units").expect("registered").retry;
    assert_eq!(retry.max_attempts, 3, "the default");
    assert_eq!(retry.initial_interval, Duration::from_secs(1));
    assert_eq!(retry.max_interval, Duration::from_secs(3600));
    assert!((retry.backoff_rate - 3.0).abs() < f64::EPSILON);
    assert_eq!(retry.jitter, Jitter::Full);
}
