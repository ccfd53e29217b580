//! Metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! Why EMF rather than CloudWatch's `PutMetricData`: an API call would sit in every
//! invocation's request path (latency, throttling, an outage of CloudWatch failing or slowing
//! executions, and IAM permissions to grant); an EMF line is a log line the function writes
//! anyway, and CloudWatch Logs turns it into metrics after the invocation, at no cost to it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::{Value, json};

use crate::MetricUnit;
use crate::engine::{MetricEvent, NodeEvent, NodeOutcome, Observer};

/// The metric namespace.
const NAMESPACE: &str = "Hetumind";

/// The most values one metric may hold in one EMF line: more are split over several lines.
const MAX_VALUES: usize = 100;

/// Collects what happens during an invocation; [`Metrics::flush`] prints it with the
/// invocation's own metrics.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    /// The function's name (`AWS_LAMBDA_FUNCTION_NAME`): every line's first dimension.
    function: String,
    seen: Mutex<Seen>,
}

/// What the invocation so far did.
#[derive(Debug, Default)]
struct Seen {
    /// Node durations in milliseconds, by workflow and node kind.
    durations: BTreeMap<(String, &'static str), Vec<f64>>,
    /// Metrics nodes reported, by workflow, name and unit.
    reported: BTreeMap<(String, String, MetricUnit), Vec<f64>>,
    /// The workflows whose executions it advanced.
    workflows: BTreeSet<String>,
    /// Execution index writes given up.
    index_failures: u32,
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
        let mut seen = self.seen();
        seen.workflows.insert(event.workflow_id.to_owned());
        if matches!(event.outcome, NodeOutcome::Succeeded | NodeOutcome::Failed) {
            seen.durations
                .entry((event.workflow_id.to_owned(), event.kind))
                .or_default()
                .push(event.duration.as_secs_f64() * 1000.0);
        }
    }

    fn metric(&self, event: &MetricEvent<'_>) {
        let mut seen = self.seen();
        seen.workflows.insert(event.workflow_id.to_owned());
        seen.reported
            .entry((
                event.workflow_id.to_owned(),
                event.metric.name.clone(),
                event.metric.unit,
            ))
            .or_default()
            .push(event.metric.value);
    }

    fn index_failed(&self, _execution_id: &str) {
        self.seen().index_failures += 1;
    }
}

