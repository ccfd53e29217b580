//! The built-in node library of Hetumind: triggers, flow control and data nodes, each written
//! with the public `#[node]` API exactly as any node author would.
//!
//! Each node is one file, in the folder of its family (`triggers/`, `flow/`, `data/`,
//! `http/`); what the nodes share is in `support/`, apart from them.
//!
//! Conventions every node follows:
//!
//! - Parameter structs: a node's parameters as written in workflows are `<Node>Params`
//!   (`<Node>` its kind without `core.`, in CamelCase: `MergeParams` for `core.merge`); they
//!   derive `Deserialize` and `JsonSchema`, and their schema is the node's published parameter
//!   schema. A node whose parameters need checks across fields takes `<Node>Spec` instead: the
//!   checked form, read `try_from` `<Node>Params` and published with its schema
//!   (`schema_of_params!`). A part of the parameters with a checked form of its own is named
//!   the same way (`AggregationParams`, checked into `AggregationSpec`).
//! - Item errors: an error about one input item starts ``input item N: `` (N its 0-based
//!   position among the node's input items), and goes on with ``at `path`: `` when it is about
//!   one of its fields (`support::json::{item_error, field_error}`).
//! - Key equality: every node that finds values equal (`core.merge`'s join,
//!   `core.remove_duplicates`, `core.summarize`'s groups and `count_distinct`, the `equals` and
//!   `contains` operators of conditions) uses `support::key`: numbers by value, objects whatever
//!   their key order. `core.sort` and `min` / `max` order by `support::order`, which finds equal
//!   exactly those values.
//! - Threads: every built-in node is `#[node(nonblocking)]`: none blocks its thread (no
//!   synchronous I/O, no sleeping, only bounded work per item), so each runs on the engine's
//!   own thread without a hand-off to a thread of its own.

// The nodes, by family.
mod data;
mod flow;
mod http;
mod triggers;

// Shared by the nodes; `condition` and `path` are public at the crate's root.
mod support;
pub use support::{condition, path};

// What `core.http_request` may connect to (`HETUMIND_HTTP_ALLOW`), settable by programs and tests.
pub use http::{OutboundPolicy, PolicyError};
