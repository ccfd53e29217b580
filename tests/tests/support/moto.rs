//! A real S3-compatible server for the tests: `moto_server` (PyPI `moto[server]`), started once
//! per test binary on 127.0.0.1 and a free port. With `CI=true` a missing server fails the
//! test; elsewhere the S3 tests are skipped with a message saying how to install it.
//!
//! Included by several test binaries, each using a part of it.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

/// A running server.
pub(crate) struct Moto {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
    _process: ChildGuard,
}

struct ChildGuard(Child, Option<std::process::ChildStdin>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Closing the lifeline makes the shell kill the server and exit.
        drop(self.1.take());
        let _ = self.0.wait();
    }
}

/// The shared server, or `None` (outside CI) when `moto_server` is not installed.
pub(crate) fn moto() -> Option<&'static Moto> {
    static MOTO: OnceLock<Option<Moto>> = OnceLock::new();
    MOTO.get_or_init(start).as_ref()
}

fn start() -> Option<Moto> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let installed = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "moto_server is required in CI: pip install 'moto[server]'"
        );
        eprintln!("skipping S3 tests: moto_server not found; pip install 'moto[server]'");
        return None;
    }
    // The server lives as long as this process: a shell starts it and kills it when its stdin
    // (a pipe this process holds until it exits, however it exits) closes.
    let script = format!(
        "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & server=$!; trap 'kill $server 2>/dev/null' EXIT; read _"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh runs");
    let lifeline = child.stdin.take();
    let process = ChildGuard(child, lifeline);
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on {endpoint}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Moto {
        endpoint,
        _process: process,
    })
}

impl Moto {
    /// A client for this server, with test credentials.
    pub(crate) fn client(&self) -> aws_sdk_s3::Client {
        client_for(&self.endpoint)
    }

    /// Creates `bucket`.
    pub(crate) async fn create_bucket(&self, bucket: &str) {
        self.client()
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|error| panic!("create bucket {bucket}: {error:?}"));
    }

    /// The environment a child process needs to reach this server through `s3://` URLs.
    pub(crate) fn env(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT_URL_S3", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }
}

/// A client for an S3-compatible server at `endpoint`, with test credentials.
pub(crate) fn client_for(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .region(Region::new("us-east-1"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
