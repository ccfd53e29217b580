//! The generic executor behind every node: parameter and item conversion, the per-item loop,
//! error handling per `on_error`, and output collection. `#[node]` only describes a node's
//! types and how to call it (the traits below); everything else lives here, once.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::registration::ItemMark;
use super::{Ctx, ErrorKind, Invocation, NodeError, NodeOutput, OutputSink, Paired, Routed};
use crate::BoxFuture;
use crate::expression::{Parameters, Scope};
use crate::model::{ItemData, OnError};

// The checking traits below ask for what the executor needs through methods, not supertraits:
// a type lacking a supertrait of a bound is reported as lacking that supertrait, named through
// the generated code, while a type failing a blanket impl marked `do_not_recommend` is reported
// with the trait's own `on_unimplemented` message, on the user's type, saying what to derive.

/// A type usable as a node's parameters (`Params<T>`): every
/// `T: DeserializeOwned + JsonSchema + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a node's parameters",
    label = "not usable as `Params<{Self}>`",
    note = "node parameters are deserialized from JSON and described by a JSON Schema: add `#[derive(serde::Deserialize, schemars::JsonSchema)]` to `{Self}`, or use a type that implements both"
)]
pub trait NodeParams: Sized + Send + 'static {
    /// Deserializes the node's `parameters`; the error names the JSON path of the bad field.
    fn from_parameters(parameters: &Value) -> Result<Self, NodeError>;

    /// The JSON Schema of the parameters.
    fn params_schema() -> schemars::Schema;
}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned + JsonSchema + Send + 'static> NodeParams for T {
    fn from_parameters(parameters: &Value) -> Result<Self, NodeError> {
        from_json(parameters, Subject::Parameters)
    }

    fn params_schema() -> schemars::Schema {
        schema::<T>()
    }
}

/// A type usable as a node's input items (`Item<T>` or `Items<T>`): every
/// `T: DeserializeOwned + JsonSchema + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a node's input item",
    label = "not usable as an input item",
    note = "input items are deserialized from JSON and described by a JSON Schema: add `#[derive(serde::Deserialize, schemars::JsonSchema)]` to `{Self}`, or use a type that implements both"
)]
pub trait NodeInput: Sized + Send + 'static {
    /// Deserializes the `json` of input item `index`; the error names the JSON path of the bad
    /// field.
    fn from_item(json: &Value, index: usize) -> Result<Self, NodeError>;

    /// Deserializes the `json` of input item `index`, taken out of the item: a JSON value
    /// moves as it is.
    fn from_owned(json: Value, index: usize) -> Result<Self, NodeError> {
        Self::from_item(&json, index)
    }

    /// The JSON Schema of one input item.
    fn input_schema() -> schemars::Schema;
}

#[diagnostic::do_not_recommend]
impl<T: DeserializeOwned + JsonSchema + Send + 'static> NodeInput for T {
    fn from_item(json: &Value, index: usize) -> Result<Self, NodeError> {
        from_json(json, Subject::InputItem(index))
    }

    fn from_owned(json: Value, index: usize) -> Result<Self, NodeError> {
        let mut slot = Some(json);
        match take_as::<Value, T>(&mut slot) {
            Some(value) => Ok(value),
            // `slot` is left as it was.
            None => Self::from_item(slot.as_ref().unwrap_or(&Value::Null), index),
        }
    }

    fn input_schema() -> schemars::Schema {
        schema::<T>()
    }
}

/// A type usable as a node's output items: every `T: Serialize + JsonSchema + Send + 'static`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a node's output item",
    label = "not usable as an output item",
    note = "output items are serialized to JSON and described by a JSON Schema: add `#[derive(serde::Serialize, schemars::JsonSchema)]` to `{Self}`, or use a type that implements both"
)]
pub trait NodeOutputValue: Sized + Send + 'static {
    /// Emits the value on the node's first output.
    fn push_to(self, sink: &mut OutputSink) -> Result<(), NodeError>;

    /// Emits the value on the output it is routed to.
    fn push_routed_to(routed: Routed<Self>, sink: &mut OutputSink) -> Result<(), NodeError>;

    /// The JSON Schema of one output item.
    fn output_schema() -> schemars::Schema;
}

