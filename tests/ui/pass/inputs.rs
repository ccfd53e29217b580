// `inputs`: a count, "any", and the default.
use hetumind::InputCount;
use hetumind::prelude::*;

/// Joins two inputs.
#[node(kind = "pass.join", inputs = 2)]
async fn join(Items(items): Items<u32>) -> Result<Vec<u32>, NodeError> {
    Ok(items)
}

/// Appends any number of inputs.
#[node(kind = "pass.append", inputs = "any")]
async fn append(Items(items): Items<u32>) -> Result<Vec<u32>, NodeError> {
    Ok(items)
}

/// Reads one input.
#[node(kind = "pass.one")]
async fn one(Item(n): Item<u32>) -> Result<u32, NodeError> {
    Ok(n)
}

fn main() {
    let registry = hetumind::Registry::global().expect("no duplicates");
    let inputs = |kind: &str| registry.latest(kind).expect("registered").inputs;
    assert_eq!(inputs("pass.join"), InputCount::Fixed(2));
    assert_eq!(inputs("pass.append"), InputCount::Any);
    assert_eq!(inputs("pass.one"), InputCount::ONE);
}
