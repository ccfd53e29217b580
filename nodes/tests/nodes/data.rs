//! Tests of the data nodes.
