// Paired output forms of an all-items node: `Vec<Paired<T>>` and `Vec<Routed<Paired<T>>>`;
// the outputs carry the lineage of the inputs they are paired with.
use hetumind::prelude::*;
use hetumind::testing::NodeTest;
use serde_json::json;

/// Sorts numbers, each keeping its input's lineage.
#[node(kind = "pass.paired_sort")]
async fn sort(Items(numbers): Items<i64>) -> Result<Vec<Paired<i64>>, NodeError> {
    let mut paired: Vec<_> = numbers.into_iter().enumerate().collect();
    paired.sort_by_key(|&(_, n)| n);
    Ok(paired
        .into_iter()
        .map(|(i, n)| Paired::with(i, n))
        .collect())
}

/// Splits numbers by sign, each keeping its input's lineage.
#[node(kind = "pass.paired_routed", outputs("negative", "positive"))]
async fn split(Items(numbers): Items<i64>) -> Result<Vec<Routed<Paired<i64>>>, NodeError> {
    Ok(numbers
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            Routed::to(
                if n < 0 { "negative" } else { "positive" },
                Paired::with(i, n),
            )
        })
        .collect())
}

/// Pairs its single output with an input it never received.
#[node(kind = "pass.paired_out_of_range")]
async fn out_of_range(Items(numbers): Items<i64>) -> Result<Option<Paired<usize>>, NodeError> {
    Ok(Some(Paired::with(5, numbers.len())))
}

fn main() {
    let items = || {
        [3, -1, 2].map(|n| ItemData {
            source: Some(hetumind::model::ItemSource {
                node: format!("from {n}").into(),
                output_index: 0,
                item_index: 0,
            }),
            ..ItemData::new(json!(n))
        })
    };
    let origin = |item: &ItemData| item.source.as_ref().map(|source| source.node.to_string());

    let sorted = NodeTest::new("pass.paired_sort")
        .raw_items(items())
        .run_blocking()
        .expect("runs");
    let sorted = sorted.items(0);
    assert_eq!(
        sorted
            .iter()
            .map(|item| item.json.clone())
            .collect::<Vec<_>>(),
        [json!(-1), json!(2), json!(3)]
    );
    assert_eq!(
        sorted.iter().map(origin).collect::<Vec<_>>(),
        ["from -1", "from 2", "from 3"].map(|name| Some(name.to_owned()))
    );

    let split = NodeTest::new("pass.paired_routed")
        .raw_items(items())
        .run_blocking()
        .expect("runs");
    assert_eq!(
        split.items(0).iter().map(origin).collect::<Vec<_>>(),
        [Some("from -1".to_owned())]
    );
    assert_eq!(
        split.items(1).iter().map(origin).collect::<Vec<_>>(),
        ["from 3", "from 2"].map(|name| Some(name.to_owned()))
    );

    let error = NodeTest::new("pass.paired_out_of_range")
        .raw_items(items())
        .run_blocking()
        .expect_err("an input the node did not receive");
    assert_eq!(
        error.to_string(),
        "the node failed: the node paired its output item 0 with input item 5, but it received 3 item(s)"
    );
}
