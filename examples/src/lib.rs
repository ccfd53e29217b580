//! Example custom nodes, written with `#[node]` as any node author would.

pub mod greet;
