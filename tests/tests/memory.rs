//! Memory: a 10,000-node workflow and a node of 100,000 items complete as whole command-line
//! processes held to 128 MiB, the smallest memory a Lambda function can have, the way Lambda
//! holds a function to its memory: a memory cgroup (v1 or v2) the test makes for the process.
//! Over the limit the kernel kills the process and the test fails. Each test prints its peak
//! resident memory (`/usr/bin/time`).
//!
//! The tests need a writable memory cgroup hierarchy and `/usr/bin/time` (Debian's `time`);
//! without them they fail under CI=true and are skipped, saying so, elsewhere.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-test");

/// Lambda's smallest memory size.
const LIMIT: u64 = 128 * 1024 * 1024;

/// A memory cgroup of its own, removed when dropped.
struct Cgroup {
    dir: PathBuf,
}

impl Cgroup {
    /// A new cgroup limited to `limit` bytes (swap included where the kernel accounts it),
    /// or why there is none.
    fn new(name: &str, limit: u64) -> Result<Self, String> {
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
        let (root, files): (&Path, &[&str]) = if v2.exists() {
            (
                Path::new("/sys/fs/cgroup"),
                &["memory.max", "memory.swap.max"],
            )
        } else {
            (
                Path::new("/sys/fs/cgroup/memory"),
                &["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
            )
        };
        let dir = root.join(format!("hetumind-{name}-{}", std::process::id()));
        std::fs::create_dir(&dir)
            .map_err(|error| format!("cannot make a cgroup at {}: {error}", dir.display()))?;
        let cgroup = Self { dir };
        let (memory, swap) = (files[0], files[1]);
        std::fs::write(cgroup.dir.join(memory), limit.to_string())
            .map_err(|error| format!("cannot set {memory}: {error}"))?;
        // No swap beyond the limit (v1 counts memory and swap together; v2 swap alone).
        let swap_limit = if v2.exists() { 0 } else { limit };
        if cgroup.dir.join(swap).exists() {
            std::fs::write(cgroup.dir.join(swap), swap_limit.to_string())
                .map_err(|error| format!("cannot set {swap}: {error}"))?;
        }
        Ok(cgroup)
    }

    /// Runs `args` of the test binary inside the cgroup, under `/usr/bin/time`.
    fn run(&self, args: &[&str]) -> Output {
        let procs = self.dir.join("cgroup.procs");
        Command::new("sh")
            .arg("-c")
            .arg(r#"echo $$ > "$0" && exec /usr/bin/time -f "peak-rss-kb %M" "$@""#)
            .arg(&procs)
            .arg(BIN)
            .args(args)
            // The 100,000 items make a 6.5 MB input file, over the default `request_bytes`.
            .env("HETUMIND_LIMITS", r#"{"request_bytes": 16777216}"#)
            .output()
            .unwrap()
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A cgroup for the test, or `None` when the machine cannot make one and CI is not set.
fn cgroup(name: &str) -> Option<Cgroup> {
    let missing = match Cgroup::new(name, LIMIT) {
        Ok(cgroup) if Path::new("/usr/bin/time").exists() => return Some(cgroup),
        Ok(_) => "/usr/bin/time is missing (Debian package `time`)".to_owned(),
        Err(problem) => problem,
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the memory tests cannot run: {missing}"
    );
    eprintln!("skipped: {missing}");
    None
}

/// Runs `args` held to the limit; returns the response and the peak resident memory in MiB.
fn run_limited(name: &str, args: &[&str]) -> Option<(Value, f64)> {
    let cgroup = cgroup(name)?;
    let output = cgroup.run(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the run failed within {} MiB (killed by the kernel when over it): {:?}\n{stderr}",
        LIMIT >> 20,
        output.status
    );
    let peak_kb: f64 = stderr
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("peak-rss-kb "))
        .and_then(|kb| kb.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak memory reported: {stderr}"));
    let response = serde_json::from_slice(&output.stdout).unwrap();
    Some((response, peak_kb / 1024.0))
}

#[test]
fn a_10_000_node_workflow_completes_in_128_mib() {
    const NODES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..NODES).map(|i| format!("node-{i}")).collect();
    let nodes: Vec<Value> = names
        .iter()
        .map(|name| json!({ "name": name, "kind": "test.echo" }))
        .collect();
    let connections: serde_json::Map<String, Value> = names
        .windows(2)
        .map(|pair| (pair[0].clone(), json!({ "main": [[{ "node": pair[1] }]] })))
        .collect();
    let workflow = dir.path().join("chain.json");
    std::fs::write(
        &workflow,
        json!({ "id": "chain", "nodes": nodes, "connections": connections }).to_string(),
    )
    .unwrap();
    // mem:// keeps every node's output in the process: the harder case.
    let Some((response, peak_mib)) = run_limited(
        "nodes",
        &[
            "run",
            workflow.to_str().unwrap(),
            "--state",
            "mem://",
            "--json",
        ],
    ) else {
        return;
    };
    assert_eq!(response["status"], "success", "{response}");
    println!("memory: {NODES} nodes on mem://: peak RSS {peak_mib:.1} MiB (limit 128 MiB)");
}

/// 100,000 items of about 60 bytes of JSON each, through two nodes that take them all as JSON
/// values (`Items<Value>`): as values each item takes about 650 bytes, so one copy of the items
/// is 65 MB. That fits because the engine hands a node's input over to a node that consumes it
/// rather than copying it, sizes the buffers it stores outputs in, and keeps glibc's
/// allocator from holding on to freed memory (see `hetumind::entry`).
#[test]
fn a_100_000_item_node_completes_in_128_mib() {
    const ITEMS: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("items.json");
    std::fs::write(
        &workflow,
        json!({ "id": "items", "nodes": [
            { "name": "In", "kind": "test.echo" },
            { "name": "Out", "kind": "test.echo" }
        ], "connections": { "In": { "main": [[{ "node": "Out" }]] } } })
        .to_string(),
    )
    .unwrap();
    let items: Vec<Value> = (0..ITEMS)
        .map(|i| json!({ "json": { "id": i, "name": format!("customer {i}"), "active": i % 2 == 0 } }))
        .collect();
    let input = dir.path().join("input.json");
    std::fs::write(&input, Value::Array(items).to_string()).unwrap();
    let state = format!("file://{}", dir.path().join("state").display());
    let Some((response, peak_mib)) = run_limited(
        "items",
        &[
            "run",
            workflow.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--state",
            &state,
            "--json",
        ],
    ) else {
        return;
    };
    assert_eq!(response["status"], "success", "{response}");
    println!(
        "memory: {ITEMS} items through two nodes on file://: peak RSS {peak_mib:.1} MiB (limit 128 MiB)"
    );
}
