//! The Lambda side of `lambda_main!()`: the handler, metrics, and the runtime loop (its
//! configuration is [`crate::config`]).

mod hand_off;
mod handler;
mod metrics;

use std::sync::Arc;

pub use hand_off::{HandedOff, StateMachine, execution_name};
pub use handler::{Handler, HandlerError, MAX_HTTP_RESPONSE_BYTES};

use crate::config::Config;
use crate::engine::Engine;
use crate::registry::Registry;

/// Runs the function: reads the configuration, then serves invocations until the runtime
/// stops. Nothing touches the network before the first invocation (the S3 client is built on
/// first use).
///
/// # Errors
///
/// An init error: the configuration is invalid (the message names the variable), the registry
/// has duplicates, or the runtime API fails.
pub async fn run(started: std::time::Instant) -> Result<(), lambda_runtime::Error> {
    let config = Config::from_env(|name| std::env::var(name).ok())?;
    let registry = Registry::global().map_err(ToString::to_string)?;
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default();
    let metrics = Arc::new(metrics::Metrics::new(function));
    let engine = Engine::new(registry, config.store)
        .with_options(config.options)
        .with_secrets(config.secrets)
        .with_observer(Arc::clone(&metrics) as Arc<dyn crate::engine::Observer>);
    let engine = match config.index {
        Some(index) => engine.with_index(index),
        None => engine,
    };
    let mut handler = Handler::new(engine, config.triggers);
    if let Some(arn) = config.state_machine {
        handler = handler.with_state_machine(StateMachine::new(arn));
    }
    let mut init_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let handler = handler.clone();
            let metrics = Arc::clone(&metrics);
            let init_ms = init_ms.take();
            async move {
                let timer = std::time::Instant::now();
                let deadline = event.context.deadline;
                let span = crate::telemetry::invocation_span(
                    Some(&event.context.request_id),
                    init_ms.is_some(),
                );
                let result =
                    tracing::Instrument::instrument(handler.handle(event.payload, deadline), span)
                        .await;
                // Lambda freezes the process once the response is sent: the spans leave first.
                crate::telemetry::flush(Some(
                    std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline),
                ))
                .await;
                let success = result.as_ref().is_ok_and(|value| {
                    value.get("success") != Some(&serde_json::Value::Bool(false))
                });
                for line in metrics.flush(&metrics::InvocationMetrics {
                    duration_ms: timer.elapsed().as_secs_f64() * 1000.0,
                    success,
                    init_ms,
                }) {
                    println!("{line}");
                }
                result
            }
        },
    ))
    .await
}
