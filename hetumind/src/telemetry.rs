//! OpenTelemetry traces, with the `otel` feature: the spans of invocations, executions and node
//! runs, exported over OTLP/HTTP (protobuf) to the endpoint the standard `OTEL_*` variables
//! name. Without the feature every function here does nothing, and no span is made that the
//! logs would show.
//!
//! The spans, and their attributes (names kept stable):
//!
//! - `invocation`: one Lambda invocation, or one `run`, `resume` or `invoke` of the command
//!   line. `faas.invocation_id` (Lambda's request id), `faas.coldstart`, and `execution_id`
//!   once it advances an execution.
//! - `execution`: one invocation advancing one execution (a child of `invocation`).
//!   `execution_id`, `workflow_id`.
//! - `node`: one attempt of one node (a child of `execution`). `execution_id`, `workflow_id`,
//!   `node`, `kind`, `attempt`, `items_in`, `items_out` (when it succeeded), `error` (when it
//!   failed, the span's status is then an error; a node asking to wait has neither).
//!
//! One execution is one trace, whichever invocations advance it: the trace is chosen when the
//! execution is created and kept with it ([`ExecutionState::trace`]): the one a W3C
//! `traceparent` in the creating request's `metadata` names (the invocations are then children
//! of that span), else a new one (the invocations are then its root spans). Spans are exported
//! only when an endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), and flushed before each invocation returns.
//!
//! [`ExecutionState::trace`]: crate::model::ExecutionState::trace

use serde_json::{Map, Value};
use tracing::Span;

use crate::expression::ExecutionInfo;
use crate::model::ExecutionTrace;
#[cfg(feature = "otel")]
use crate::node::ErrorKind;
use crate::node::{NodeError, NodeOutput};

/// The `invocation` span of a Lambda invocation (`request_id`, the first one when `cold`) or
/// of a command line run (no request id).
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn invocation_span(request_id: Option<&str>, cold: bool) -> Span {
    #[cfg(feature = "otel")]
    {
        tracing::info_span!(
            "invocation",
            faas.invocation_id = request_id,
            faas.coldstart = cold,
            execution_id = tracing::field::Empty,
        )
    }
    #[cfg(not(feature = "otel"))]
    Span::none()
}

/// The `execution` span of an invocation advancing `execution`, in the execution's trace: the
/// invocation's span (the current one) joins that trace if it has not started yet, else this
/// span is put in it directly (an invocation advancing several executions).
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn execution_span(execution: &ExecutionInfo) -> Span {
    #[cfg(feature = "otel")]
    {
        let trace = execution.trace.as_ref().and_then(otel::Trace::parse);
        let current = Span::current();
        let joined = trace.as_ref().is_some_and(|trace| trace.join(&current));
        if joined {
            current.record("execution_id", &*execution.id);
        }
        let span = tracing::info_span!(
            "execution",
            execution_id = &*execution.id,
            workflow_id = &*execution.workflow_id,
        );
        if !joined && let Some(trace) = &trace {
            trace.join(&span);
        }
        span
    }
    #[cfg(not(feature = "otel"))]
    Span::none()
}

/// Records on a `node` span the items the attempt was given.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn node_started(span: &Span, workflow_id: &str, items_in: usize) {
    #[cfg(feature = "otel")]
    span.record("workflow_id", workflow_id)
        .record("items_in", items_in);
}

/// Records on a `node` span how the attempt ended: the items it emitted, or its error (a wait
/// is neither).
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn node_ended(span: &Span, ended: &Result<NodeOutput, NodeError>) {
    #[cfg(feature = "otel")]
    match ended {
        Ok(output) => {
            span.record(
                "items_out",
                output.outputs.iter().map(Vec::len).sum::<usize>(),
            );
        }
        Err(error)
            if matches!(
                error.kind(),
                ErrorKind::Wait { .. } | ErrorKind::Signal { .. }
            ) => {}
        Err(error) => {
            let error = error.to_string();
            span.record("error", error.as_str())
                .record("otel.status_code", "error")
                .record("otel.status_description", error.as_str());
        }
    }
}

/// The trace of an execution created now: the one a `traceparent` in the request's `metadata`
/// names (a malformed one is ignored), else a new one. `None` without the `otel` feature.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn new_trace(metadata: Option<&Map<String, Value>>) -> Option<ExecutionTrace> {
    #[cfg(feature = "otel")]
    {
        Some(otel::new_trace(metadata))
    }
    #[cfg(not(feature = "otel"))]
    None
}

/// Exports the spans that ended, waiting at most the flush timeout and, when given, until
/// `until` (the invocation's deadline): an unreachable endpoint delays the invocation by no
/// more and never fails it.
#[cfg_attr(not(feature = "otel"), allow(unused_variables, clippy::unused_async))]
pub(crate) async fn flush(until: Option<std::time::SystemTime>) {
    #[cfg(feature = "otel")]
    otel::flush(until).await;
}

