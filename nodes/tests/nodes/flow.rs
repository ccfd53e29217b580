//! Tests of the flow nodes.
