//! The examples function under the real cargo-lambda client (`pip install cargo-lambda`):
//! `cargo lambda watch` builds and serves `hetumind-examples` behind its Lambda emulator, and
//! `cargo lambda invoke --data-file` sends it requests, as a developer would before deploying.
//! With `CI=true` a missing cargo-lambda fails the test; elsewhere the test says why it did not
//! run.

#![allow(clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// `cargo lambda watch`, and everything it started, killed when dropped.
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        // The watcher runs in its own process group with the function it started.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cargo_lambda_installed() -> bool {
    Command::new("cargo")
        .args(["lambda", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `cargo lambda invoke` with `request`; fails with the watcher's log when the function could
/// not be built or does not answer in time.
fn invoke(port: u16, dir: &Path, name: &str, request: &Value) -> Output {
    let file = dir.join(name);
    std::fs::write(&file, serde_json::to_vec(request).unwrap()).unwrap();
    let mut child = Command::new("cargo")
        .args(["lambda", "invoke", "hetumind-examples", "--data-file"])
        .arg(&file)
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .args(["--output-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        let log = std::fs::read_to_string(dir.join("watch.log")).unwrap_or_default();
        let failed = log.contains("could not compile") || log.contains("ERROR");
        if failed || started.elapsed() > Duration::from_secs(900) {
            let _ = child.kill();
            panic!("the function did not answer; cargo lambda watch said:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn cargo_lambda_watch_serves_the_examples_function() {
    if !cargo_lambda_installed() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cargo-lambda is required in CI: pip install cargo-lambda"
        );
        eprintln!("cargo-lambda is not installed (pip install cargo-lambda): test not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.path().join("watch.log")).unwrap();
    let mut command = Command::new("cargo");
    command
        .current_dir(workspace())
        .args(["lambda", "watch", "-p", "hetumind-examples"])
        .args(["--bin", "hetumind-examples", "--ignore-changes", "--quiet"])
        .args(["-A", "127.0.0.1", "-P", &port.to_string()])
        .arg("--env-var")
        .arg(format!(
            "HETUMIND_STATE=file://{}",
            dir.path().join("state").display()
        ))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let _watch = Watch(command.spawn().unwrap());

    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while TcpStream::connect(address).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "cargo lambda watch did not listen on {address}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // A workflow of the examples crate, inline; the first invocation waits for the build.
    let workflow: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("examples/workflows/greetings.json")).unwrap(),
    )
    .unwrap();
    let output = invoke(
        port,
        dir.path(),
        "execute.json",
        &json!({ "request_type": "execute_workflow", "workflow": workflow, "execution_id": "cl-1" }),
    );
    assert!(
        output.status.success(),
        "invoke failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["success"], true, "{response}");
    assert_eq!(response["status"], "success");
    assert_eq!(response["next_action"], json!({ "type": "complete" }));
    assert_eq!(response["execution_id"], "cl-1");
    let messages: Vec<&Value> = response["output_data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["json"]["message"])
        .collect();
    assert_eq!(
        messages,
        [
            &json!("Hello, Ada!"),
            &json!("Hello, Grace!"),
            &json!("Hello, Linus!")
        ]
    );

    // Resuming the finished execution is a no-op with the same answer.
    let output = invoke(
        port,
        dir.path(),
        "resume.json",
        &json!({ "request_type": "resume_execution", "execution_id": "cl-1" }),
    );
    assert!(output.status.success());
    let response: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(response["next_action"], json!({ "type": "complete" }));

    // A bad request comes back as an error with its stable type and the JSON path.
    let output = invoke(
        port,
        dir.path(),
        "bad.json",
        &json!({ "request_type": "execute_node", "execution_id": 7 }),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Hetumind.InvalidRequest"), "{stderr}");
    assert!(stderr.contains("execution_id"), "{stderr}");
}
