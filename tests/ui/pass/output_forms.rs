// Every unrouted output form: `T`, `Vec<T>` and `Option<T>`, with a qualified path too.
use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

#[derive(Serialize, JsonSchema)]
struct Doubled {
    value: i64,
}

/// One item out per item in.
#[node(kind = "pass.one")]
async fn one(Item(n): Item<i64>) -> Result<Doubled, NodeError> {
    Ok(Doubled { value: n * 2 })
}

/// Any number of items out.
#[node(kind = "pass.many")]
async fn many(Item(n): Item<usize>) -> Result<Vec<usize>, NodeError> {
    Ok(vec![n; n])
}

/// A filter.
#[node(kind = "pass.maybe")]
async fn maybe(Item(n): Item<i64>) -> Result<std::option::Option<i64>, NodeError> {
    Ok((n % 2 == 0).then_some(n))
}

/// An output type named by its path.
#[node(kind = "pass.json")]
async fn value(Item(v): Item<serde_json::Value>) -> Result<::std::vec::Vec<serde_json::Value>, NodeError> {
    Ok(vec![v])
}

fn main() {
    let run = |kind: &str| {
        NodeTest::new(kind).items([json!(1), json!(2)]).run_blocking().expect("runs").json(0)
    };
    assert_eq!(run("pass.one"), [json!({ "value": 2 }), json!({ "value": 4 })]);
    assert_eq!(run("pass.many"), [json!(1), json!(2), json!(2)]);
    assert_eq!(run("pass.maybe"), [json!(2)]);
    assert_eq!(run("pass.json"), [json!(1), json!(2)]);
}
