//! The built-in nodes, each tested through the engine (`WorkflowTest`) and on its own
//! (`NodeTest`).

// Tests state their expectations with unwrap and panics.
#![allow(clippy::unwrap_used, clippy::needless_pass_by_value)]

hetumind::link_node_crates!();

mod nodes {
    mod conditions;
    mod data;
    mod flow;
    mod http;
    mod readme;
    mod respond;
    mod triggers;
}
