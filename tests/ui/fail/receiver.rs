use hetumind::prelude::*;

struct Greeter;

impl Greeter {
    #[node(kind = "test.receiver")]
    async fn greet(&self, Item(v): Item<u32>) -> Result<u32, NodeError> {
        Ok(v)
    }
}

fn main() {}
