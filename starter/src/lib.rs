//! The nodes of this function. Add a module per node (or group of nodes); `#[node]` registers
//! each one, and `hetumind::lambda_main!()` in `main.rs` links this library into the binary.

pub mod order_total;
