// Any error type that converts into `NodeError` can be returned.
use std::fmt;

use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use serde_json::json;

#[derive(Debug)]
enum MailError {
    Bounced(String),
}

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bounced(to) => write!(f, "mail to {to} bounced"),
        }
    }
}

impl From<MailError> for NodeError {
    fn from(error: MailError) -> Self {
        NodeError::terminal(error)
    }
}

/// Fails for every address.
#[node(kind = "pass.custom_error")]
async fn send(Item(to): Item<String>) -> Result<(), MailError> {
    Err(MailError::Bounced(to))
}

fn main() {
    let error = NodeTest::new("pass.custom_error")
        .items([json!("ada@example.com")])
        .run_blocking()
        .expect_err("fails");
    assert!(error.to_string().contains("mail to ada@example.com bounced"), "{error}");
}