#[cfg(feature = "otel")]
pub(crate) use otel::layer;

/// Without the `otel` feature: no layer.
#[cfg(not(feature = "otel"))]
pub(crate) fn layer() -> Option<tracing_subscriber::layer::Identity> {
    None
}

#[cfg(feature = "otel")]
mod otel {
    use std::cell::Cell;
    use std::sync::OnceLock;
    use std::time::{Duration, SystemTime};

    use opentelemetry::propagation::{Extractor, TextMapPropagator};
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider,
    };
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator, SdkTracerProvider};
    use serde_json::{Map, Value};
    use tracing::Span;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::{LevelFilter, Targets};

    use crate::model::ExecutionTrace;

    /// How long a flush waits when `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` and
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` set nothing; also the export requests' own timeout then.
    const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// What is left of the invocation for a flush ending at its deadline: the response still
    /// has to be sent.
    const RESPONSE_MARGIN: Duration = Duration::from_millis(50);

    /// The provider spans are exported through, once the layer is made; and the longest a
    /// flush waits.
    static PROVIDER: OnceLock<(SdkTracerProvider, Duration)> = OnceLock::new();

    thread_local! {
        /// The trace id the next root span started on this thread takes (see [`Trace::join`]).
        static NEXT_TRACE_ID: Cell<Option<TraceId>> = const { Cell::new(None) };
    }

    /// Random ids, except the trace id of a root span that joins an execution's trace.
    #[derive(Debug, Default)]
    struct ExecutionTraceIds(RandomIdGenerator);

    impl IdGenerator for ExecutionTraceIds {
        fn new_trace_id(&self) -> TraceId {
            NEXT_TRACE_ID
                .take()
                .unwrap_or_else(|| self.0.new_trace_id())
        }

        fn new_span_id(&self) -> SpanId {
            self.0.new_span_id()
        }
    }

    /// The layer that exports spans over OTLP/HTTP, when an endpoint is set (and the SDK is
    /// not disabled, `OTEL_SDK_DISABLED=true`, nor the exporter, `OTEL_TRACES_EXPORTER=none`).
    /// An exporter that cannot be made is reported on stderr and leaves the function as it is.
    pub(crate) fn layer<S>() -> Option<impl Layer<S>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let set = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let disabled = set("OTEL_SDK_DISABLED")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|value| value.eq_ignore_ascii_case("none"));
        if disabled
            || (set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
                && set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none())
        {
            return None;
        }
        let timeout = set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
            .or_else(|| set("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .and_then(|millis| millis.trim().parse().ok())
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_timeout(timeout)
            .build();
        let exporter = match exporter {
            Ok(exporter) => exporter,
            Err(error) => {
                eprintln!("warning: OpenTelemetry traces are off: {error}");
                return None;
            }
        };
        let mut resource = opentelemetry_sdk::Resource::builder();
        if set("OTEL_SERVICE_NAME").is_none()
            && let Some(function) = set("AWS_LAMBDA_FUNCTION_NAME")
        {
            resource = resource.with_service_name(function);
        }
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_id_generator(ExecutionTraceIds::default())
            .with_resource(resource.build())
            .build();
        let tracer = provider.tracer("hetumind");
        let _ = PROVIDER.set((provider, timeout));
        Some(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                // A span starts when its first child does or when it ends, not when entered:
                // the invocation's span can still join the execution's trace then.
                .with_context_activation(false)
                .with_tracked_inactivity(false)
                .with_threads(false)
                .with_location(false)
                .with_target(false)
                // The runtime's span of each invocation would be a trace of its own.
                .with_filter(
                    Targets::new()
                        .with_default(LevelFilter::INFO)
                        .with_target("lambda_runtime", LevelFilter::OFF),
                ),
        )
    }

    /// Exports the spans that ended (see [`super::flush`]).
    pub(super) async fn flush(until: Option<SystemTime>) {
        let Some((provider, timeout)) = PROVIDER.get() else {
            return;
        };
        let left = until.map_or(*timeout, |until| {
            until
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .saturating_sub(RESPONSE_MARGIN)
                .min(*timeout)
        });
        let provider = provider.clone();
        let flushed = tokio::time::timeout(
            left,
            tokio::task::spawn_blocking(move || provider.force_flush()),
        )
        .await;
        match flushed {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!("exporting spans failed: {error}"),
            Ok(Err(error)) => tracing::warn!("exporting spans failed: {error}"),
            Err(_) => tracing::warn!(
                "exporting spans took longer than {} ms; not waiting for it",
                left.as_millis()
            ),
        }
    }

    /// The trace of a new execution (see [`super::new_trace`]).
    pub(super) fn new_trace(metadata: Option<&Map<String, Value>>) -> ExecutionTrace {
        let parent = metadata
            .map(|metadata| TraceContextPropagator::new().extract(&Metadata(metadata)))
            .map(|cx| cx.span().span_context().clone())
            .filter(SpanContext::is_valid);
        match parent {
            Some(parent) => ExecutionTrace {
                trace_id: parent.trace_id().to_string(),
                parent_span_id: Some(parent.span_id().to_string()),
            },
            None => ExecutionTrace {
                trace_id: RandomIdGenerator::default().new_trace_id().to_string(),
                parent_span_id: None,
            },
        }
    }

    /// A request's metadata, read for `traceparent` (the propagator reads `tracestate` too,
    /// which is not kept).
    struct Metadata<'a>(&'a Map<String, Value>);

    impl Extractor for Metadata<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.get(key).and_then(Value::as_str)
        }

        fn keys(&self) -> Vec<&str> {
            self.0.keys().map(String::as_str).collect()
        }
    }

    /// An execution's trace, read from its state.
    pub(super) struct Trace {
        id: TraceId,
        /// The remote span its invocations are children of.
        parent: Option<SpanId>,
    }

    impl Trace {
        /// The trace `stored` names; `None` when it is not well formed (it is then ignored).
        pub(super) fn parse(stored: &ExecutionTrace) -> Option<Self> {
            let id = TraceId::from_hex(&stored.trace_id)
                .ok()
                .filter(|id| *id != TraceId::INVALID)?;
            let parent = match &stored.parent_span_id {
                Some(parent) => Some(
                    SpanId::from_hex(parent)
                        .ok()
                        .filter(|id| *id != SpanId::INVALID)?,
                ),
                None => None,
            };
            Some(Self { id, parent })
        }

        /// Puts `span` in this trace if it has not started yet (a child of the remote parent,
        /// or a root span of this trace id); answers whether `span` is in this trace now.
        pub(super) fn join(&self, span: &Span) -> bool {
            let parent = match self.parent {
                Some(parent) => {
                    opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                        self.id,
                        parent,
                        TraceFlags::SAMPLED,
                        true,
                        TraceState::default(),
                    ))
                }
                None => opentelemetry::Context::new(),
            };
            if span.set_parent(parent).is_ok() {
                if self.parent.is_none() {
                    // Started now, as a root span: it takes this trace id.
                    NEXT_TRACE_ID.set(Some(self.id));
                    let _ = span.context();
                    NEXT_TRACE_ID.set(None);
                }
                return true;
            }
            // Started already (or not recorded): in this trace if it is there already.
            span.context().span().span_context().trace_id() == self.id
        }
    }
}

#[cfg(all(test, feature = "otel"))]
mod tests {
    use serde_json::{Map, Value, json};

    use super::otel::Trace;
    use crate::model::ExecutionTrace;

    fn metadata(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_traceparent_names_the_trace_and_its_parent() {
        let given = metadata(json!({
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        }));
        assert_eq!(
            super::new_trace(Some(&given)),
            Some(ExecutionTrace {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                parent_span_id: Some("00f067aa0ba902b7".to_owned()),
            })
        );
    }

    #[test]
    fn without_a_good_traceparent_the_execution_starts_a_trace() {
        for given in [
            json!({}),
            json!({ "traceparent": "nonsense" }),
            json!({ "traceparent": 7 }),
            // All-zero ids are invalid.
            json!({ "traceparent": "00-00000000000000000000000000000000-00f067aa0ba902b7-01" }),
        ] {
            let trace = super::new_trace(Some(&metadata(given.clone()))).unwrap_or_else(|| {
                panic!("{given}: no trace");
            });
            assert_eq!(trace.trace_id.len(), 32, "{given}");
            assert_ne!(trace.trace_id, "0".repeat(32), "{given}");
            assert_eq!(trace.parent_span_id, None, "{given}");
        }
        let one = super::new_trace(None).map(|trace| trace.trace_id);
        assert_ne!(one, super::new_trace(None).map(|trace| trace.trace_id));
    }

    #[test]
    fn a_stored_trace_that_is_not_well_formed_is_ignored() {
        let stored = |trace_id: &str, parent: Option<&str>| ExecutionTrace {
            trace_id: trace_id.to_owned(),
            parent_span_id: parent.map(str::to_owned),
        };
        let good = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert!(Trace::parse(&stored(good, None)).is_some());
        assert!(Trace::parse(&stored(good, Some("00f067aa0ba902b7"))).is_some());
        assert!(Trace::parse(&stored("xyz", None)).is_none());
        assert!(Trace::parse(&stored(&"0".repeat(32), None)).is_none());
        assert!(Trace::parse(&stored(good, Some("0000000000000000"))).is_none());
        assert!(Trace::parse(&stored(good, Some("not hex"))).is_none());
    }
}
