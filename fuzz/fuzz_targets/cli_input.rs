//! The files the command line reads (`run WORKFLOW --input ITEMS`, `invoke EVENT`,
//! `validate WORKFLOW`, `graph WORKFLOW`), parsed as it parses them: serde with the JSON path
//! of the problem tracked on failure. Input items must survive a trip through the store.

#![no_main]

use hetumind::fuzzing::read_json;
use hetumind::model::{ItemData, Request, Workflow};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = read_json::<Vec<ItemData>>(data) {
        assert!(
            hetumind_fuzz::round_trips(&items),
            "items changed on their way through the store"
        );
    }
    let _ = read_json::<Workflow>(data);
    if let Ok(event) = read_json::<Value>(data) {
        // `invoke` hands the event to the handler: a request is read like this.
        let _ = Request::from_json(event);
    }
});
