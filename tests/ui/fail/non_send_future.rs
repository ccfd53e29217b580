use std::rc::Rc;

use hetumind::prelude::*;

async fn lookup(v: u32) -> u32 {
    v
}

#[node(kind = "test.non_send_future")]
async fn non_send_future(Item(v): Item<u32>) -> Result<u32, NodeError> {
    let cache = Rc::new(v);
    let found = lookup(v).await;
    Ok(*cache + found)
}

fn main() {}
