//! What a node produces: items on one or several named outputs.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::NodeError;
use super::execute::take_as;
use crate::model::{BinaryRef, ItemData, ItemSource};

/// A value sent to one named output of a node that declares several
/// (`#[node(outputs("true", "false"))]`).
///
/// Routing to a name the node does not declare is a compile error when the name is a literal
/// in the node's body, and a terminal error of the node otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed<T> {
    output: Cow<'static, str>,
    value: T,
}

impl<T> Routed<T> {
    /// `value`, sent to the output named `output`.
    pub fn to(output: impl Into<Cow<'static, str>>, value: T) -> Self {
        Self {
            output: output.into(),
            value,
        }
    }

    /// The output's name.
    #[must_use]
    pub fn output(&self) -> &str {
        &self.output
    }

    /// The routed value.
    #[must_use]
    pub fn into_value(self) -> T {
        self.value
    }
}

/// An output value paired with the input item it derives from, for a node that takes all its
/// items at once (`Items<T>`) and reorders, filters or groups them.
///
/// In all mode an output item otherwise derives from the input at the same position when the
/// counts match, or from the single input when there was one: right for a one-to-one
/// transform, wrong for a sort. A node returning `Vec<Paired<T>>` (or `Vec<Routed<Paired<T>>>`,
/// ...) says which input each output comes from, and the output takes that input's lineage and
/// binary attachments. `input` counts across all the node's inputs, as `Items<T>` lists them.
/// An each-item node (`Item<T>`) cannot return `Paired<T>`: its outputs always derive from the
/// item of the call.
///
/// ```
/// use hetumind::{Items, NodeError, Paired, node};
///
/// /// Keeps the even numbers, each with the lineage of the item it came from.
/// #[node(kind = "doc.evens")]
/// async fn evens(Items(numbers): Items<i64>) -> Result<Vec<Paired<i64>>, NodeError> {
///     Ok(numbers
///         .into_iter()
///         .enumerate()
///         .filter(|(_, n)| n % 2 == 0)
///         .map(|(input, n)| Paired::with(input, n))
///         .collect())
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paired<T> {
    input: usize,
    value: T,
}

impl<T> Paired<T> {
    /// `value`, derived from input item `input` (its position in `Items<T>`).
    pub fn with(input: usize, value: T) -> Self {
        Self { input, value }
    }

    /// The position of the input item the value derives from.
    #[must_use]
    pub fn input(&self) -> usize {
        self.input
    }

    /// The paired value.
    #[must_use]
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The paired value, taken out.
    #[must_use]
    pub fn into_value(self) -> T {
        self.value
    }
}

/// Collects the items a node emits, one list per output, stamping each with its lineage.
#[derive(Debug)]
pub struct OutputSink {
    names: &'static [&'static str],
    outputs: Vec<Vec<ItemData>>,
    /// The output index of every item, in emission order.
    order: Vec<u32>,
    /// The input every item derives from, in emission order, when the node pairs them itself
    /// ([`Paired`]); empty otherwise.
    pairs: Vec<usize>,
    source: Option<ItemSource>,
    binary: Option<BTreeMap<String, BinaryRef>>,
}

