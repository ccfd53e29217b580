//! Flow: the nodes that route, filter, merge, split, gather, stop or delay items.

mod aggregate;
mod execute_workflow;
mod filter;
mod if_node;
mod limit;
mod merge;
mod no_op;
mod split_out;
mod stop_and_error;
mod switch;
mod wait;
