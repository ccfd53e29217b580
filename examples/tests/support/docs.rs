//! The documentation the tests of `docs_commands.rs` and `docs_links.rs` read.

use std::path::{Path, PathBuf};

/// The workspace's root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the examples crate is in the workspace")
        .to_owned()
}

/// `README.md` and `docs/*.md`, relative to the workspace, in that order, the guide sorted.
pub(crate) fn readme_and_guide() -> Vec<PathBuf> {
    let root = workspace();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| path.strip_prefix(&root).expect("under the root").to_owned())
        .collect();
    files.sort();
    files.insert(0, PathBuf::from("README.md"));
    files
}
