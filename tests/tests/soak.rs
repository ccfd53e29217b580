//! Soak under faults: many executions from several processes at once (`soak-runner`), with
//! faults injected between them and the store, and processes killed at random and started
//! again. Afterwards every execution is resumed to its end, and the test checks that none was
//! lost, that no node ran twice except in an execution whose invocation was cut short (killed
//! or failed: the documented in-flight retry), that every stored output came from a logged run,
//! and that every object in the store parses.
//!
//! - On `s3://` (moto), through a proxy started here that, for each new connection, drops it
//!   at once, answers `503 SlowDown`, answers slowly, or cuts the response short, and closes
//!   connections after a random lifetime so that the faults keep coming.
//! - On `file://` in a small tmpfs mounted here, filled up for a while (the disk is full), with
//!   the same kills.
//!
//! Sized for CI (`SOAK_SCALE=1`: 4 processes, 120 executions on S3 and 1,000 on files, a
//! handful of kills); `SOAK_SCALE=10 cargo test -p hetumind-tests --test soak -- --nocapture`
//! is the long run. Each phase prints its report: executions, faults, kills, lost, duplicated.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hetumind::engine::{Engine, EngineOptions};
use hetumind::model::{ExecuteWorkflow, NextAction, Request, Workflow};
use hetumind::store::StateStore;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "support/moto.rs"]
mod support;

// `test.record`, which the executions run (for resuming them here), and the dice.
use hetumind_tests::random_below as random;

const RUNNER: &str = env!("CARGO_BIN_EXE_soak-runner");
const RUNNERS: u32 = 4;

fn scale() -> u32 {
    std::env::var("SOAK_SCALE")
        .ok()
        .and_then(|scale| scale.parse().ok())
        .unwrap_or(1)
}

/// Start -> A -> B -> C, each a `test.record` appending its run to `log`.
fn workflow(log: &Path) -> Value {
    let names = ["Start", "A", "B", "C"];
    let nodes: Vec<Value> = names
        .iter()
        .map(|name| {
            json!({ "name": name, "kind": "test.record",
                "parameters": { "log": log.display().to_string(), "pause_ms": 10 } })
        })
        .collect();
    let mut connections = serde_json::Map::new();
    for pair in names.windows(2) {
        connections.insert(
            pair[0].to_owned(),
            json!({ "main": [[{ "node": pair[1] }]] }),
        );
    }
    json!({ "id": "soak", "nodes": nodes, "connections": connections })
}

/// The runners of one phase: `RUNNERS` processes, each with its range of executions, killed
/// at random and started again on what is left of their range.
struct Runners {
    dir: PathBuf,
    state: String,
    env: Vec<(&'static str, String)>,
    per_runner: u32,
    children: Vec<Option<Child>>,
    /// Executions in flight when their runner was killed.
    killed_in_flight: BTreeSet<String>,
    kills: u32,
}

impl Runners {
    fn start(dir: &Path, state: &str, env: Vec<(&'static str, String)>, per_runner: u32) -> Self {
        let mut runners = Self {
            dir: dir.to_owned(),
            state: state.to_owned(),
            env,
            per_runner,
            children: (0..RUNNERS).map(|_| None).collect(),
            killed_in_flight: BTreeSet::new(),
            kills: 0,
        };
        for runner in 0..RUNNERS {
            runners.spawn(runner, 0);
        }
        runners
    }

    fn out(&self, runner: u32) -> PathBuf {
        self.dir.join(format!("runner-{runner}.out"))
    }

    fn spawn(&mut self, runner: u32, from: u32) {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.out(runner))
            .unwrap();
        let child = Command::new(RUNNER)
            .args([
                &self.state,
                &self.dir.join("workflow.json").display().to_string(),
                &format!("r{runner}"),
                &from.to_string(),
                &self.per_runner.to_string(),
            ])
            .envs(self.env.iter().map(|(name, value)| (*name, value.as_str())))
            .env("HETUMIND_LEASE_MS", "1000")
            .stdout(Stdio::from(out))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children[runner as usize] = Some(child);
    }

