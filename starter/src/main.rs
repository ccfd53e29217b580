//! The function: every node of this crate and of its dependencies in one binary, a Lambda
//! function under Lambda (`AWS_LAMBDA_RUNTIME_API` set) and a command line everywhere else
//! (`cargo run -- --help`).

hetumind::lambda_main!();
