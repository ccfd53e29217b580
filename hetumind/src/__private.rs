//! Not public API: the items generated code names. Everything here may change in any release.

pub use crate::node::execute::{
    AllItemsNode, EachItemNode, IntoNodeError, NoInput, NoParams, NodeInput, NodeOutputValue,
    NodeParams, NodeReturn, NodeTypes, into_result, invoke_all_items, invoke_each_item,
};
pub use crate::node::{
    BoxFuture, Ctx, ExecuteMode, Item, Items, NodeError, NodeRegistration, OutputSink, Params,
    Routed, SourceLocation,
};
pub use crate::retry::{Jitter, RetryPolicy};
pub use core::future::Future;
pub use core::result::Result;
pub use core::time::Duration;
pub use inventory;

/// The `main` of `lambda_main!()` binaries.
#[must_use]
pub fn main() -> std::process::ExitCode {
    init_tracing();
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(crate::cli::run(std::env::args_os())),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
