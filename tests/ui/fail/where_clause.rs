use hetumind::prelude::*;

#[node(kind = "test.where_clause")]
async fn where_clause(Item(v): Item<u32>) -> Result<u32, NodeError>
where
    u32: Copy,
{
    Ok(v)
}

fn main() {}
