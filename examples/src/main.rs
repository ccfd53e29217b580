//! The examples binary: the built-in nodes and the example nodes in one executable, a Lambda
//! function under Lambda and a command line everywhere else.

hetumind::lambda_main!();
