//! What a node is: its argument roles, its context, its errors, its outputs, and the
//! registration `#[node]` generates for it.

mod blocking;
mod ctx;
mod error;
pub(crate) mod execute;
mod metric;
pub(crate) mod output;
mod registration;
mod roles;

pub use blocking::blocking;
pub(crate) use ctx::input_ends;
pub use ctx::{Ctx, RunInfo};
pub(crate) use error::panic_message;
pub use error::{ErrorKind, NodeError};
pub use metric::{Metric, MetricUnit};
pub use output::{OutputSink, Paired, Routed};
pub(crate) use registration::ItemMark;
pub use registration::{
    ExecuteMode, InputCount, Invocation, NodeOutput, NodeRegistration, NodeRole, SourceLocation,
};
pub use roles::{Item, Items, Params};
