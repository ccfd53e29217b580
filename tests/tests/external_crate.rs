//! A node crate outside the workspace (`tests/external-node-crate`) that depends only on
//! `hetumind`, serde and schemars builds, and its own tests find its nodes in the registry:
//! `#[node]` needs nothing else from the crate that uses it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The external crate's directory.
fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("external-node-crate")
}

/// Every file of the external crate a human writes: its manifest and its Rust sources.
fn authored_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "target") {
                authored_files(&path, files);
            }
        } else if path
            .extension()
            .is_some_and(|extension| extension == "rs" || extension == "toml")
        {
            files.push(path);
        }
    }
}

#[test]
fn the_external_crate_names_nothing_but_the_public_api() {
    let mut files = Vec::new();
    authored_files(&crate_dir(), &mut files);
    files.sort();
    let names: Vec<String> = files
        .iter()
        .filter_map(|file| file.file_name()?.to_str().map(str::to_owned))
        .collect();
    for expected in ["Cargo.toml", "lib.rs", "registry.rs"] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} is missing from {names:?}"
        );
    }
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
        for forbidden in ["inventory", "serde_json", "__private"] {
            assert!(
                !text.contains(forbidden),
                "{} names `{forbidden}`: the external crate must need only `hetumind`, serde and schemars",
                file.display()
            );
        }
    }

    let manifest = std::fs::read_to_string(crate_dir().join("Cargo.toml")).expect("manifest");
    assert!(
        manifest.lines().any(|line| line.trim() == "[workspace]"),
        "the external crate is a workspace of its own"
    );
    assert!(
        crate_dir().join("Cargo.lock").is_file(),
        "the external crate keeps its lockfile, to build offline with the workspace's versions"
    );
    let lib = std::fs::read_to_string(crate_dir().join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("#![forbid(unsafe_code)]"), "{lib}");
}

#[test]
fn the_external_crate_builds_and_its_tests_pass() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    let manifest = crate_dir().join("Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .arg("test")
        .arg("--manifest-path")
        .arg(&manifest)
        // The lockfile pins the workspace's versions and every crate is in the local cache.
        .arg("--offline")
        .arg("--quiet")
        .env(
            "CARGO_TARGET_DIR",
            workspace.join("target").join("external"),
        )
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "`cargo test --manifest-path {}` failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        manifest.display(),
        output.status
    );
    // The external crate's tests ran, and not zero of them.
    assert!(
        stdout.contains("test result: ok. 6 passed"),
        "expected the external crate's 6 tests to pass:\n{stdout}"
    );
}
