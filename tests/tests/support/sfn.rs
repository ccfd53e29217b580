//! The project's Step Functions state machine (`examples/deploy/statemachine.asl.json`), run
//! for real by the `aws-local-stepfunctions` interpreter through `tests/sfn/run.mjs`, which
//! serves every Lambda task with a process of the test function (`hetumind-test invoke`).
//!
//! The interpreter is an npm package that `.ci/install-tools aws-local-stepfunctions`
//! installs under `${HETUMIND_CI_TOOLS:-$HOME/.cache/hetumind-ci}` (`.ci/test` does so before
//! the tests). With `CI=true` a missing interpreter (or `node`) fails the test; elsewhere the
//! test is skipped with a message saying how to install it.
//!
//! Included by the `step_functions` test and benchmark, each with `support/moto.rs` as
//! `support`.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hetumind::store::{Condition, FsStore, S3Store, StateStore};
use serde_json::Value;

/// The function every task runs: the test binary with the test nodes.
pub(crate) const FUNCTION: &str = env!("CARGO_BIN_EXE_hetumind-test");
/// The harness.
pub(crate) const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sfn/run.mjs");
/// The state machine, as deployed.
pub(crate) const MACHINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/deploy/statemachine.asl.json"
);

/// The npm prefix the interpreter is installed under, or `None` (outside CI) when it or `node`
/// is missing.
pub(crate) fn interpreter() -> Option<PathBuf> {
    let tools = std::env::var_os("HETUMIND_CI_TOOLS").map_or_else(
        || {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cache/hetumind-ci")
        },
        PathBuf::from,
    );
    let installed = tools
        .join("node_modules/aws-local-stepfunctions/package.json")
        .is_file();
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed && node {
        return Some(tools);
    }
    let missing = if node {
        format!(
            "aws-local-stepfunctions is not installed under {}",
            tools.display()
        )
    } else {
        "node is not installed".to_owned()
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{missing}: the Step Functions tests need it in CI (.ci/install-tools aws-local-stepfunctions)"
    );
    eprintln!(
        "skipping the Step Functions tests: {missing}; run .ci/install-tools aws-local-stepfunctions"
    );
    None
}

/// A state store the function's processes share with the test.
pub(crate) struct Store {
    /// Its URL, for `--state`.
    pub(crate) url: String,
    /// The environment the processes need to reach it.
    pub(crate) env: Vec<(&'static str, String)>,
    /// The store itself, for the test's own reads and writes.
    pub(crate) store: Arc<dyn StateStore>,
    /// What the test writes beside the store (node logs), removed with it.
    pub(crate) dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

impl Store {
    /// A fresh `file://` store.
    pub(crate) fn file() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = dir.path().join("state");
        Self {
            url: format!("file://{}", root.display()),
            env: Vec::new(),
            store: Arc::new(FsStore::new(root)),
            dir,
            runtime: runtime(),
        }
    }

    /// A fresh bucket `bucket` on the shared moto server, or `None` (outside CI) when
    /// `moto_server` is missing.
    pub(crate) fn s3(bucket: &str) -> Option<Self> {
        let moto = crate::support::moto()?;
        let runtime = runtime();
        runtime.block_on(moto.create_bucket(bucket));
        Some(Self {
            url: format!("s3://{bucket}/runs"),
            env: moto.env().into(),
            store: Arc::new(S3Store::with_client(bucket, "runs", moto.client())),
            dir: tempfile::tempdir().expect("a temporary directory"),
            runtime,
        })
    }

    /// Stores `workflow` as `workflows/{id}.json`, where `workflow_id` finds it.
    pub(crate) fn put_workflow(&self, workflow: &Value) {
        let id = workflow["id"].as_str().expect("a workflow id");
        let bytes = serde_json::to_vec(workflow).expect("JSON");
        self.runtime
            .block_on(
                self.store
                    .put(&format!("workflows/{id}.json"), bytes, Condition::Create),
            )
            .unwrap_or_else(|error| panic!("store workflow {id} on {}: {error}", self.url));
    }

    /// A path beside the store, for a node's log.
    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// One run of the state machine in progress.
pub(crate) struct Run {
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
    started: Instant,
    what: String,
}

/// Reads `pipe` to its end on a thread of its own, so that the harness never blocks on a
/// full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

/// How long a run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(180);

impl Run {
    /// Starts the state machine with `input` on `store`; `env` adds to the function's
    /// environment (and sets the harness's knobs, such as `HETUMIND_SFN_KILL`).
    pub(crate) fn start(tools: &Path, store: &Store, input: &Value, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new("node")
            .arg(HARNESS)
            .args([MACHINE, FUNCTION, &store.url, &input.to_string()])
            .env("HETUMIND_SFN_TOOLS", tools)
            .envs(store.env.iter().map(|(name, value)| (name, value)))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node runs");
        let stdout = drain(child.stdout.take().expect("piped"));
        let stderr = drain(child.stderr.take().expect("piped"));
        Self {
            child,
            stdout,
            stderr,
            started: Instant::now(),
            what: format!("{input} on {}", store.url),
        }
    }

    /// Waits for the run's report: the harness's last line (see `tests/sfn/run.mjs`).
    pub(crate) fn finish(mut self) -> Value {
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for node") {
                break status;
            }
            if self.started.elapsed() > RUN_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the state machine ran over {RUN_LIMIT:?}: {}", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.join().expect("stdout read");
        let stderr = self.stderr.join().expect("stderr read");
        assert!(
            status.success(),
            "the harness failed ({status}) for {}: {stderr}",
            self.what
        );
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|error| {
            panic!(
                "the harness's report is not JSON ({error}) for {}: {stdout}{stderr}",
                self.what
            )
        })
    }
}

/// The `json` of each item of the function's last answer (`output_data`).
pub(crate) fn outputs(report: &Value) -> Vec<Value> {
    report["last_response"]["output_data"]
        .as_array()
        .unwrap_or_else(|| panic!("no output_data in {report}"))
        .iter()
        .map(|item| item["json"].clone())
        .collect()
}

/// How many invocations of `request_type` the run made.
pub(crate) fn invocations(report: &Value, request_type: &str) -> u64 {
    report["invocations"][request_type].as_u64().unwrap_or(0)
}
