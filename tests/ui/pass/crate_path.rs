// `crate = path` names the facade when it is not `::hetumind`, as a path or as a string.
use hetumind::prelude::*;

mod sdk {
    pub use ::hetumind::*;
}

/// The default path, spelled out.
#[node(kind = "pass.crate_absolute", crate = ::hetumind)]
async fn absolute(Item(n): Item<u32>) -> Result<u32, NodeError> {
    Ok(n)
}

/// A re-export of the facade.
#[node(kind = "pass.crate_reexport", crate = crate::sdk)]
async fn reexported(Item(n): Item<u32>) -> Result<u32, NodeError> {
    Ok(n)
}

/// The path as a string.
#[node(kind = "pass.crate_string", crate = "::hetumind")]
async fn string(Item(n): Item<u32>) -> Result<u32, NodeError> {
    Ok(n)
}

fn main() {
    let registry = hetumind::Registry::global().expect("no duplicates");
    for kind in ["pass.crate_absolute", "pass.crate_reexport", "pass.crate_string"] {
        assert!(registry.latest(kind).is_some(), "{kind}");
    }
}
