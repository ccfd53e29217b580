//! The child side of the start-up benchmark: what a freshly started benchmark binary does when
//! the parent spawns it to time a whole process start.

use std::process::ExitCode;
use std::time::Instant;

/// The argument prefix that makes a benchmark binary act as a start-up child.
pub(crate) const CHILD_ARG: &str = "--startup-child=";

/// Runs the child mode named by `--startup-child=MODE` when it is among the arguments.
///
/// Modes: `exit` returns at once (the process start and the link-time inventory constructors
/// only); `global` also builds the global registry and prints `{nodes} {nanoseconds}`, the
/// registry's size and how long `Registry::global()` took inside the fresh process.
pub(crate) fn run_if_child() -> Option<ExitCode> {
    let mode = std::env::args().find_map(|arg| arg.strip_prefix(CHILD_ARG).map(str::to_owned))?;
    Some(match mode.as_str() {
        "exit" => ExitCode::SUCCESS,
        "global" => {
            let start = Instant::now();
            let registry = hetumind::Registry::global();
            let elapsed = start.elapsed();
            match registry {
                Ok(registry) => {
                    println!("{} {}", registry.len(), elapsed.as_nanos());
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("invalid registry: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        other => {
            eprintln!("unknown start-up child mode `{other}`");
            ExitCode::FAILURE
        }
    })
}
