// Roles are found by their types, so their order is free.
use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize, JsonSchema)]
struct Offset {
    by: i64,
}

/// Context first, parameters last.
#[node(kind = "pass.order_each")]
async fn shift(ctx: Ctx, Item(n): Item<i64>, Params(offset): Params<Offset>) -> Result<i64, NodeError> {
    let _ = ctx;
    Ok(n + offset.by)
}

/// Borrowed context between all items and parameters.
#[node(kind = "pass.order_all")]
async fn shift_all(
    Items(all): Items<i64>,
    ctx: &Ctx,
    Params(offset): Params<Offset>,
) -> Result<Vec<i64>, NodeError> {
    let _ = ctx;
    Ok(all.into_iter().map(|n| n + offset.by).collect())
}

fn main() {
    for kind in ["pass.order_each", "pass.order_all"] {
        let output = NodeTest::new(kind)
            .params(json!({ "by": 10 }))
            .items([json!(1), json!(2)])
            .run_blocking()
            .expect("runs");
        assert_eq!(output.json(0), [json!(11), json!(12)], "{kind}");
    }
}