#[diagnostic::do_not_recommend]
impl<T: Serialize + JsonSchema + Send + 'static> NodeOutputValue for T {
    fn push_to(self, sink: &mut OutputSink) -> Result<(), NodeError> {
        sink.push(0, self)
    }

    fn push_routed_to(routed: Routed<Self>, sink: &mut OutputSink) -> Result<(), NodeError> {
        sink.push_routed(routed)
    }

    fn output_schema() -> schemars::Schema {
        schema::<T>()
    }
}

/// A value paired with its input: the value's type is the output item's.
#[diagnostic::do_not_recommend]
impl<T: Serialize + JsonSchema + Send + 'static> NodeOutputValue for Paired<T> {
    fn push_to(self, sink: &mut OutputSink) -> Result<(), NodeError> {
        sink.push_paired(0, self)
    }

    fn push_routed_to(routed: Routed<Self>, sink: &mut OutputSink) -> Result<(), NodeError> {
        sink.push_routed_paired(routed)
    }

    fn output_schema() -> schemars::Schema {
        schema::<T>()
    }
}

/// An error type a node may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned as a node error",
    label = "does not convert into `NodeError`",
    note = "implement `From<{Self}> for hetumind::NodeError`, or map the error with `NodeError::retryable` or `NodeError::terminal`"
)]
pub trait IntoNodeError {
    /// The error as a [`NodeError`].
    fn into_node_error(self) -> NodeError;
}

#[diagnostic::do_not_recommend]
impl<E: Into<NodeError>> IntoNodeError for E {
    fn into_node_error(self) -> NodeError {
        self.into()
    }
}

/// The parameters of a node whose function takes no `Params<T>`: an empty object.
#[derive(Debug, Clone, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(description = "This node takes no parameters.")]
pub struct NoParams {}

/// The input of a node whose function takes neither `Item<T>` nor `Items<T>`: anything, unread.
#[derive(Debug)]
pub struct NoInput;

impl<'de> serde::Deserialize<'de> for NoInput {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer).map(|_| Self)
    }
}

impl JsonSchema for NoInput {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnyItem".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::Schema::from(true)
    }
}

/// The types of a node, as `#[node]` describes them.
///
/// Everything done with those types is a provided function, checked once here for any node,
/// so that generated code holds no use of the user's types that could fail a second time (away
/// from the user's tokens) when one of them lacks a trait.
pub trait NodeTypes: 'static {
    /// `T` of `Params<T>`, or [`NoParams`].
    type Params: NodeParams;
    /// `T` of `Item<T>` / `Items<T>`, or [`NoInput`].
    type Input: NodeInput;
    /// The type of one output item's `json`.
    type Output: NodeOutputValue;
    /// What the function returns on success.
    type Returned: NodeReturn<Self::Output> + Send;
    /// The names of the node's outputs, in index order.
    const OUTPUTS: &'static [&'static str];
    /// Whether the function takes its input items (`Item<T>` or `Items<T>`) and no [`Ctx`]:
    /// nothing but the function then sees the items, and the executor can move them into it
    /// instead of copying them (see
    /// [`NodeRegistration::consumes_items`](crate::NodeRegistration::consumes_items)).
    const CONSUMES_ITEMS: bool;

    /// Sends what the function returned to the node's outputs.
    fn emit(returned: Self::Returned, sink: &mut OutputSink) -> Result<(), NodeError> {
        returned.emit(sink)
    }

    /// Checks parameters without running anything.
    fn check_params(parameters: &Value) -> Result<(), NodeError> {
        Self::Params::from_parameters(parameters).map(drop)
    }

    /// The JSON Schema of the parameters.
    fn params_schema() -> schemars::Schema {
        Self::Params::params_schema()
    }

    /// The JSON Schema of one input item.
    fn input_schema() -> schemars::Schema {
        Self::Input::input_schema()
    }

    /// The JSON Schema of one output item.
    fn output_schema() -> schemars::Schema {
        Self::Output::output_schema()
    }
}

