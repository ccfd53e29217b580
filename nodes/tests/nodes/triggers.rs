//! Tests of the triggers nodes.
