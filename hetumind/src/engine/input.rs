//! A node run's input items, and how they are lent to a node that consumes them.
//!
//! A node taking `Items<T>` or `Item<T>` gets its own copy of every input item's `json`: for a
//! large input of JSON values, that copy is as big again as the input, and the run keeps the
//! input too, for a retry or a failure that passes the items on. When nothing but the node's
//! function would see the items (it takes no `Ctx`, and `on_error` is `stop`) and the run holds
//! the only reference to them, the run lends them instead: the node's executor moves each
//! `json` into the function, and the run keeps a compact copy (each `json` serialized, and the
//! items without it) to restore them from if the node is to see them again.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{BinaryRef, ItemData, ItemSource};
use crate::node::NodeError;

/// Inputs with fewer items are copied as before: for them, a copy costs less than the
/// serialized stand-in, and saves little memory.
const LEND_MIN_ITEMS: usize = 256;

/// A node run's input items, possibly lent to the node.
pub(super) struct RunInput {
    items: Arc<[ItemData]>,
    /// While the node may hold the items: what restores them.
    lent: Option<Lent>,
}

impl RunInput {
    pub(super) fn new(items: Arc<[ItemData]>) -> Self {
        Self { items, lent: None }
    }

    /// The items for one call of the node: lent (see the [module docs](self)) when the node
    /// may consume them (`consumes`), the input is large, and this run holds the only
    /// reference; shared otherwise.
    ///
    /// # Errors
    ///
    /// When items lent to an earlier call cannot be restored (see [`items`](Self::items)).
    pub(super) fn for_call(&mut self, consumes: bool) -> Result<Arc<[ItemData]>, NodeError> {
        self.items()?;
        if consumes
            && self.items.len() >= LEND_MIN_ITEMS
            && Arc::get_mut(&mut self.items).is_some()
            && let Some(lent) = Lent::of(&self.items)
        {
            self.lent = Some(lent);
            return Ok(std::mem::replace(&mut self.items, Arc::from([])));
        }
        Ok(Arc::clone(&self.items))
    }

    /// How many items there are, lent or not.
    pub(super) fn len(&self) -> usize {
        self.lent
            .as_ref()
            .map_or(self.items.len(), |lent| lent.ends.len())
    }

    /// The items as they were given, restored if they were lent.
    ///
    /// # Errors
    ///
    /// When an item's `json` does not parse back, which only a value nested deeper than any
    /// JSON parses could cause.
    pub(super) fn items(&mut self) -> Result<&Arc<[ItemData]>, NodeError> {
        if let Some(lent) = self.lent.take() {
            self.items = lent.restore()?;
        }
        Ok(&self.items)
    }
}

/// Items lent to a node, as they were: every item's `json` serialized end to end, and what
/// else the items carried (lineage, attachments), kept only where there is some.
struct Lent {
    json: Vec<u8>,
    /// Where each item's `json` ends in `json`.
    ends: Vec<usize>,
    /// Each item's lineage; empty when no item has any.
    sources: Vec<Option<ItemSource>>,
    /// The attachments of the items that have some, by position.
    binary: Vec<(usize, BTreeMap<String, BinaryRef>)>,
}

impl Lent {
    /// What restores `items`; `None` if one does not serialize (a JSON value always does).
    fn of(items: &[ItemData]) -> Option<Self> {
        let mut json = Vec::new();
        let mut ends = Vec::with_capacity(items.len());
        for item in items {
            serde_json::to_writer(&mut json, &item.json).ok()?;
            ends.push(json.len());
        }
        json.shrink_to_fit();
        let sources = if items.iter().any(|item| item.source.is_some()) {
            items.iter().map(|item| item.source.clone()).collect()
        } else {
            Vec::new()
        };
        let binary = items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| Some((index, item.binary.clone()?)))
            .collect();
        Some(Self {
            json,
            ends,
            sources,
            binary,
        })
    }

    fn restore(self) -> Result<Arc<[ItemData]>, NodeError> {
        let mut sources = self.sources.into_iter();
        let mut items = Vec::with_capacity(self.ends.len());
        let mut start = 0;
        for (index, end) in self.ends.into_iter().enumerate() {
            let json = serde_json::from_slice(self.json.get(start..end).unwrap_or_default())
                .map_err(|error| {
                    NodeError::terminal(format!(
                        "cannot restore input item {index} after lending it to the node: {error}"
                    ))
                })?;
            start = end;
            items.push(ItemData {
                json,
                binary: None,
                source: sources.next().flatten(),
            });
        }
        for (index, binary) in self.binary {
            if let Some(item) = items.get_mut(index) {
                item.binary = Some(binary);
            }
        }
        Ok(items.into())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn input(count: usize) -> Arc<[ItemData]> {
        (0..count)
            .map(|i| {
                let mut item = ItemData::new(json!({ "id": i, "tags": ["a", { "deep": [i] }] }));
                // Lineage on all but the first, an attachment on every tenth.
                item.source = (i > 0).then(|| ItemSource {
                    node: "Before".into(),
                    output_index: 0,
                    item_index: u32::try_from(i).unwrap_or(u32::MAX),
                });
                item.binary = (i % 10 == 0).then(|| {
                    BTreeMap::from([(
                        "file".to_owned(),
                        BinaryRef {
                            file_key: format!("binary/{i}"),
                            mime_type: "text/plain".to_owned(),
                            file_size: 3,
                            file_name: None,
                        },
                    )])
                });
                item
            })
            .collect()
    }

    #[test]
    fn a_large_input_held_alone_is_lent_and_restored_as_it_was() {
        let items = input(LEND_MIN_ITEMS);
        let expected: Vec<ItemData> = items.to_vec();
        let mut run = RunInput::new(items);
        let mut lent = run.for_call(true).unwrap();
        // The node takes every `json`.
        for item in Arc::get_mut(&mut lent).expect("the call holds the only reference") {
            item.json.take();
        }
        drop(lent);
        assert_eq!(run.len(), LEND_MIN_ITEMS, "counted while lent");
        assert_eq!(**run.items().unwrap(), *expected);
        // And lends them again to the next call.
        let again = run.for_call(true).unwrap();
        assert_eq!(*again, *expected);
    }

    #[test]
    fn a_shared_small_or_kept_input_is_not_lent() {
        let shared = input(LEND_MIN_ITEMS);
        let mut run = RunInput::new(Arc::clone(&shared));
        assert!(Arc::ptr_eq(&run.for_call(true).unwrap(), &shared));

        let mut small = RunInput::new(input(LEND_MIN_ITEMS - 1));
        let call = small.for_call(true).unwrap();
        assert_eq!(Arc::strong_count(&call), 2);

        let mut kept = RunInput::new(input(LEND_MIN_ITEMS));
        let call = kept.for_call(false).unwrap();
        assert_eq!(Arc::strong_count(&call), 2);
    }
}