impl Metrics {
    /// Metrics of the function named `function`.
    pub(crate) fn new(function: String) -> Self {
        Self {
            function,
            seen: Mutex::default(),
        }
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The EMF lines of the invocation just finished; forgets what it saw.
    ///
    /// The invocation's own metrics (`ExecutionDuration`, `NodesExecuted`, `Success`,
    /// `InitDuration` on a cold start, `IndexWriteFailures` when there were any) have the
    /// dimensions `FunctionName`, and `FunctionName, Workflow` when the invocation advanced
    /// executions of one workflow; `NodeDuration` has `FunctionName, Kind` and `FunctionName,
    /// Workflow, Kind`; a node's own metrics have `FunctionName` and `FunctionName, Workflow`.
    pub(crate) fn flush(&self, invocation: &InvocationMetrics) -> Vec<Value> {
        let seen = std::mem::take(&mut *self.seen());
        let timestamp = chrono::Utc::now().timestamp_millis();
        let executed: usize = seen.durations.values().map(Vec::len).sum();
        let one_workflow = match &seen.workflows {
            workflows if workflows.len() == 1 => workflows.first(),
            _ => None,
        };
        let mut names = vec![
            json!({ "Name": "ExecutionDuration", "Unit": "Milliseconds" }),
            json!({ "Name": "NodesExecuted", "Unit": "Count" }),
            json!({ "Name": "Success", "Unit": "Count" }),
        ];
        let mut line = json!({
            "FunctionName": self.function,
            "ExecutionDuration": invocation.duration_ms,
            "NodesExecuted": executed,
            "Success": u8::from(invocation.success),
        });
        if let Some(init_ms) = invocation.init_ms {
            names.push(json!({ "Name": "InitDuration", "Unit": "Milliseconds" }));
            line["InitDuration"] = json!(init_ms);
        }
        if seen.index_failures > 0 {
            names.push(json!({ "Name": "IndexWriteFailures", "Unit": "Count" }));
            line["IndexWriteFailures"] = json!(seen.index_failures);
        }
        let mut dimensions = vec![json!(["FunctionName"])];
        if let Some(workflow) = one_workflow {
            dimensions.push(json!(["FunctionName", "Workflow"]));
            line["Workflow"] = json!(workflow);
        }
        line["_aws"] = envelope(timestamp, &dimensions, &names);
        let mut lines = vec![line];
        let by_kind = [
            json!(["FunctionName", "Kind"]),
            json!(["FunctionName", "Workflow", "Kind"]),
        ];
        for ((workflow, kind), durations) in &seen.durations {
            for chunk in durations.chunks(MAX_VALUES) {
                lines.push(json!({
                    "_aws": envelope(
                        timestamp,
                        &by_kind,
                        &[json!({ "Name": "NodeDuration", "Unit": "Milliseconds" })],
                    ),
                    "FunctionName": self.function,
                    "Workflow": workflow,
                    "Kind": kind,
                    "NodeDuration": chunk,
                }));
            }
        }
        let by_workflow = [json!(["FunctionName"]), json!(["FunctionName", "Workflow"])];
        for ((workflow, name, unit), values) in &seen.reported {
            for chunk in values.chunks(MAX_VALUES) {
                let mut line = json!({
                    "_aws": envelope(
                        timestamp,
                        &by_workflow,
                        &[json!({ "Name": name, "Unit": unit.as_str() })],
                    ),
                    "FunctionName": self.function,
                    "Workflow": workflow,
                });
                line[name.as_str()] = json!(chunk);
                lines.push(line);
            }
        }
        lines
    }
}

/// The `_aws` member of an EMF line.
fn envelope(timestamp: i64, dimensions: &[Value], metrics: &[Value]) -> Value {
    json!({
        "Timestamp": timestamp,
        "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": dimensions, "Metrics": metrics }],
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use super::*;
    use crate::Metric;

    fn run(metrics: &Metrics, workflow: &str, kind: &'static str) {
        metrics.node_finished(&NodeEvent {
            execution_id: "e",
            workflow_id: workflow,
            node: "N",
            kind,
            attempt: 1,
            outcome: NodeOutcome::Succeeded,
            duration: Duration::from_millis(2),
        });
    }

    const INVOCATION: InvocationMetrics = InvocationMetrics {
        duration_ms: 5.0,
        success: true,
        init_ms: None,
    };

    #[test]
    fn a_metric_holds_at_most_100_values_per_line() {
        let metrics = Metrics::new("fn".to_owned());
        for _ in 0..250 {
            run(&metrics, "w", "a.many");
        }
        run(&metrics, "w", "b.one");
        let lines = metrics.flush(&INVOCATION);
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

    #[test]
    fn lines_carry_the_function_and_the_workflow() {
        let metrics = Metrics::new("orders-fn".to_owned());
        run(&metrics, "orders", "core.set");
        let metric = Metric::new("Charged", 12.5, MetricUnit::Count).unwrap();
        metrics.metric(&MetricEvent {
            execution_id: "e",
            workflow_id: "orders",
            node: "Charge",
            metric: &metric,
        });
        metrics.index_failed("e");
        let lines = metrics.flush(&INVOCATION);
        let invocation = &lines[0];
        assert_eq!(invocation["FunctionName"], "orders-fn");
        assert_eq!(invocation["Workflow"], "orders");
        assert_eq!(invocation["IndexWriteFailures"], 1);
        let dimensions = &invocation["_aws"]["CloudWatchMetrics"][0]["Dimensions"];
        assert_eq!(
            dimensions,
            &json!([["FunctionName"], ["FunctionName", "Workflow"]])
        );
        assert_eq!(lines[1]["Kind"], "core.set");
        assert_eq!(
            lines[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([
                ["FunctionName", "Kind"],
                ["FunctionName", "Workflow", "Kind"]
            ])
        );
        assert_eq!(lines[2]["Charged"], json!([12.5]));
        assert_eq!(
            lines[2]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{ "Name": "Charged", "Unit": "Count" }])
        );
        // Flushed: the next invocation starts from nothing.
        let next = metrics.flush(&INVOCATION);
        assert_eq!(next.len(), 1);
        assert!(next[0].get("Workflow").is_none());
    }

    #[test]
    fn an_invocation_over_several_workflows_has_no_workflow_dimension() {
        let metrics = Metrics::new("fn".to_owned());
        run(&metrics, "a", "core.set");
        run(&metrics, "b", "core.set");
        let lines = metrics.flush(&INVOCATION);
        assert!(lines[0].get("Workflow").is_none());
        assert_eq!(lines.len(), 3);
    }
}