    /// Lines a runner printed so far.
    fn lines(&self, runner: u32) -> Vec<String> {
        std::fs::read_to_string(self.out(runner))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Kills a running runner at random and starts it again on the rest of its range.
    fn kill_one(&mut self) {
        let runner = u32::try_from(random(u64::from(RUNNERS))).unwrap();
        let Some(mut child) = self.children[runner as usize].take() else {
            return;
        };
        if child.try_wait().unwrap().is_some() {
            self.children[runner as usize] = Some(child);
            return;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        self.kills += 1;
        let lines = self.lines(runner);
        let last = lines
            .iter()
            .rev()
            .find_map(|line| line.strip_prefix("begin "))
            .map(str::to_owned);
        let from = match &last {
            Some(id) => {
                self.killed_in_flight.insert(id.clone());
                id.rsplit('-').next().unwrap().parse().unwrap()
            }
            None => 0,
        };
        self.spawn(runner, from);
    }

    /// Whether every runner has exited.
    fn finished(&mut self) -> bool {
        self.children.iter_mut().all(|child| {
            child
                .as_mut()
                .is_none_or(|child| child.try_wait().unwrap().is_some())
        })
    }

    /// Kills at random every `interval` (up to `kills` times) until every runner has exited.
    fn run(&mut self, kills: u32, interval: Duration, during: impl Fn(Duration)) {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(600);
        while !self.finished() {
            assert!(Instant::now() < deadline, "the runners did not finish");
            std::thread::sleep(
                interval / 2 + Duration::from_millis(random(interval.as_millis() as u64)),
            );
            during(start.elapsed());
            if self.kills < kills {
                self.kill_one();
            }
        }
    }

    /// Executions whose invocations were cut short: killed in flight, or failed.
    fn disrupted(&self) -> BTreeSet<String> {
        let mut disrupted = self.killed_in_flight.clone();
        for runner in 0..RUNNERS {
            for line in self.lines(runner) {
                if let Some(rest) = line.strip_prefix("error ") {
                    disrupted.insert(rest.split(':').next().unwrap().to_owned());
                }
            }
        }
        disrupted
    }

    /// How many invocations failed with an error mentioning `what`.
    fn errors(&self, what: &str) -> usize {
        (0..RUNNERS)
            .map(|runner| {
                self.lines(runner)
                    .iter()
                    .filter(|line| line.starts_with("error ") && line.contains(what))
                    .count()
            })
            .sum()
    }
}

/// Resumes every execution to its end (waiting out the leases of killed processes), checks
/// what the phase promised, and prints the report.
async fn recover_and_check(
    phase: &str,
    store: Arc<dyn StateStore>,
    runners: &Runners,
    faults: String,
) {
    let engine = Engine::new(hetumind::Registry::global().unwrap(), Arc::clone(&store))
        .with_options(EngineOptions {
            lease: Duration::from_millis(1000),
            ..EngineOptions::default()
        });
    let workflow: Workflow =
        serde_json::from_slice(&std::fs::read(runners.dir.join("workflow.json")).unwrap()).unwrap();
    let ids: Vec<String> = (0..RUNNERS)
        .flat_map(|runner| (0..runners.per_runner).map(move |n| format!("r{runner}-{n}")))
        .collect();
    let mut resumed = 0;
    let mut lost = Vec::new();
    for id in &ids {
        let state = store
            .get(&format!("executions/{id}/state.json"))
            .await
            .unwrap();
        let request = match state {
            // Its runner gave up before the start was stored: the start is sent again.
            None => Request::ExecuteWorkflow(ExecuteWorkflow {
                workflow_id: None,
                workflow: Some(Box::new(workflow.clone())),
                execution_id: Some(id.clone()),
                input_data: None,
                trigger: None,
                metadata: serde_json::Map::new(),
            }),
            Some(state) => {
                let state: Value = serde_json::from_slice(&state.bytes).unwrap();
                if state["status"] == "success" {
                    continue;
                }
                Request::resume(id.clone())
            }
        };
        resumed += 1;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match engine.handle(request.clone(), None).await {
                Ok(response) if response.next_action == NextAction::Complete => break,
                Ok(response) => panic!("{id}: {response:?}"),
                Err(error) if Instant::now() < deadline => {
                    assert_eq!(
                        error.error_type(),
                        "Hetumind.StateConflict",
                        "{id}: {error}"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    lost.push(format!("{id}: {error}"));
                    break;
                }
            }
        }
    }

    // Every run the nodes logged, by execution and node.
    let log = std::fs::read_to_string(runners.dir.join("runs.log")).unwrap();
    let mut runs: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut tokens = BTreeSet::new();
    for line in log.lines() {
        let (node, token) = line.split_once(' ').unwrap();
        let execution = token.split(':').next().unwrap().to_owned();
        *runs.entry((execution, node.to_owned())).or_default() += 1;
        tokens.insert(token.to_owned());
    }
    let disrupted = runners.disrupted();
    let duplicated: Vec<_> = runs
        .iter()
        .filter(|((execution, _), count)| **count > 1 && !disrupted.contains(execution))
        .collect();
    let retried = runs.values().filter(|count| **count > 1).count();

    // Every object parses; every stored output came from a logged run.
    let keys = store.list("executions/").await.unwrap();
    let mut outputs = 0;
    for key in &keys {
        let stored = store.get(key).await.unwrap().unwrap();
        let value: Value = serde_json::from_slice(&stored.bytes)
            .unwrap_or_else(|error| panic!("{key} is corrupt: {error}"));
        if key.contains("/nodes/") {
            outputs += 1;
            let token = value[0][0]["json"]["token"].as_str().unwrap();
            assert!(tokens.contains(token), "{key}: {token} was never logged");
        }
    }
    eprintln!(
        "soak {phase}: {} executions by {RUNNERS} processes; {faults}; {} kills; {} failed invocations; {resumed} resumed after; lost {}; duplicated {}; {retried} node runs retried in flight; {} objects, {outputs} outputs, none corrupt",
        ids.len(),
        runners.kills,
        runners.errors(""),
        lost.len(),
        duplicated.len(),
        keys.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(
        duplicated.is_empty(),
        "ran twice, undisrupted: {duplicated:?}"
    );
    assert_eq!(
        outputs,
        ids.len() * 4,
        "one output per node of every execution"
    );
}

// ---------------------------------------------------------------------------------------------
// S3 through a faulty proxy

/// What the proxy injected.
#[derive(Default)]
struct Faults {
    connections: AtomicU64,
    dropped: AtomicU64,
    slow_down: AtomicU64,
    slow: AtomicU64,
    cut: AtomicU64,
    expired: AtomicU64,
    on: AtomicBool,
}

impl Faults {
    fn report(&self) -> String {
        let count = |counter: &AtomicU64| counter.load(Ordering::SeqCst);
        format!(
            "{} connections, faults: {} dropped, {} answered 503, {} slow, {} cut short, {} closed after their lifetime",
            count(&self.connections),
            count(&self.dropped),
            count(&self.slow_down),
            count(&self.slow),
            count(&self.cut),
            count(&self.expired)
        )
    }
}

/// A proxy to `target` on a port of its own that injects faults into new connections while
/// `faults.on`.
async fn fault_proxy(target: String, faults: Arc<Faults>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let (target, faults) = (target.clone(), Arc::clone(&faults));
            tokio::spawn(async move {
                let _ = serve(inbound, &target, &faults).await;
            });
        }
    });
    port
}

async fn serve(mut inbound: TcpStream, target: &str, faults: &Faults) -> std::io::Result<()> {
    faults.connections.fetch_add(1, Ordering::SeqCst);
    let dice = if faults.on.load(Ordering::SeqCst) {
        random(100)
    } else {
        99
    };
    match dice {
        0..=4 => {
            faults.dropped.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        5..=9 => {
            faults.slow_down.fetch_add(1, Ordering::SeqCst);
            read_request(&mut inbound).await?;
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let answer = format!(
                "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            inbound.write_all(answer.as_bytes()).await?;
            return inbound.shutdown().await;
        }
        10..=14 => {
            faults.slow.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200 + random(800))).await;
        }
        _ => {}
    }
    let mut outbound = TcpStream::connect(target).await?;
    let lifetime = Duration::from_millis(500 + random(2500));
    if (15..=19).contains(&dice) {
        // Cut short: the response stops after a few bytes.
        faults.cut.fetch_add(1, Ordering::SeqCst);
        let (mut in_read, mut in_write) = inbound.split();
        let (mut out_read, mut out_write) = outbound.split();
        let budget = random(400) as usize;
        let upstream = tokio::io::copy(&mut in_read, &mut out_write);
        let downstream = async {
            let mut buffer = vec![0; budget.max(1)];
            let read = out_read.read(&mut buffer).await?;
            in_write.write_all(&buffer[..read.min(budget)]).await
        };
        let _ = tokio::time::timeout(lifetime, async { tokio::join!(upstream, downstream) }).await;
        return Ok(());
    }
    if tokio::time::timeout(
        lifetime,
        tokio::io::copy_bidirectional(&mut inbound, &mut outbound),
    )
    .await
    .is_err()
    {
        faults.expired.fetch_add(1, Ordering::SeqCst);
    }
    Ok(())
}

/// Reads one request (headers and a `Content-Length` body) so that an answer is not a reset.
async fn read_request(inbound: &mut TcpStream) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if inbound.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: usize = text
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    inbound.read_exact(&mut body).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_on_s3_through_faults_and_kills() {
    let Some(moto) = support::moto() else { return };
    moto.create_bucket("soak").await;
    let faults = Arc::new(Faults::default());
    faults.on.store(true, Ordering::SeqCst);
    let port = fault_proxy(
        moto.endpoint.trim_start_matches("http://").to_owned(),
        Arc::clone(&faults),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("workflow.json"),
        workflow(&dir.path().join("runs.log")).to_string(),
    )
    .unwrap();
    let mut env: Vec<(&'static str, String)> = moto.env().into_iter().collect();
    for (name, value) in &mut env {
        if *name == "AWS_ENDPOINT_URL_S3" {
            *value = format!("http://127.0.0.1:{port}");
        }
    }
    let per_runner = 30 * scale();
    let runners = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || {
            let mut runners = Runners::start(&dir, "s3://soak/run", env, per_runner);
            runners.run(4 * scale(), Duration::from_secs(3), |_| {});
            runners
        }
    })
    .await
    .unwrap();
    faults.on.store(false, Ordering::SeqCst);
    let store: Arc<dyn StateStore> = Arc::new(hetumind::store::S3Store::with_client(
        "soak",
        "run",
        moto.client(),
    ));
    recover_and_check("s3", store, &runners, faults.report()).await;
}

