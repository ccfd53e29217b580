//! The argument roles of a node function. Each wraps the value it hands over, so that a
//! node's signature says what every argument is for.

/// The node instance's `parameters`, deserialized into `T` before the node runs.
///
/// `T` implements `serde::Deserialize` and `schemars::JsonSchema`; its schema is the node's
/// parameter schema. In each-item mode the parameters are deserialized once and cloned for every
/// call when `T` is `Clone`, and deserialized for every call when it is not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params<T>(pub T);

/// One input item's `json`, deserialized into `T`. A node taking `Item<T>` is called once per
/// input item (each-item mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Item<T>(pub T);

/// All input items' `json`, deserialized into `T`. A node taking `Items<T>` is called once with
/// every item (all mode).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Items<T>(pub Vec<T>);
