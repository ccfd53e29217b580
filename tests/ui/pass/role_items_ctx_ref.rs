use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use serde_json::json;

/// Sums all input items at once; the context is borrowed.
#[node(kind = "pass.items_ctx_ref")]
async fn sum(Items(numbers): Items<i64>, ctx: &Ctx) -> Result<i64, NodeError> {
    let _ = ctx.items().len();
    Ok(numbers.iter().sum())
}

fn main() {
    let output = NodeTest::new("pass.items_ctx_ref")
        .items([json!(1), json!(2), json!(39)])
        .run_blocking()
        .expect("runs");
    assert_eq!(output.json(0), [json!(42)]);
}
