//! The `main` of every `lambda_main!()` binary: the Lambda runtime loop under Lambda, the
//! command line everywhere else, with logging set up for each.

/// The `main` of `lambda_main!()` binaries: the Lambda runtime loop under Lambda
/// (`AWS_LAMBDA_RUNTIME_API` set), the command line everywhere else.
#[must_use]
pub fn main() -> std::process::ExitCode {
    let started = std::time::Instant::now();
    return_freed_memory();
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    init_tracing(lambda);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if lambda {
        match runtime.block_on(crate::lambda::run(started)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("init error: {error}");
                eprintln!("init error: {error}");
                std::process::ExitCode::FAILURE
            }
        }
    } else {
        runtime.block_on(crate::cli::run(std::env::args_os()))
    }
}

/// Makes glibc's allocator give large freed blocks back to the system, as it does by default
/// until the first one is freed.
///
/// After freeing a block larger than its mmap threshold (128 KiB by default), glibc raises the
/// threshold to that block's size (up to 32 MiB), and its trim threshold to twice that: from
/// then on, blocks of up to that size come from the heap, and up to 64 MiB of freed memory can
/// stay in the process. A node of many items frees several such blocks (its input's buffers,
/// the serialized output), and with them the 100,000-item workflow of `tests/tests/memory.rs`
/// peaked above 128 MiB, Lambda's smallest memory. Setting the threshold once turns the
/// adjustment off. It is set to 1 MiB rather than the default's 128 KiB: blocks below it (a
/// workflow file, its serialized copy, the plan's tables) reuse freed heap pages instead of
/// each mapping fresh ones, which spares a 10,000-node workflow run on the command line about
/// 550 of its 4,000 page faults, while the memory test's peak stays where it was (118 MiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_freed_memory() {
    const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;
    // SAFETY: `mallopt` only sets a parameter of the allocator, under its own lock; it has no
    // precondition and may be called at any time. A failure (0) leaves glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Other allocators and C libraries keep their own behaviour.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory() {}

/// Logs to stderr (the CLI) or stdout (Lambda, as JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), at
/// the level of `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default: `info` under Lambda, `warn`
/// otherwise); with the `otel` feature, exports spans too when an OTLP endpoint is set (see
/// `telemetry`), whatever the log level.
fn init_tracing(lambda: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| if lambda { "info" } else { "warn" }.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(level.to_lowercase())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let logs = tracing_subscriber::fmt::layer();
    let logs = if !lambda {
        logs.with_writer(std::io::stderr).boxed()
    } else if std::env::var("AWS_LAMBDA_LOG_FORMAT").as_deref() == Ok("JSON") {
        logs.json().without_time().boxed()
    } else {
        logs.without_time().with_ansi(false).boxed()
    };
    let _ = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(crate::telemetry::layer())
        .try_init();
}
