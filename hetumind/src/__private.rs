//! Not public API: the items generated code names. Everything here may change in any release.

pub use crate::BoxFuture;
pub use crate::node::execute::{
    AllItemsNode, CloneFn, CloneProbe, Cloner, EachItemNode, IntoNodeError, NoCloner, NoInput,
    NoParams, NodeInput, NodeOutputValue, NodeParams, NodeReturn, NodeTypes, into_result,
    invoke_all_items, invoke_each_item,
};
pub use crate::node::{
    Ctx, ExecuteMode, InputCount, Item, Items, NodeError, NodeRegistration, NodeRole, OutputSink,
    Params, Routed, SourceLocation,
};
pub use crate::retry::{Jitter, RetryPolicy};
pub use core::future::Future;
pub use core::option::Option;
pub use core::result::Result;
pub use core::time::Duration;
pub use inventory;