/// A node function called once per input item.
pub trait EachItemNode: NodeTypes {
    /// Calls the function for one item.
    fn call(
        params: Self::Params,
        input: Self::Input,
        ctx: Ctx,
    ) -> impl Future<Output = Result<Self::Returned, NodeError>> + Send;

    /// How every call gets its own parameters: a clone of the ones deserialized once, when
    /// the type is `Clone` (`#[node]` says so), else deserialized again.
    fn clone_params() -> Option<CloneFn<Self::Params>> {
        None
    }
}

/// `T::clone`, as a function pointer.
pub type CloneFn<T> = fn(&T) -> T;

/// Tells, in code that names a concrete type `T`, whether `T` is `Clone`, without requiring
/// it: `(&&CloneProbe::<T>::new()).cloner()` is `Some(T::clone)` when `T: Clone` and `None`
/// otherwise (method resolution tries the `&CloneProbe<T>` implementation first, whose bound
/// only holds for a `Clone` type, then falls back to the unbounded one).
pub struct CloneProbe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> CloneProbe<T> {
    /// A probe for `T`.
    #[must_use]
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Default for CloneProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The answer for a `Clone` type.
pub trait Cloner<T> {
    /// `T::clone`.
    fn cloner(&self) -> Option<CloneFn<T>>;
}

impl<T: Clone> Cloner<T> for &CloneProbe<T> {
    fn cloner(&self) -> Option<CloneFn<T>> {
        Some(T::clone)
    }
}

/// The answer for any other type.
pub trait NoCloner<T> {
    /// None: `T` is not `Clone`.
    fn cloner(&self) -> Option<CloneFn<T>>;
}

impl<T> NoCloner<T> for CloneProbe<T> {
    fn cloner(&self) -> Option<CloneFn<T>> {
        None
    }
}

/// The parameters of an each-item node's calls: deserialized once and cloned for every call
/// when their type is `Clone` and they hold no expression, else made for every call (their
/// expressions evaluated on its item).
enum PerCall<T> {
    Cloned(Result<T, NodeError>, CloneFn<T>),
    Deserialized,
}

impl<T: NodeParams> PerCall<T> {
    fn new(parameters: &Parameters, cloner: Option<CloneFn<T>>) -> Self {
        match cloner {
            Some(clone) if !parameters.has_expressions() => {
                Self::Cloned(T::from_parameters(parameters.value()), clone)
            }
            _ => Self::Deserialized,
        }
    }

    /// The parameters of the call on item `index`, whose `json` is `input`.
    fn get(
        &self,
        parameters: &Parameters,
        item: &ItemData,
        index: usize,
        scope: &Scope<'_>,
    ) -> Result<T, NodeError> {
        match self {
            Self::Cloned(Ok(params), clone) => Ok(clone(params)),
            Self::Cloned(Err(error), _) => Err(error.clone()),
            Self::Deserialized => {
                T::from_parameters(&*resolve(parameters, item, Some(index), scope)?)
            }
        }
    }
}

/// `parameters` with their expressions evaluated on `item`, item `index` (`None`: an all-items
/// node's evaluation).
fn resolve<'p>(
    parameters: &'p Parameters,
    item: &ItemData,
    index: Option<usize>,
    scope: &Scope<'_>,
) -> Result<Cow<'p, Value>, NodeError> {
    parameters.resolve(item, scope).map_err(|error| {
        NodeError::terminal(match index {
            Some(index) => format!("item {index}: {error}"),
            None => error,
        })
    })
}

/// A node function called once with all input items.
pub trait AllItemsNode: NodeTypes {
    /// Calls the function with every item.
    fn call(
        params: Self::Params,
        input: Vec<Self::Input>,
        ctx: Ctx,
    ) -> impl Future<Output = Result<Self::Returned, NodeError>> + Send;
}

/// What a node function returns on success, for output items of type `T`: `T`, `Vec<T>`,
/// `Option<T>`, or the same of `Routed<T>`.
///
/// The implementations ask nothing of `T`: whether it can be an output item is checked once,
/// as [`NodeTypes::Output`], and reported there.
pub trait NodeReturn<T> {
    /// Sends the value(s) to the node's outputs.
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue;
}

