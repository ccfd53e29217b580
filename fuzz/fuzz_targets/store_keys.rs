//! Store keys: execution ids and node names of any text encoded into key segments, and keys
//! listed by a store (any text) decoded back: `ExecutionKeys::latest_outputs`,
//! `LatestOutputs::take`, `ExecutionKeys::parse_listed`, `workflow_key`.

#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use hetumind::store::{ExecutionKeys, MAX_SEGMENT_BYTES, Part, encode_segment, workflow_key};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    execution_id: String,
    /// Outputs written: node name and attempt.
    outputs: Vec<(String, u32)>,
    /// Claims and batch outputs written: node name and part (`None` for all of it).
    tasks: Vec<(String, Option<u32>)>,
    /// Other keys a listing returns, each under the execution's prefix (`true`) or as is.
    listed: Vec<(bool, String)>,
}

/// What a segment may contain: the kept bytes, `%` escapes, and the `.` of a shortened one.
fn check_segment(segment: &str) {
    assert!(!segment.is_empty());
    assert!(segment.len() <= MAX_SEGMENT_BYTES, "{segment}");
    assert!(
        segment
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_%.".contains(&byte)),
        "{segment}"
    );
    assert!(segment.matches('.').count() <= 1, "{segment}");
}

fuzz_target!(|input: Input| {
    let Input {
        execution_id,
        outputs,
        tasks,
        listed,
    } = input;
    check_segment(&encode_segment(&execution_id));
    let workflow = workflow_key(&execution_id);
    assert_eq!(workflow.matches('/').count(), 1, "{workflow}");
    let keys = ExecutionKeys::new(&execution_id);
    let prefix = keys.prefix();
    assert_eq!(prefix.matches('/').count(), 2, "{prefix}");

    let mut listing = Vec::new();
    let mut latest: HashMap<&str, u32> = HashMap::new();
    for (node, attempt) in &outputs {
        let segment = ExecutionKeys::node_segment(node);
        check_segment(&segment);
        assert_eq!(*segment, encode_segment(node));
        let key = keys.output(node, *attempt);
        assert!(key.starts_with(&keys.node_outputs(node)), "{key}");
        assert!(key.starts_with(&keys.outputs()), "{key}");
        listing.push(key);
        let best = latest.entry(node).or_insert(*attempt);
        *best = (*best).max(*attempt);
    }
    for (extra_in_prefix, extra) in &listed {
        listing.push(if *extra_in_prefix {
            format!("{prefix}{extra}")
        } else {
            extra.clone()
        });
    }
    let mut found = keys.latest_outputs(listing);
    for (node, attempt) in latest {
        let (taken, key) = found.take(node).expect("a listed output is found");
        // A listed key of another shape may name a later attempt of the node.
        assert!(taken >= attempt, "{node}: {taken} < {attempt}");
        if taken == attempt {
            // Written first, the key written is kept over a listed one of the same attempt.
            assert_eq!(key, keys.output(node, taken));
        }
    }

    for (node, batch) in &tasks {
        let part = batch.map_or(Part::All, Part::Batch);
        let segment = ExecutionKeys::node_segment(node);
        for key in [keys.claim(node, part), keys.task(node, part)] {
            assert!(key.starts_with(&prefix), "{key}");
        }
        let claim = keys.claim(node, part);
        assert_eq!(keys.parse_listed(&claim), Some((&*segment, part)));
        if let Some(batch) = batch {
            let key = keys.part(node, *batch);
            assert_eq!(keys.parse_listed(&key), Some((&*segment, part)));
        }
        let _ = keys.progress(node);
    }
    for (extra_in_prefix, extra) in &listed {
        let key = if *extra_in_prefix {
            format!("{}{extra}", keys.claims())
        } else {
            extra.clone()
        };
        let _ = keys.parse_listed(&key);
    }
});
