use hetumind::prelude::*;

#[node(kind = "test.non_result_return")]
async fn non_result_return(Item(v): Item<u32>) -> u32 {
    v
}

fn main() {}
