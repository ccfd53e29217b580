//! The `main` of every `lambda_main!()` binary: the Lambda runtime loop under Lambda, the
//! command line everywhere else, with logging set up for each.

/// The `main` of `lambda_main!()` binaries: the Lambda runtime loop under Lambda
/// (`AWS_LAMBDA_RUNTIME_API` set), the command line everywhere else.
#[must_use]
pub fn main() -> std::process::ExitCode {
    let started = std::time::Instant::now();
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

/// Logs to stderr (the CLI) or stdout (Lambda, as JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), at
/// the level of `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default: `info` under Lambda, `warn`
/// otherwise).
fn init_tracing(lambda: bool) {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| if lambda { "info" } else { "warn" }.to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(level.to_lowercase())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if !lambda {
        builder.with_writer(std::io::stderr).try_init()
    } else if std::env::var("AWS_LAMBDA_LOG_FORMAT").as_deref() == Ok("JSON") {
        builder.json().without_time().try_init()
    } else {
        builder.without_time().with_ansi(false).try_init()
    };
}
