//! Hetumind: write workflow nodes as annotated async Rust functions, link any number of them
//! into one binary, and run workflows durably on AWS Lambda or locally.
//!
//! A workflow is a graph of nodes passing lists of JSON items. A node is one async function
//! marked `#[node]`; a binary whose `main.rs` is [`lambda_main!`] is a Lambda function under
//! Lambda and a command line everywhere else, running every node it links. The execution's
//! state lives in a store (a directory, memory or S3), so a run survives any crash and goes on
//! over as many invocations as it needs. The guide (the `docs/` directory of the repository)
//! covers workflows, deployment and operations; this page is the map of the API.
//!
//! # For node authors: the prelude
//!
//! `use hetumind::prelude::*;` brings everything a node is written with:
//!
//! | item | what it is |
//! |---|---|
//! | [`node`](macro@node) | the attribute that makes an async function a node |
//! | [`Params<T>`] | the node's parameters, deserialized into `T` |
//! | [`Item<T>`] / [`Items<T>`] | one input item (the function runs per item) / all of them at once |
//! | [`Ctx`] | the run's context: execution, node and attempt, time left, idempotency keys, the other inputs, waits and signals, sub-workflows, metrics, the logging span |
//! | [`NodeError`] | how a run ends without output: a retryable or terminal failure, a retry after a delay, a wait |
//! | [`Routed<T>`] | an item sent to one of the node's named outputs |
//! | [`Paired<T>`] | an output item that names the input items it comes from (lineage) |
//! | [`ItemData`] | an item as the engine carries it: JSON and binary parts |
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
//! Then, for node authors:
//!
//! - [`testing`]: [`NodeTest`](testing::NodeTest) runs one node exactly as the engine calls it;
//!   [`WorkflowTest`](testing::WorkflowTest) runs a whole workflow in memory, waits included.
//! - [`blocking`] runs blocking code off the engine's threads; [`Metric`] and [`MetricUnit`]
//!   are what [`Ctx::metric`] takes; [`RetryPolicy`] is a node's default retry policy.
//! - [`lambda_main!`] makes the binary; [`link_node_crates!`] is the part of it that links
//!   node crates, for a `main` of your own.
//!
//! # For function authors: running and configuring
//!
//! - [`entry`]: what `main` does (the Lambda runtime loop under Lambda, else [`cli`]).
//! - [`config`]: every environment variable the function reads (state store, limits, secrets,
//!   index, state machine), read once at start-up.
//! - [`model`]: the JSON formats: [`Workflow`], items, requests and responses; [`limits`]:
//!   the bounds on what a workflow, a request or an output may hold ([`Limits`]).
//! - [`expression`], [`secrets`]: expressions in node parameters and the secrets they read.
//!
//! # The engine and its plumbing
//!
//! Not needed to write nodes or to deploy a function; for embedding the engine in another
//! program, writing a store or an index, or reading how an execution goes:
//!
//! | layer | modules | what lives there |
//! |---|---|---|
//! | front ends | [`entry`], [`cli`], [`lambda`], [`testing`] | `main`; the command line; the Lambda handler, triggers, the hand-off to a state machine and the runtime loop; the test harnesses |
//! | configuration | [`config`] | every environment variable, read once; the store opened once |
//! | engine | [`engine`], [`resume`], [`graph`] | validation and planning (`plan`); what can run (`schedule`, pure and synchronous); how a node run goes: retries, timeouts, panics, deadlines (`attempt`); every read and write of an execution: claim, lease, restore, outputs, progress (`journal`); the invocation loop composing them (`run`); fan-out from the coordinating side: what workers did, the tasks of an answer (`dispatch`); one node run in an invocation of its own, `execute_node` (`worker`); driving invocations as an orchestrator would (`drive`); bounded store calls (`budget`); retention (`cleanup`); resuming waits; the workflow drawn as a chart |
//! | nodes | [`registry`], the node API at the crate root ([`Ctx`], [`NodeError`], [`NodeRegistration`], ...) | the nodes linked into the binary; what node code sees and how `#[node]` calls it |
//! | storage and records | [`store`], [`index`] | where state lives: a directory, memory, S3; the execution index in PostgreSQL |
//! | foundations | [`model`], [`retry`], [`time`], [`BoxFuture`] | workflows, items, requests and responses; retry policies; the clock and jitter |
//!
//! Each layer uses only the layers below it, never one above. The runtime knows no built-in
//! node by its kind: a node plays a part (such as answering the HTTP trigger) by declaring a
//! role, `#[node(role = "http_response")]`.
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `s3` | yes | the `s3://` state store (aws-sdk-s3) |
//! | `step-functions` | yes | handing executions to a Step Functions state machine (`HETUMIND_STATE_MACHINE_ARN`) |
//! | `aws-secrets` | yes | secrets from AWS Secrets Manager and SSM Parameter Store (`HETUMIND_SECRETS`) |
//! | `postgres` | yes | the execution index in PostgreSQL (`HETUMIND_INDEX`) |
//! | `otel` | no | OpenTelemetry traces exported over OTLP/HTTP (the `OTEL_*` variables) |