impl<T> NodeReturn<T> for T {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue,
    {
        emit_one(sink, self)
    }
}

impl<T> NodeReturn<T> for Vec<T> {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue,
    {
        emit_many(sink, self)
    }
}

impl<T> NodeReturn<T> for Option<T> {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue,
    {
        emit_maybe(sink, self)
    }
}

impl<T> NodeReturn<T> for Routed<T> {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue,
    {
        emit_one(sink, self)
    }
}

impl<T> NodeReturn<T> for Vec<Routed<T>> {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue,
    {
        emit_many(sink, self)
    }
}

impl<T> NodeReturn<T> for Option<Routed<T>> {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>
    where
        T: NodeOutputValue,
    {
        emit_maybe(sink, self)
    }
}

/// One output value: a plain value goes to the first output, a [`Routed`] one to the output
/// it names.
trait Element {
    /// Sends the value to its output.
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError>;
}

impl<T: NodeOutputValue> Element for T {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError> {
        self.push_to(sink)
    }
}

impl<T: NodeOutputValue> Element for Routed<T> {
    fn emit(self, sink: &mut OutputSink) -> Result<(), NodeError> {
        T::push_routed_to(self, sink)
    }
}

/// Emits a node's `T` return: one item.
fn emit_one<E: Element>(sink: &mut OutputSink, value: E) -> Result<(), NodeError> {
    value.emit(sink)
}

/// Emits a node's `Vec<T>` return: any number of items.
fn emit_many<E: Element>(sink: &mut OutputSink, values: Vec<E>) -> Result<(), NodeError> {
    sink.reserve(values.len());
    values.into_iter().try_for_each(|value| value.emit(sink))
}

/// Emits a node's `Option<T>` return: an item or none (a filter).
fn emit_maybe<E: Element>(sink: &mut OutputSink, value: Option<E>) -> Result<(), NodeError> {
    value.map_or(Ok(()), |value| value.emit(sink))
}

/// Converts a node function's result, whatever its error type.
pub fn into_result<T, E: IntoNodeError>(result: Result<T, E>) -> Result<T, NodeError> {
    result.map_err(IntoNodeError::into_node_error)
}

/// What a JSON value being converted is, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject {
    Parameters,
    InputItem(usize),
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Parameters => f.write_str("invalid parameters"),
            Self::InputItem(index) => write!(f, "invalid input item {index}"),
        }
    }
}

/// Deserializes `value` into `T`; the error names the subject and the JSON path of the bad
/// field.
///
/// A `T` that is itself a JSON value is a plain clone. Otherwise the fast path deserializes
/// directly; only a failure is replayed with path tracking, which costs about as much again
/// (see [`json_path::from_value`](crate::json_path::from_value)).
pub(crate) fn from_json<T: DeserializeOwned + 'static>(
    value: &Value,
    subject: Subject,
) -> Result<T, NodeError> {
    if TypeId::of::<T>() == TypeId::of::<Value>()
        && let Some(json) = take_as::<Value, T>(&mut Some(value.clone()))
    {
        return Ok(json);
    }
    crate::json_path::from_value(value)
        .map_err(|problem| NodeError::terminal(format!("{subject}: {problem}")))
}

/// Moves the value out of `slot` as a `U` when `T` is `U`, leaving `slot` alone otherwise: a
/// shortcut for one concrete type in generic code (JSON values need no conversion).
pub(crate) fn take_as<T: 'static, U: 'static>(slot: &mut Option<T>) -> Option<U> {
    (slot as &mut dyn Any).downcast_mut::<Option<U>>()?.take()
}

/// The JSON Schema (draft 2020-12) of `T`.
fn schema<T: JsonSchema>() -> schemars::Schema {
    schemars::SchemaGenerator::default().into_root_schema_for::<T>()
}

