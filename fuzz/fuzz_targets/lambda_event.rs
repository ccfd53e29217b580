//! The Lambda handler's entry, `Handler::handle`, on raw event bytes: the bytes are parsed as
//! the runtime parses an event (JSON to a value), then handled by a handler on an in-memory
//! store, so that every request type and trigger shape is parsed and routed for real.
//!
//! A top-level JSON array is a sequence of events handled in order on the same store, so that
//! `resume_execution` and `execute_node` can reach an execution an earlier event started.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// At most this many events in a sequence.
const MAX_EVENTS: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let events = match event {
        Value::Array(events) if !events.is_empty() => events.into_iter().take(MAX_EVENTS).collect(),
        event => vec![event],
    };
    hetumind_fuzz::handle_all(events);
});
