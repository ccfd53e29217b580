//! A Hetumind runner with the test nodes, for process-level tests.

hetumind::lambda_main!();
