// Every routed output form: `Routed<T>`, `Vec<Routed<T>>` and `Option<Routed<T>>`.
use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use serde_json::json;

/// Sends each number to `even` or `odd`.
#[node(kind = "pass.routed", outputs("even", "odd"))]
async fn parity(Item(n): Item<i64>) -> Result<Routed<i64>, NodeError> {
    Ok(Routed::to(if n % 2 == 0 { "even" } else { "odd" }, n))
}

/// Sends each number to both outputs.
#[node(kind = "pass.routed_many", outputs("copy", "negated"))]
async fn fan_out(Item(n): Item<i64>) -> Result<Vec<Routed<i64>>, NodeError> {
    Ok(vec![Routed::to("copy", n), Routed::to("negated", -n)])
}

/// Keeps positive numbers, by size; a name computed at run time is checked at run time.
#[node(kind = "pass.routed_maybe", outputs("small", "large"))]
async fn positive(Item(n): Item<i64>) -> Result<Option<Routed<i64>>, NodeError> {
    let output = if n < 10 { "small" } else { "large" };
    Ok((n > 0).then(|| Routed::to(output, n)))
}

/// One declared output and a plain return need no routing.
#[node(kind = "pass.single_named_output", outputs("done"))]
async fn done(Item(n): Item<i64>) -> Result<i64, NodeError> {
    Ok(n)
}

fn main() {
    let run = |kind: &str| {
        NodeTest::new(kind)
            .items([json!(-1), json!(2), json!(30)])
            .run_blocking()
            .expect("runs")
    };
    let parity = run("pass.routed");
    assert_eq!(parity.named("even"), [json!(2), json!(30)]);
    assert_eq!(parity.named("odd"), [json!(-1)]);
    let fan_out = run("pass.routed_many");
    assert_eq!(fan_out.named("copy"), [json!(-1), json!(2), json!(30)]);
    assert_eq!(fan_out.named("negated"), [json!(1), json!(-2), json!(-30)]);
    let positive = run("pass.routed_maybe");
    assert_eq!(positive.named("small"), [json!(2)]);
    assert_eq!(positive.named("large"), [json!(30)]);
    assert_eq!(run("pass.single_named_output").named("done").len(), 3);
}
