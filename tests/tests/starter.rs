//! The starter crate (`starter/`), as a user gets it: copied outside the workspace, with its
//! `hetumind` dependencies pointed at this checkout (as its Cargo.toml tells a user to), its
//! tests pass and its binary runs its workflow with the command its README gives.
//!
//! It builds in `target/external` (with the external node crate's test), offline: the copy
//! gets the workspace's Cargo.lock, so it builds with the versions the workspace does.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

/// The Git repository the starter takes `hetumind` from: the workspace's `repository`.
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
}

fn starter() -> PathBuf {
    workspace().join("starter")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

/// The starter's `hetumind` dependencies, as they appear in its manifest, and the directory of
/// each crate in this checkout.
fn hetumind_dependencies() -> [(String, &'static str); 2] {
    [
        (
            format!("hetumind = {{ git = \"{REPOSITORY}\" }}"),
            "hetumind",
        ),
        (
            format!("hetumind-nodes = {{ git = \"{REPOSITORY}\" }}"),
            "nodes",
        ),
    ]
}

/// Copies the starter's files, leaving out what a build inside it leaves behind.
fn copy_starter(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["target", ".hetumind", "Cargo.lock"]
            .iter()
            .any(|skipped| name == *skipped)
        {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_starter(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// `cargo ARGS` in `dir`, building into `target/external`, offline.
fn cargo(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO"))
        .args(args)
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target").join("external"),
        )
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        // The binary runs as a command line, on its own default state store.
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("HETUMIND_STATE")
        .env_remove("HETUMIND_INDEX")
        .output()
        .expect("cargo runs")
}

fn assert_succeeded(output: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "`{what}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_starter_is_a_function_crate_of_its_own() {
    let manifest = read(&starter().join("Cargo.toml"));
    assert!(
        manifest.lines().any(|line| line.trim() == "[workspace]"),
        "the starter is a workspace of its own, wherever it is copied"
    );
    for (dependency, _) in hetumind_dependencies() {
        assert_eq!(
            manifest
                .lines()
                .filter(|line| line.trim() == dependency)
                .count(),
            1,
            "the starter's manifest has the line `{dependency}` (the workspace's repository)"
        );
    }
    // The release profile the guide prescribes for Lambda: a panicking node must unwind.
    let release = manifest
        .split("[profile.release]")
        .nth(1)
        .expect("a release profile");
    for setting in [
        "panic = \"unwind\"",
        "lto = \"fat\"",
        "codegen-units = 1",
        "strip = \"symbols\"",
    ] {
        assert!(
            release.lines().any(|line| line.trim() == setting),
            "the starter's release profile sets {setting}"
        );
    }
    assert_eq!(
        read(&starter().join("build.rs")),
        read(&workspace().join("examples").join("build.rs")),
        "the starter links its binary as non-PIE as the examples do"
    );
    assert!(read(&starter().join("src").join("main.rs")).contains("hetumind::lambda_main!();"));
    assert!(starter().join("cargo-generate.toml").is_file());
}

#[test]
fn the_starter_builds_passes_its_tests_and_runs_its_workflow() {
    // Outside the workspace, as a user's function is.
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("my-function");
    copy_starter(&starter(), &dir);

    // Point the `hetumind` dependencies at this checkout, as the manifest tells a user to.
    let mut manifest = read(&dir.join("Cargo.toml"));
    for (dependency, crate_dir) in hetumind_dependencies() {
        assert!(
            manifest.contains(&dependency),
            "no `{dependency}` in the starter's manifest"
        );
        let name = dependency.split(" = ").next().unwrap();
        let path = workspace().join(crate_dir);
        let path = path.to_str().expect("a UTF-8 checkout path");
        manifest = manifest.replace(&dependency, &format!("{name} = {{ path = '{path}' }}"));
    }
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // The workspace's versions, all in the local cache.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    let output = cargo(&dir, &["test", "--offline", "--quiet"]);
    let stdout = assert_succeeded(&output, "cargo test");
    assert!(
        stdout.contains("test result: ok. 4 passed"),
        "expected the starter's 4 tests to pass:\n{stdout}"
    );

    // The README's command, verbatim.
    let output = cargo(
        &dir,
        &[
            "run",
            "--offline",
            "--quiet",
            "--",
            "run",
            "workflows/orders.json",
            "--input",
            "workflows/inputs/orders.json",
        ],
    );
    let stdout = assert_succeeded(&output, "cargo run -- run workflows/orders.json");
    let items: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("the output items are not JSON ({error}):\n{stdout}"));
    assert_eq!(
        items,
        json!([
            { "id": "A-2", "subtotal_cents": 5998, "tax_cents": 1200, "total_cents": 7198 },
            { "id": "A-1", "subtotal_cents": 2500, "tax_cents": 500, "total_cents": 3000 },
            { "id": "A-3", "subtotal_cents": 990, "tax_cents": 198, "total_cents": 1188 }
        ])
    );
    // The run was kept in the default store, in the function's directory.
    assert!(dir.join(".hetumind").is_dir());
}
