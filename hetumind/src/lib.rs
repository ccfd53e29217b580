//! Hetumind: write workflow nodes as annotated async Rust functions, link any number of them
//! into one binary, and run workflows durably on AWS Lambda or locally.
//!
//! # Writing a node
//!
//! ```rust,standalone_crate
//! use hetumind::prelude::*;
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, JsonSchema)]
//! pub struct GreetParams {
//!     pub greeting: String,
//! }
//!
//! #[derive(Deserialize, JsonSchema)]
//! pub struct Person {
//!     pub name: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! pub struct Greeting {
//!     pub message: String,
//! }
//!
//! /// Greets every person it receives.
//! #[node(kind = "example.greet", version = 1, retry(max_attempts = 5, initial = "200ms", max = "30s"))]
//! pub async fn greet(
//!     Params(p): Params<GreetParams>,
//!     Item(person): Item<Person>,
//!     ctx: Ctx,
//! ) -> Result<Greeting, NodeError> {
//!     Ok(Greeting { message: format!("{}, {}!", p.greeting, person.name) })
//! }
//! ```
//!
//! The function stays a plain async function; `#[node]` adds a registration that the binary
//! collects at link time. Every node of the binary is then in the [`Registry`]:
//!
//! ```rust,standalone_crate
//! # use hetumind::prelude::*;
//! # /// Passes items on.
//! # #[node(kind = "example.pass")]
//! # async fn pass(Item(v): Item<serde_json::Value>) -> Result<serde_json::Value, NodeError> { Ok(v) }
//! let registry = hetumind::Registry::global().expect("no duplicate nodes");
//! let node = registry.latest("example.pass").expect("linked");
//! assert_eq!(node.description, "Passes items on.");
//! ```
//!
//! Test a node exactly as the engine calls it with [`testing::NodeTest`].

// Lets `#[node]` (which names `::hetumind`) be used inside this crate too.
#[allow(unused_extern_crates)]
extern crate self as hetumind;

pub mod engine;
pub mod model;
mod node;
pub mod registry;
pub mod retry;
pub mod store;
pub mod testing;

#[doc(hidden)]
pub mod __private;

pub use hetumind_macros::{link_node_crates, node};
pub use model::{ItemData, Workflow};
pub use node::{
    BoxFuture, Ctx, ErrorKind, ExecuteMode, Invocation, Item, Items, NodeError, NodeOutput,
    NodeRegistration, OutputSink, Params, Routed, RunInfo, SourceLocation,
};
pub use registry::Registry;
pub use retry::RetryPolicy;

/// The README's examples, compiled as doctests so that they cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Everything a node author needs, in one import.
pub mod prelude {
    pub use crate::model::ItemData;
    pub use crate::node::{Ctx, Item, Items, NodeError, Params, Routed};
    pub use hetumind_macros::node;
}