impl OutputSink {
    /// A sink for a node declaring `names` as its outputs, plus the `error` output when
    /// `error_output` is set.
    pub(crate) fn new(names: &'static [&'static str], error_output: bool) -> Self {
        let count = names.len() + usize::from(error_output);
        Self {
            names,
            outputs: vec![Vec::new(); count],
            order: Vec::new(),
            pairs: Vec::new(),
            source: None,
            binary: None,
        }
    }

    /// Sets the input item the items emitted from now on derive from: they carry its lineage
    /// and its binary attachments.
    pub(crate) fn set_origin(&mut self, item: &ItemData) {
        self.source.clone_from(&item.source);
        self.binary.clone_from(&item.binary);
    }

    /// Emits `value` on output `index` (moved as it is when it already is a JSON value).
    pub(crate) fn push<T: Serialize + 'static>(
        &mut self,
        index: usize,
        value: T,
    ) -> Result<(), NodeError> {
        let mut slot = Some(value);
        let json = match take_as::<T, Value>(&mut slot) {
            Some(json) => json,
            // `Some(value)` serializes as `value`.
            None => serde_json::to_value(&slot).map_err(|error| {
                NodeError::terminal(format!("cannot serialize the node's output: {error}"))
            })?,
        };
        self.push_item(index, ItemData::new(json));
        Ok(())
    }

    /// Emits a ready-made item on output `index`, stamped with the current lineage (and the
    /// origin's attachments, unless it has its own).
    pub(crate) fn push_item(&mut self, index: usize, mut item: ItemData) {
        derive(&mut item, self.source.as_ref(), self.binary.as_ref());
        if let (Some(output), Ok(position)) = (self.outputs.get_mut(index), u32::try_from(index)) {
            output.push(item);
            self.order.push(position);
        }
    }

    /// Makes room for `count` more items (on the node's output, when it declares one), so that
    /// a node emitting a list does not regrow the lists item by item.
    pub(crate) fn reserve(&mut self, count: usize) {
        self.order.reserve(count);
        if self.names.len() == 1
            && let Some(output) = self.outputs.first_mut()
        {
            output.reserve(count);
        }
    }

    /// A point to [`roll back`](Self::rollback) to.
    pub(crate) fn mark(&self) -> usize {
        self.order.len()
    }

    /// Emits `paired`'s value on output `index`, remembering the input it derives from.
    pub(crate) fn push_paired<T: Serialize + 'static>(
        &mut self,
        index: usize,
        paired: Paired<T>,
    ) -> Result<(), NodeError> {
        self.push(index, paired.value)?;
        self.pairs.push(paired.input);
        Ok(())
    }

    /// Removes every item emitted since `mark`: an item whose processing failed halfway
    /// leaves nothing behind.
    pub(crate) fn rollback(&mut self, mark: usize) {
        self.pairs.truncate(mark);
        while self.order.len() > mark {
            if let Some(index) = self.order.pop() {
                self.outputs[index as usize].pop();
            }
        }
    }

    /// Emits `routed` on the output it names.
    pub(crate) fn push_routed<T: Serialize + 'static>(
        &mut self,
        routed: Routed<T>,
    ) -> Result<(), NodeError> {
        let index = self.output_index(&routed.output)?;
        self.push(index, routed.value)
    }

    /// Emits `routed` on the output it names, remembering the input it derives from.
    pub(crate) fn push_routed_paired<T: Serialize + 'static>(
        &mut self,
        routed: Routed<Paired<T>>,
    ) -> Result<(), NodeError> {
        let index = self.output_index(&routed.output)?;
        self.push_paired(index, routed.value)
    }

    /// The index of the declared output named `output`.
    fn output_index(&self, output: &str) -> Result<usize, NodeError> {
        self.names
            .iter()
            .position(|name| *name == output)
            .ok_or_else(|| {
                NodeError::terminal(format!(
                    "the node routed an item to output `{output}`, which it does not declare; its outputs are {}",
                    quoted_list(self.names)
                ))
            })
    }

    /// The index of the `error` output.
    pub(crate) fn error_output(&self) -> usize {
        self.names.len()
    }

    /// The length of each output so far.
    pub(crate) fn lengths(&self) -> Vec<usize> {
        self.outputs.iter().map(Vec::len).collect()
    }

    /// The items, one list per output.
    pub(crate) fn into_outputs(self) -> Vec<Vec<ItemData>> {
        self.outputs
    }

    /// How many items were emitted so far, on all outputs.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Stamps lineage (and attachments) on items emitted in all mode, where a node returns a
    /// list for a list: an item the node [paired](Paired) derives from that input; otherwise
    /// the k-th item emitted derives from the k-th input when the counts match, and every item
    /// derives from the single input when there was one. Otherwise lineage is left unset.
    ///
    /// # Errors
    ///
    /// A terminal error when the node paired an item with an input it did not receive.
    pub(crate) fn pair_with(&mut self, inputs: &[ItemData]) -> Result<(), NodeError> {
        let emitted = self.len();
        if let Some(k) = self.pairs.iter().position(|&input| input >= inputs.len()) {
            return Err(NodeError::terminal(format!(
                "the node paired its output item {k} with input item {}, but it received {} item(s)",
                self.pairs[k],
                inputs.len()
            )));
        }
        let paired = self.pairs.len() == emitted;
        let origin_of = |k: usize| match inputs {
            _ if paired => inputs.get(self.pairs[k]),
            [single] => Some(single),
            _ if inputs.len() == emitted => inputs.get(k),
            _ => None,
        };
        let mut next = vec![0usize; self.outputs.len()];
        for (k, &index) in self.order.iter().enumerate() {
            let index = index as usize;
            let item = &mut self.outputs[index][next[index]];
            if let Some(origin) = origin_of(k) {
                derive(item, origin.source.as_ref(), origin.binary.as_ref());
            }
            next[index] += 1;
        }
        Ok(())
    }
}

/// Marks `item` as derived from an item with `source` lineage and `binary` attachments: it
/// takes the lineage, and the attachments unless it has its own.
fn derive(
    item: &mut ItemData,
    source: Option<&ItemSource>,
    binary: Option<&BTreeMap<String, BinaryRef>>,
) {
    item.source = source.cloned();
    if item.binary.is_none() {
        item.binary = binary.cloned();
    }
}

/// `a`, `b`, `c` as one string.
pub(crate) fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
