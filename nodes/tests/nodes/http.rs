//! Tests of the http nodes.
