//! The built-in node library of Hetumind: triggers, flow control and data nodes, each written
//! with the public `#[node]` API exactly as any node author would.

// Shared by the nodes, apart from them; `condition` and `path` are public at the crate's root.
mod support;
pub use support::{condition, path};

// Triggers.
mod event_trigger;
mod manual_trigger;
mod schedule_trigger;
mod webhook_trigger;

// Flow.
mod aggregate;
mod filter;
mod if_node;
mod limit;
mod merge;
mod no_op;
mod split_out;
mod stop_and_error;
mod switch;
mod wait;

// Data.
mod crypto;
mod date_time;
mod json_parse;
mod remove_duplicates;
mod set;
mod sort;
mod summarize;

// HTTP.
mod http_request;
mod respond_to_webhook;
