//! Tests of the conditions nodes.
