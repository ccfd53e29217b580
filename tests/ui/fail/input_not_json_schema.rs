use hetumind::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Person {
    name: String,
}

#[node(kind = "test.input_not_json_schema")]
async fn input_not_json_schema(Items(people): Items<Person>) -> Result<Vec<String>, NodeError> {
    Ok(people.into_iter().map(|person| person.name).collect())
}

fn main() {}