/// The executor of an each-item node.
///
/// An item failing with a retryable error does not stop the others: its outputs are rolled
/// back, it is marked, and the engine runs the marked items again by the node's retry policy.
pub fn invoke_each_item<N: EachItemNode>(
    invocation: Invocation,
) -> BoxFuture<'static, Result<NodeOutput, NodeError>> {
    Box::pin(async move {
        let Invocation {
            parameters,
            mut items,
            run,
            on_error,
            only_items,
        } = invocation;
        let mut sink = OutputSink::new(N::OUTPUTS, on_error == OnError::ErrorOutput);
        let mut marks = Vec::new();
        let params = PerCall::new(&parameters, N::clone_params());
        let scope = Scope::new(&run.execution, run.clock.now()).with_lookups(&run.lookups);
        let count = only_items.as_ref().map_or(items.len(), |only| only.len());
        for position in 0..count {
            let index = only_items.as_ref().map_or(position, |only| only[position]);
            // The parameters first: their expressions read the item before its `json` is taken.
            let Some(item) = items.get(index) else {
                continue;
            };
            let call_params = params.get(&parameters, item, index, &scope);
            let taken = owned_items::<N>(&mut items, on_error)
                .and_then(|owned| owned.get_mut(index))
                .map(|item| item.json.take());
            let item = &items[index];
            sink.set_origin(item);
            let ctx = Ctx::new(Arc::clone(&run), Arc::clone(&items), Some(index));
            let result = match prepare::<N>(call_params, item, taken, index) {
                Ok((params, input)) => N::call(params, input, ctx).await,
                Err(error) => Err(error),
            };
            let mark = sink.mark();
            let at = only_items.as_ref().map(|_| sink.lengths());
            match result.and_then(|returned| N::emit(returned, &mut sink)) {
                Ok(()) => {
                    if let Some(at) = at {
                        marks.push(ItemMark {
                            item: index,
                            at,
                            error: None,
                        });
                    }
                }
                Err(error) if error.is_retryable() => {
                    sink.rollback(mark);
                    marks.push(ItemMark {
                        item: index,
                        at: at.unwrap_or_else(|| sink.lengths()),
                        error: Some(error),
                    });
                }
                Err(error) => {
                    sink.rollback(mark);
                    fail_item(&mut sink, on_error, item, error)?;
                }
            }
        }
        Ok(NodeOutput {
            outputs: sink.into_outputs(),
            marks,
            json_len: 0,
        })
    })
}

/// The parameters and input of one call: the input from the `json` taken out of the item when
/// there is one, else from the item.
fn prepare<N: NodeTypes>(
    params: Result<N::Params, NodeError>,
    item: &ItemData,
    taken: Option<Value>,
    index: usize,
) -> Result<(N::Params, N::Input), NodeError> {
    let params = params?;
    let input = match taken {
        Some(json) => N::Input::from_owned(json, index)?,
        None => N::Input::from_item(&item.json, index)?,
    };
    Ok((params, input))
}

/// The input items, to take their `json` out of, when the node may consume them: nothing but
/// its function sees them ([`NodeTypes::CONSUMES_ITEMS`]), a failure passes no item on
/// (`on_error` is `stop`), and this invocation holds the only reference to them (the engine
/// lent them, keeping what it needs to restore them; a shared input is converted, not taken).
fn owned_items<N: NodeTypes>(
    items: &mut Arc<[ItemData]>,
    on_error: OnError,
) -> Option<&mut [ItemData]> {
    if may_consume(N::CONSUMES_ITEMS, on_error) {
        Arc::get_mut(items)
    } else {
        None
    }
}

/// Applies `on_error` to an item whose processing failed.
fn fail_item(
    sink: &mut OutputSink,
    on_error: OnError,
    item: &ItemData,
    error: NodeError,
) -> Result<(), NodeError> {
    // Only a terminal failure is the item's own (retryable ones are marked for the engine to
    // retry, and `on_error` applies once their retries are exhausted); a wait parks the node
    // whatever `on_error` says.
    if error.kind() != ErrorKind::Terminal {
        return Err(error);
    }
    pass_failed(sink, on_error, item, error)
}

/// Applies `on_error` to an item that failed for good.
fn pass_failed(
    sink: &mut OutputSink,
    on_error: OnError,
    item: &ItemData,
    error: NodeError,
) -> Result<(), NodeError> {
    match on_error {
        OnError::Stop => Err(error),
        OnError::Continue => {
            sink.push_item(0, with_error(item, &error));
            Ok(())
        }
        OnError::ErrorOutput => {
            let index = sink.error_output();
            sink.push_item(index, with_error(item, &error));
            Ok(())
        }
    }
}

