use hetumind::prelude::*;
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    total: u64,
}

#[derive(Debug)]
struct DbError;

// A rule of the macro and what the types lack are reported by the same compile.
#[node(kind = "test.trait_and_macro_errors", version = 0)]
async fn trait_and_macro_errors(Items(all): Items<std::time::Instant>) -> Result<Report, DbError> {
    Ok(Report { total: all.len() as u64 })
}

fn main() {}
