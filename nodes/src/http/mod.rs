//! HTTP: calling HTTP services, and answering the request that started the workflow.

mod http_request;
mod outbound;
mod respond_to_webhook;

pub use outbound::{OutboundPolicy, PolicyError};
