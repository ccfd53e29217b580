use hetumind::prelude::*;

// The function is emitted as written whether `#[node]` accepts it or not, so that the user's
// own mistakes are reported as usual next to the macro's.
#[node(kind = "test.user_errors_still_reported")]
async fn accepted(Item(v): Item<u32>) -> Result<u32, NodeError> {
    let text: String = v;
    Ok(text.len() as u32)
}

#[node(kind = "test.user_errors_still_reported", version = 0)]
async fn rejected(Item(v): Item<u32>) -> Result<u32, NodeError> {
    let text: String = v;
    Ok(text.len() as u32)
}

fn main() {}