/// `item`, with the error's message in an `error` field of its `json` (an object holding the
/// value under `value` when it was not an object).
fn with_error(item: &ItemData, error: &NodeError) -> ItemData {
    let mut failed = item.clone();
    let message = Value::String(error.message().to_owned());
    match &mut failed.json {
        Value::Object(fields) => {
            fields.insert("error".to_owned(), message);
        }
        other => {
            let value = other.take();
            failed.json = serde_json::json!({ "value": value, "error": message });
        }
    }
    failed
}

/// The executor of an all-items node.
pub fn invoke_all_items<N: AllItemsNode>(
    invocation: Invocation,
) -> BoxFuture<'static, Result<NodeOutput, NodeError>> {
    Box::pin(async move {
        let Invocation {
            parameters,
            mut items,
            run,
            on_error,
            only_items: _,
        } = invocation;
        let mut sink = OutputSink::new(N::OUTPUTS, on_error == OnError::ErrorOutput);
        // The parameters first: their expressions read the first item before its `json` is
        // taken.
        let params = {
            static NO_ITEM: ItemData = ItemData {
                json: Value::Null,
                binary: None,
                source: None,
            };
            let scope = Scope::new(&run.execution, run.clock.now()).with_lookups(&run.lookups);
            let first = items.first().unwrap_or(&NO_ITEM);
            resolve(&parameters, first, None, &scope)
                .and_then(|resolved| N::Params::from_parameters(&resolved))
        };
        let inputs = match owned_items::<N>(&mut items, on_error) {
            Some(owned) => collect_exact(
                owned
                    .iter_mut()
                    .enumerate()
                    .map(|(index, item)| N::Input::from_owned(item.json.take(), index)),
            ),
            None => collect_exact(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| N::Input::from_item(&item.json, index)),
            ),
        };
        let result = match (params, inputs) {
            (Ok(params), Ok(inputs)) => {
                let ctx = Ctx::new(Arc::clone(&run), Arc::clone(&items), None);
                N::call(params, inputs, ctx).await
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        match result
            .and_then(|returned| N::emit(returned, &mut sink))
            .and_then(|()| sink.pair_with(&items))
        {
            Ok(()) => {}
            Err(error) if on_error == OnError::Stop || error.kind() != ErrorKind::Terminal => {
                return Err(error);
            }
            Err(error) => return Ok(failed_output(&items, on_error, N::OUTPUTS, &error)),
        }
        Ok(NodeOutput::new(sink.into_outputs()))
    })
}

/// Whether a node that consumes its items (`consumes_items`) may be handed them under
/// `on_error`: only when a failure passes no item on (`stop`), since the items are gone.
pub(crate) fn may_consume(consumes_items: bool, on_error: OnError) -> bool {
    consumes_items && on_error == OnError::Stop
}

/// The values of `results` until the first error, in a vector of the exact size (`collect`
/// into a `Result` cannot know it, and would grow the vector as it goes).
fn collect_exact<T>(
    results: impl ExactSizeIterator<Item = Result<T, NodeError>>,
) -> Result<Vec<T>, NodeError> {
    let mut values = Vec::with_capacity(results.len());
    for result in results {
        values.push(result?);
    }
    Ok(values)
}

/// The output of a node that failed as a whole (a timeout, a panic, an error outside the
/// per-item loop) under `on_error` `continue` or `error_output`: every input item passes on
/// with the error, as a failed item would.
pub(crate) fn failed_output(
    items: &[ItemData],
    on_error: OnError,
    outputs: &'static [&'static str],
    error: &NodeError,
) -> NodeOutput {
    let mut sink = OutputSink::new(outputs, on_error == OnError::ErrorOutput);
    for item in items {
        sink.set_origin(item);
        // Only `Stop` returns an error, and it is not passed here.
        let _ = pass_failed(&mut sink, on_error, item, error.clone());
    }
    NodeOutput::new(sink.into_outputs())
}