// Lets `#[node]` (which names `::hetumind`) be used inside this crate too.
#[allow(unused_extern_crates)]
extern crate self as hetumind;

#[cfg(any(feature = "s3", feature = "step-functions", feature = "aws-secrets"))]
mod aws;
pub mod cli;
pub mod config;
pub mod engine;
pub mod entry;
pub mod expression;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod graph;
pub mod index;
mod json_path;
pub mod lambda;
pub mod limits;
pub mod model;
mod node;
pub mod registry;
pub mod resume;
pub mod retry;
pub mod secrets;
pub mod store;
mod telemetry;
pub mod testing;
pub mod time;

/// A boxed future that can be sent between threads: what node registrations and stores return.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[doc(hidden)]
pub mod __private;

/// Makes an async function a workflow node: `#[node(kind = "...", ...)]`.
///
/// # Arguments of the attribute
///
/// | argument | meaning |
/// |---|---|
/// | `kind = "acme.send_mail"` | required; lowercase letters, digits, `.`, `_`, `-` |
/// | `version = 2` | from 1; default 1. `kind` and `version` identify the node |
/// | `inputs = 2` | how many inputs the node reads (connections may end at inputs 0 to 1); `inputs = "any"` for 0, 1 and so on, one per connection; default 1 |
/// | `outputs("true", "false")` | named outputs (default one, `main`); the node then returns `Routed<T>` |
/// | `retry(max_attempts = 5, initial = "200ms", max = "30s", backoff_rate = 2.0, jitter = "full")` | the default retry policy, any subset |
/// | `crate = path` | where `hetumind` is, when it is not `::hetumind` |
///
/// The function's doc comment becomes the node's description. Its arguments are roles
/// ([`Params`], [`Item`] or [`Items`], [`Ctx`]) and it returns `Result<O, E>` with
/// `E: Into<NodeError>` and `O` one of `T`, `Vec<T>`, `Option<T>`, `Routed<T>`,
/// `Vec<Routed<T>>`, `Option<Routed<T>>`. An all-items node may return [`Paired<T>`] values in
/// any of these forms to say which input each output derives from. See the crate documentation
/// and the guide, docs/writing-nodes.md.
///
/// # What it generates
///
/// The function is left exactly as written, so it can be called directly in tests. Beside it,
/// in an anonymous `const` block, the macro describes the node to the runtime and registers it.
/// For `async fn greet(Params(p): Params<GreetParams>, Item(person): Item<Person>, ctx: Ctx)
/// -> Result<Greeting, NodeError>` that is, in substance:
///
/// ```text
/// const _: () = {
///     struct __hetumind_node;
///     impl NodeTypes for __hetumind_node {
///         type Params = GreetParams;   // checked here: Deserialize + JsonSchema
///         type Input = Person;         // checked here: Deserialize + JsonSchema
///         type Output = Greeting;      // checked here: Serialize + JsonSchema
///         type Returned = Greeting;
///         const OUTPUTS: &'static [&'static str] = &["main"];
///         const CONSUMES_ITEMS: bool = false; // it takes a `Ctx`
///     }
///     impl EachItemNode for __hetumind_node {
///         fn call(params: GreetParams, input: Person, ctx: Ctx) -> impl Future<..> + Send {
///             async move { into_result(greet(Params(params), Item(input), ctx).await) }
///         }
///         // `Some(GreetParams::clone)` when GreetParams is `Clone` (parameters are then
///         // deserialized once per run of the node, not once per item), else `None`.
///         fn clone_params() -> Option<fn(&GreetParams) -> GreetParams> { ... }
///     }
///     inventory::submit! {
///         NodeRegistration {
///             kind: "example.greet", version: 1, description: "Greets ...",
///             outputs: &["main"], inputs: InputCount::ONE, role: NodeRole::Regular, nonblocking: false,
///             mode: ExecuteMode::EachItem, consumes_items: <__hetumind_node as NodeTypes>::CONSUMES_ITEMS,
///             retry: RetryPolicy { max_attempts: 5, ..RetryPolicy::DEFAULT },
///             location: SourceLocation { file: file!(), line: line!(), module: module_path!() },
///             params_schema: <__hetumind_node as NodeTypes>::params_schema,   // lazy
///             input_schema: ..., output_schema: ..., check_params: ...,
///             invoke: invoke_each_item::<__hetumind_node>,
///         }
///     }
/// };
/// ```
///
/// Everything else (conversion, the per-item loop, `on_error`, lineage, schemas) is generic
/// code of this crate. Mistakes are compile errors on your token:
///
/// ```compile_fail
/// use hetumind::prelude::*;
///
/// /// Not async: "a `#[node]` function must be async".
/// #[node(kind = "doc.sync")]
/// fn sync(Item(n): Item<u32>) -> Result<u32, NodeError> {
///     Ok(n)
/// }
/// ```
///
/// ```compile_fail
/// use hetumind::prelude::*;
///
/// /// "this node has no output named `maybe`; its outputs are `yes`, `no`".
/// #[node(kind = "doc.route", outputs("yes", "no"))]
/// async fn route(Item(n): Item<u32>) -> Result<Routed<u32>, NodeError> {
///     Ok(Routed::to("maybe", n))
/// }
/// ```
pub use hetumind_macros::node;

