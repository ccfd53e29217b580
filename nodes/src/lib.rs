//! The built-in node library of Hetumind: triggers, flow control and data nodes, each written
//! with the public `#[node]` API exactly as any node author would.

mod no_op;
