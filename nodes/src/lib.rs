//! The built-in node library of Hetumind: triggers, flow control and data nodes, each written
//! with the public `#[node]` API exactly as any node author would.
//!
//! Each node is one file, in the folder of its family (`triggers/`, `flow/`, `data/`,
//! `http/`); what the nodes share is in `support/`, apart from them.

// The nodes, by family.
mod data;
mod flow;
mod http;
mod triggers;

// Shared by the nodes; `condition` and `path` are public at the crate's root.
mod support;
pub use support::{condition, path};
