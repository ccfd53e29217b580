//! The baseline of the `registry_startup` benchmark: a binary linking only 10 generated nodes.
//! `registry_startup` builds and spawns it to compare process start-up against its own 2,000
//! nodes; run on its own it just says so.

use std::process::ExitCode;

#[path = "common/startup_child.rs"]
mod startup_child;

mod generated {
    include!(concat!(env!("OUT_DIR"), "/startup_nodes_10.rs"));
}

fn main() -> ExitCode {
    if let Some(code) = startup_child::run_if_child() {
        return code;
    }
    println!(
        "registry_startup_baseline: {} generated nodes; the baseline binary of \
         `cargo bench -p hetumind-tests --bench registry_startup`, which spawns it",
        generated::GENERATED_NODES
    );
    ExitCode::SUCCESS
}
