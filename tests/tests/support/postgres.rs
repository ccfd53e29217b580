//! A real PostgreSQL server for the tests: a cluster of its own per test binary, made with
//! Debian's `initdb` in a temporary directory and started with `pg_ctl` on 127.0.0.1 and a
//! free port (as the `postgres` user when the tests run as root: the server refuses root).
//! With `CI=true` a missing PostgreSQL fails the test; elsewhere the test is skipped with a
//! message saying how to install it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster, stopped when dropped.
pub(crate) struct Postgres {
    /// A `postgres://` URL of its `postgres` database, as user `hetumind` (trusted).
    pub(crate) url: String,
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.starts_with(b"0\n"))
}

/// Runs `program` with `args`, as `postgres` when asked; panics with its output on failure.
fn run(as_postgres: bool, program: &Path, args: &[&str]) {
    let mut command = if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    };
    let output = command.args(args).output().expect("runs");
    assert!(
        output.status.success(),
        "{} {args:?}: {}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Postgres {
    /// Starts a cluster, or `None` (outside CI) when PostgreSQL is not installed.
    pub(crate) fn start() -> Option<Self> {
        let Some(bin) = server_bin() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL is required in CI: apt-get install postgresql"
            );
            eprintln!("skipped: PostgreSQL is not installed (apt-get install postgresql)");
            return None;
        };
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "hetumind-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_nanos())
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if as_postgres {
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let data = dir.join("data");
        let data_arg = data.to_str().expect("utf-8 path");
        run(
            as_postgres,
            &bin.join("initdb"),
            &[
                "-D",
                data_arg,
                "-A",
                "trust",
                "-U",
                "hetumind",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            dir.display()
        );
        run(
            as_postgres,
            &bin.join("pg_ctl"),
            &[
                "-D",
                data_arg,
                "-o",
                &options,
                "-w",
                "-l",
                &format!("{data_arg}/log"),
                "start",
            ],
        );
        Some(Self {
            url: format!("postgres://hetumind@127.0.0.1:{port}/postgres?sslmode=disable"),
            bin,
            data,
            as_postgres,
        })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data.to_str().unwrap_or_default();
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"));
            command
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = command
            .args(["-D", data, "-m", "immediate", "stop"])
            .output();
        if let Some(dir) = self.data.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
