use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use serde_json::json;

/// Takes nothing at all and emits one constant item.
#[node(kind = "pass.no_roles")]
async fn constant() -> Result<&'static str, NodeError> {
    Ok("constant")
}

fn main() {
    let output = NodeTest::new("pass.no_roles").items([json!(1)]).run_blocking().expect("runs");
    assert_eq!(output.json(0), [json!("constant")]);
}