// ---------------------------------------------------------------------------------------------
// Files on a disk that fills up

/// A tmpfs of `size` mounted at `path`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "the full-disk soak needs to mount a tmpfs (run as root) in CI"
            );
            eprintln!("skipping the full-disk soak: cannot mount a tmpfs here (not root?)");
            return None;
        }
        Some(Self(path.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the file system of `dir` with `filler` until it is full.
fn fill(filler: &Path) -> u64 {
    let mut file = std::fs::File::create(filler).unwrap();
    let block = vec![0u8; 64 * 1024];
    let mut written = 0;
    while file.write_all(&block).is_ok() {
        written += block.len() as u64;
    }
    let _ = file.sync_all();
    written
}

#[test]
fn soak_on_a_file_store_that_fills_up() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    let Some(_tmpfs) = Tmpfs::mount(&disk, "256m") else {
        return;
    };
    std::fs::write(
        dir.path().join("workflow.json"),
        workflow(&dir.path().join("runs.log")).to_string(),
    )
    .unwrap();
    let state = format!("file://{}", disk.join("state").display());
    let filler = disk.join("filler");
    let full = AtomicBool::new(false);
    let full_for = AtomicU64::new(0);
    let mut runners = Runners::start(dir.path(), &state, Vec::new(), 250 * scale());
    // The disk is full from the second second for two seconds, and again later.
    runners.run(4 * scale(), Duration::from_millis(800), |elapsed| {
        let second = elapsed.as_secs() % 6;
        let want_full = (1..3).contains(&second);
        if want_full && !full.swap(true, Ordering::SeqCst) {
            fill(&filler);
            full_for.fetch_add(1, Ordering::SeqCst);
        } else if !want_full && full.swap(false, Ordering::SeqCst) {
            std::fs::remove_file(&filler).unwrap();
        }
    });
    if full.load(Ordering::SeqCst) {
        std::fs::remove_file(&filler).unwrap();
    }
    let store = hetumind::store::open(&state).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(recover_and_check(
        "file",
        store,
        &runners,
        format!("the disk full {} time(s)", full_for.load(Ordering::SeqCst)),
    ));
    // No temporary file is left once the executions finished: a write the full disk refused
    // removed its own, and one a killed writer left was taken over by the key's next write.
    let mut leftovers = Vec::new();
    let mut stack = vec![disk.join("state")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else if entry.file_name().to_string_lossy().ends_with(".tmp") {
                leftovers.push(entry.path());
            }
        }
    }
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    assert!(
        runners.errors("No space left on device") > 0,
        "the full disk failed no write"
    );
}