/// Names every dependency of the calling package so that the linker keeps the nodes they
/// register: `hetumind::link_node_crates!();` at the root of a binary.
///
/// A crate that a binary never names is not linked, and the nodes it registers silently
/// disappear from the [`Registry`]. This macro reads the binary's `Cargo.toml` at compile time
/// and emits `use dep as _;` for each `[dependencies]` entry, `[target.'cfg(..)'.dependencies]`
/// under their `cfg`, and optional dependencies under `feature = "dep"`. A dependency whose
/// library is named differently from its package (`md-5` is `md5`) is found by reading its own
/// manifest (path dependencies and the registry's source cache); a vendored one is not: rename
/// it in `Cargo.toml` (`md5 = { package = "md-5", ... }`). Dependencies under a target-triple key
/// are left out: name those yourself with `use the_crate as _;`.
pub use hetumind_macros::link_node_crates;
pub use limits::Limits;
pub use model::{ItemData, Workflow};
pub use node::{
    Ctx, ErrorKind, ExecuteMode, InputCount, Invocation, Item, Items, Metric, MetricUnit,
    NodeError, NodeOutput, NodeRegistration, NodeRole, OutputSink, Paired, Params, Routed, RunInfo,
    SourceLocation, blocking,
};
pub use registry::Registry;
pub use retry::RetryPolicy;

/// Makes this binary a Hetumind runner: `hetumind::lambda_main!();` at the root of `main.rs`.
///
/// It links every node crate the binary depends on ([`link_node_crates!`]) and defines `main`
/// as [`entry::main`]: the Lambda runtime loop under Lambda, the command line ([`cli`])
/// everywhere else.
///
/// ```no_run
/// hetumind::lambda_main!();
/// ```
#[macro_export]
macro_rules! lambda_main {
    () => {
        $crate::link_node_crates!();

        fn main() -> ::std::process::ExitCode {
            $crate::entry::main()
        }
    };
}

/// The README's examples, compiled as doctests so that they cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The guide's examples (`docs/*.md`), compiled as doctests the same way.
#[cfg(doctest)]
mod guide_doctests;

/// Everything a node author needs, in one import.
pub mod prelude {
    pub use crate::model::ItemData;
    pub use crate::node::{Ctx, Item, Items, NodeError, Paired, Params, Routed};
    pub use hetumind_macros::node;
}
