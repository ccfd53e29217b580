use hetumind::prelude::*;

#[node(kind = acme.send_mail)]
async fn kind_not_string(Item(v): Item<u32>) -> Result<u32, NodeError> {
    Ok(v)
}

fn main() {}
