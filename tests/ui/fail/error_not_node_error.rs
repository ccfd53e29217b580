use hetumind::prelude::*;

#[derive(Debug)]
struct MailError;

#[node(kind = "test.error_not_node_error")]
async fn error_not_node_error(Item(v): Item<u32>) -> Result<u32, MailError> {
    Ok(v)
}

fn main() {}
