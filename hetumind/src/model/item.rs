//! Items: the unit of data that flows between nodes.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One item flowing between nodes: a JSON value, optional references to binary data in the
/// store, and the lineage of the item it was derived from.
///
/// This is the raw form the engine moves around; node functions usually see the typed `json`
/// part through [`Item<T>`](crate::Item) or [`Items<T>`](crate::Items), and reach this form
/// through [`Ctx::item`](crate::Ctx::item).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemData {
    /// The item's data.
    #[serde(default)]
    pub json: Value,
    /// Binary attachments, by key. Always references into the state store, never inline bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<BTreeMap<String, BinaryRef>>,
    /// Where the item came from: the node, output and position of the item it derives from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ItemSource>,
}

impl ItemData {
    /// An item holding `json` and nothing else.
    #[must_use]
    pub fn new(json: Value) -> Self {
        Self {
            json,
            binary: None,
            source: None,
        }
    }
}

impl ItemData {
    /// The item a workflow starts with when it is given none: an empty object.
    #[must_use]
    pub fn empty() -> Self {
        Self::new(Value::Object(serde_json::Map::new()))
    }
}

impl From<Value> for ItemData {
    fn from(json: Value) -> Self {
        Self::new(json)
    }
}

/// A reference to binary data held in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BinaryRef {
    /// The store key of the bytes.
    pub file_key: String,
    /// The MIME type of the bytes, such as `image/png`.
    pub mime_type: String,
    /// The size of the bytes.
    pub file_size: u64,
    /// The original file name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

/// The lineage of an item: which node produced the item it derives from, on which output, and
/// at which position of that output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemSource {
    /// The name of the node that produced the originating item (shared: stamping lineage on
    /// many items copies no text).
    pub node: Arc<str>,
    /// The output of that node the originating item left on.
    pub output_index: u32,
    /// The position of the originating item in that output.
    pub item_index: u32,
}
