use hetumind::prelude::*;

mod model {
    #[derive(schemars::JsonSchema)]
    pub struct Person {
        pub name: String,
    }
}

#[node(kind = "test.params_qualified_path")]
async fn params_qualified_path(Params(p): Params<self::model::Person>) -> Result<String, NodeError> {
    Ok(p.name)
}

fn main() {}
