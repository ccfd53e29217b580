//! Metrics as CloudWatch Embedded Metric Format lines on stdout: no API call in the request
//! path; CloudWatch Logs turns the lines into metrics.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::engine::{NodeEvent, NodeOutcome, Observer};

/// The metric namespace.
const NAMESPACE: &str = "Hetumind";

/// The most values one metric may hold in one EMF line: more are split over several lines.
const MAX_VALUES: usize = 100;

/// Collects node durations during an invocation; [`Metrics::flush`] prints them with the
/// invocation's own metrics.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    nodes: Mutex<BTreeMap<&'static str, Vec<f64>>>,
}

/// What one invocation reports.
pub(crate) struct InvocationMetrics {
    /// How long the handler took, in milliseconds.
    pub(crate) duration_ms: f64,
    /// Whether it succeeded (no error, no failed execution).
    pub(crate) success: bool,
    /// How long init took, on the first invocation of a cold start.
    pub(crate) init_ms: Option<f64>,
}

impl Observer for Metrics {
    fn node_finished(&self, event: &NodeEvent<'_>) {
        if matches!(event.outcome, NodeOutcome::Succeeded | NodeOutcome::Failed) {
            let mut nodes = self
                .nodes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            nodes
                .entry(event.kind)
                .or_default()
                .push(event.duration.as_secs_f64() * 1000.0);
        }
    }
}

impl Metrics {
    /// The EMF lines of the invocation just finished; resets the node durations.
    pub(crate) fn flush(&self, invocation: &InvocationMetrics) -> Vec<Value> {
        let nodes = std::mem::take(
            &mut *self
                .nodes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let timestamp = chrono::Utc::now().timestamp_millis();
        let executed: usize = nodes.values().map(Vec::len).sum();
        let mut names = vec![
            json!({ "Name": "ExecutionDuration", "Unit": "Milliseconds" }),
            json!({ "Name": "NodesExecuted", "Unit": "Count" }),
            json!({ "Name": "Success", "Unit": "Count" }),
        ];
        let mut line = json!({
            "ExecutionDuration": invocation.duration_ms,
            "NodesExecuted": executed,
            "Success": u8::from(invocation.success),
        });
        if let Some(init_ms) = invocation.init_ms {
            names.push(json!({ "Name": "InitDuration", "Unit": "Milliseconds" }));
            line["InitDuration"] = json!(init_ms);
        }
        line["_aws"] = json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": names }],
        });
        let mut lines = vec![line];
        let chunks = nodes.iter().flat_map(|(kind, durations)| {
            durations
                .chunks(MAX_VALUES)
                .map(move |chunk| (*kind, chunk))
        });
        lines.extend(chunks.map(|(kind, durations)| {
            json!({
                "_aws": {
                    "Timestamp": timestamp,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [["Kind"]],
                        "Metrics": [{ "Name": "NodeDuration", "Unit": "Milliseconds" }],
                    }],
                },
                "Kind": kind,
                "NodeDuration": durations,
            })
        }));
        lines
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;

    fn run(metrics: &Metrics, kind: &'static str) {
        metrics.node_finished(&NodeEvent {
            execution_id: "e",
            node: "N",
            kind,
            attempt: 1,
            outcome: NodeOutcome::Succeeded,
            duration: Duration::from_millis(2),
        });
    }

    #[test]
    fn a_metric_holds_at_most_100_values_per_line() {
        let metrics = Metrics::default();
        for _ in 0..250 {
            run(&metrics, "a.many");
        }
        run(&metrics, "b.one");
        let lines = metrics.flush(&InvocationMetrics {
            duration_ms: 5.0,
            success: true,
            init_ms: None,
        });
        assert_eq!(lines[0]["NodesExecuted"], 251);
        let counts: Vec<(&str, usize)> = lines[1..]
            .iter()
            .map(|line| {
                (
                    line["Kind"].as_str().unwrap(),
                    line["NodeDuration"].as_array().unwrap().len(),
                )
            })
            .collect();
        assert_eq!(
            counts,
            [
                ("a.many", 100),
                ("a.many", 100),
                ("a.many", 50),
                ("b.one", 1)
            ]
        );
    }
}
