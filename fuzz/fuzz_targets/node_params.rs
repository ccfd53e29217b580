//! Every built-in node's parameters and items, as the engine hands them over: the parameters
//! are checked as planning checks them, then the node runs through `hetumind::testing`
//! (`NodeTest`, the engine's own invocation), except `core.http_request`, which would reach the
//! network: its parameters are only checked.
//!
//! The input is the node's kind on the first line (an unknown kind picks a node by its bytes),
//! then a JSON object: `{"parameters": ..., "items": [...], "inputs": [[...], ...],
//! "on_error": ...}`, every field optional; an item is an `ItemData` (`{"json": ...}`) or any
//! value, which becomes an item's `json`. Any other JSON is taken as the parameters.

#![no_main]

use chrono::{TimeZone, Utc};
use hetumind::fuzzing::from_value;
use hetumind::model::{ItemData, OnError};
use hetumind::testing::NodeTest;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// At most this many inputs and items per input, so that a run stays short.
const MAX_INPUTS: usize = 4;
const MAX_ITEMS: usize = 64;

fn items(value: Option<&Value>) -> Vec<ItemData> {
    let Some(Value::Array(values)) = value else {
        return Vec::new();
    };
    values
        .iter()
        .take(MAX_ITEMS)
        .map(|value| from_value::<ItemData>(value).unwrap_or_else(|_| ItemData::new(value.clone())))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (kind, json) = match data.iter().position(|byte| *byte == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&data[..0], data),
    };
    let registry = hetumind_fuzz::registry();
    let node = match std::str::from_utf8(kind)
        .ok()
        .and_then(|kind| registry.latest(kind))
    {
        Some(node) => node,
        None => {
            let pick = kind.iter().map(|byte| usize::from(*byte)).sum::<usize>() % registry.len();
            registry.iter().nth(pick).expect("a node")
        }
    };
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return;
    };
    let fields = value.as_object().filter(|fields| {
        fields
            .keys()
            .all(|key| ["parameters", "items", "inputs", "on_error"].contains(&key.as_str()))
    });
    let (parameters, inputs, on_error) = match fields {
        Some(fields) => {
            let mut inputs = vec![items(fields.get("items"))];
            if let Some(Value::Array(more)) = fields.get("inputs") {
                inputs.extend(more.iter().take(MAX_INPUTS).map(|input| items(Some(input))));
            }
            let on_error = fields
                .get("on_error")
                .and_then(|value| from_value::<OnError>(value).ok());
            (
                fields.get("parameters").cloned().unwrap_or(Value::Null),
                inputs,
                on_error,
            )
        }
        None => (value, vec![vec![ItemData::empty()]], None),
    };

    // As planning checks a workflow's node.
    if let Err(error) = (node.check_params)(&parameters) {
        let _ = error.to_string();
    }
    if node.kind == hetumind_fuzz::NETWORK_NODE {
        return;
    }
    let mut test = NodeTest::new(node.kind)
        .version(node.version)
        .params(parameters)
        .now(Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap());
    for (index, input) in inputs.into_iter().enumerate() {
        test = test.raw_input(index, input);
    }
    if let Some(on_error) = on_error {
        test = test.on_error(on_error);
    }
    match hetumind_fuzz::runtime().block_on(test.run()) {
        Ok(output) => {
            serde_json::to_vec(&output.into_output().outputs).expect("output items serialize");
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
