//! Bad input to the conversion of parameters and items never panics: the node fails with a
//! terminal error whose message says what was being converted (the parameters, or input item
//! `i`), the JSON path of the bad field, and what is wrong with it. Covered for parameters and
//! for items, in each-item and all modes: wrong types, missing and unknown fields, extra nesting,
//! non-object parameters, null items, huge numbers, 10 MB strings, JSON nested as deep as
//! `serde_json` parses and values nested 10,000 deep, and hostile strings and keys.

use hetumind::ErrorKind;
use hetumind::model::OnError;
use hetumind::prelude::*;
use hetumind::testing::{NodeTest, TestError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A node's parameters, strict about unknown fields.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Settings {
    threshold: u32,
    label: String,
    limits: Limits,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Limits {
    max: i32,
    tags: Vec<String>,
}

/// An input item, strict about unknown fields at every level.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Order {
    id: u64,
    customer: Customer,
    lines: Vec<Line>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Customer {
    name: String,
    email: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Line {
    sku: String,
    quantity: u32,
    price: f64,
}

/// An input item that ignores the fields it does not know.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Contact {
    name: String,
}

/// Passes each order on.
#[node(kind = "conversion.each")]
async fn each(
    Params(settings): Params<Settings>,
    Item(order): Item<Order>,
) -> Result<Order, NodeError> {
    drop(settings);
    Ok(order)
}

/// Passes all orders on.
#[node(kind = "conversion.all")]
async fn all(
    Params(settings): Params<Settings>,
    Items(orders): Items<Order>,
) -> Result<Vec<Order>, NodeError> {
    drop(settings);
    Ok(orders)
}

/// Passes each contact on, without the fields it does not know.
#[node(kind = "conversion.lenient")]
async fn lenient(Item(contact): Item<Contact>) -> Result<Contact, NodeError> {
    Ok(contact)
}

/// Passes each number on; takes no parameters.
#[node(kind = "conversion.no_params")]
async fn no_params(Item(number): Item<u64>) -> Result<u64, NodeError> {
    Ok(number)
}

/// Both modes, for what must hold in each.
const MODES: [&str; 2] = ["conversion.each", "conversion.all"];

/// 10 MB.
const TEN_MB: usize = 10 * 1024 * 1024;

fn settings() -> Value {
    json!({ "threshold": 3, "label": "orders", "limits": { "max": 10, "tags": ["a", "b"] } })
}

fn order(id: u64) -> Value {
    json!({
        "id": id,
        "customer": { "name": "Ada", "email": "ada@example.com" },
        "lines": [
            { "sku": "A-1", "quantity": 1, "price": 9.5 },
            { "sku": "B-2", "quantity": 2, "price": 0.25 },
            { "sku": "C-3", "quantity": 3, "price": 100.0 },
        ],
    })
}

/// Three good orders, with `bad` in place of the second.
fn orders_with(bad: Value) -> Vec<Value> {
    vec![order(1), bad, order(3)]
}

/// `value`, with the field at `path` (keys and array indices) replaced by `new`.
fn with(mut value: Value, path: &[&str], new: Value) -> Value {
    let mut at = &mut value;
    for step in path {
        at = match at {
            Value::Array(elements) => &mut elements[step.parse::<usize>().expect("an index")],
            Value::Object(fields) => fields.entry(*step).or_insert(Value::Null),
            other => panic!("cannot step into {other} at {step}"),
        };
    }
    *at = new;
    value
}

/// `value`, with the field at `path` removed.
fn without(mut value: Value, path: &[&str]) -> Value {
    let (last, parents) = path.split_last().expect("a path");
    let mut at = &mut value;
    for step in parents {
        at = &mut at[*step];
    }
    at.as_object_mut()
        .expect("an object")
        .remove(*last)
        .expect("the field exists");
    value
}

/// `leaf` wrapped in `depth` single-key objects: `{"a": {"a": ... leaf}}`. Built iteratively,
/// so depth costs no stack here.
fn nested(depth: usize, leaf: Value) -> Value {
    (0..depth).fold(leaf, |inner, _| {
        // Not `json!`, which would copy `inner` through `serde_json::to_value` at every level.
        let mut wrapper = serde_json::Map::new();
        wrapper.insert("a".to_owned(), inner);
        Value::Object(wrapper)
    })
}

/// Takes `value` apart iteratively, so that dropping a very deep value costs no stack in the
/// test itself.
fn dismantle(value: Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Array(elements) => pending.extend(elements),
            Value::Object(fields) => pending.extend(fields.into_iter().map(|(_, value)| value)),
            _ => {}
        }
    }
}

/// The error of a run that must fail, after checking that it is a terminal node error.
fn failure(test: NodeTest) -> NodeError {
    match test.run_blocking() {
        Err(TestError::Node(error)) => {
            assert_eq!(
                error.kind(),
                ErrorKind::Terminal,
                "conversion errors are terminal: {error}"
            );
            error
        }
        Err(other) => panic!("the test itself failed: {other}"),
        Ok(output) => panic!(
            "expected a conversion error, the node produced {:?}",
            output.json(0)
        ),
    }
}

/// Runs `kind` with `params` and `items` and checks the error message is `expected`.
fn assert_fails(kind: &str, params: Value, items: Vec<Value>, expected: &str) {
    let error = failure(NodeTest::new(kind).params(params).items(items));
    assert_eq!(error.message(), expected, "{kind}");
}

/// Runs `kind` with bad `params` (and good items) in both modes, expecting `expected` after the
/// `invalid parameters: ` prefix.
fn assert_bad_params(params: &Value, expected: &str) {
    for kind in MODES {
        assert_fails(
            kind,
            params.clone(),
            vec![order(1), order(2)],
            &format!("invalid parameters: {expected}"),
        );
    }
}

/// Runs both modes with `bad` as the second of three items (and good parameters), expecting
/// `expected` after the `invalid input item 1: ` prefix.
fn assert_bad_item(bad: &Value, expected: &str) {
    for kind in MODES {
        assert_fails(
            kind,
            settings(),
            orders_with(bad.clone()),
            &format!("invalid input item 1: {expected}"),
        );
    }
}

#[test]
fn good_input_converts_in_both_modes() {
    for kind in MODES {
        let items = vec![order(1), order(2)];
        let output = NodeTest::new(kind)
            .params(settings())
            .items(items.clone())
            .run_blocking()
            .expect("good input converts");
        assert_eq!(output.json(0), items, "{kind}");
    }
}

#[test]
fn params_of_the_wrong_type_name_the_path() {
    assert_bad_params(
        &with(settings(), &["threshold"], json!("ten")),
        "at `threshold`: invalid type: string \"ten\", expected u32",
    );
    assert_bad_params(
        &with(settings(), &["limits", "max"], json!(true)),
        "at `limits.max`: invalid type: boolean `true`, expected i32",
    );
    assert_bad_params(
        &with(settings(), &["limits", "tags", "1"], json!(7)),
        "at `limits.tags[1]`: invalid type: integer `7`, expected a string",
    );
    assert_bad_params(
        &with(settings(), &["label"], Value::Null),
        "at `label`: invalid type: null, expected a string",
    );
}

#[test]
fn missing_params_fields_are_named() {
    assert_bad_params(&without(settings(), &["label"]), "missing field `label`");
    assert_bad_params(
        &without(settings(), &["limits", "tags"]),
        "at `limits`: missing field `tags`",
    );
    assert_bad_params(&json!({}), "missing field `threshold`");
}

#[test]
fn extra_nesting_in_params_names_the_path() {
    assert_bad_params(
        &with(settings(), &["threshold"], json!({ "value": 3 })),
        "at `threshold`: invalid type: map, expected u32",
    );
    assert_bad_params(
        &with(settings(), &["limits", "tags"], json!([["a"]])),
        "at `limits.tags[0]`: invalid type: sequence, expected a string",
    );
    assert_bad_params(
        &json!({ "settings": settings() }),
        "at `settings`: unknown field `settings`, expected one of `threshold`, `label`, `limits`",
    );
}

#[test]
fn unknown_params_fields_are_named_with_deny_unknown_fields() {
    assert_bad_params(
        &with(settings(), &["limits", "maximum"], json!(1)),
        "at `limits.maximum`: unknown field `maximum`, expected `max` or `tags`",
    );
    assert_bad_params(
        &with(settings(), &["Threshold"], json!(1)),
        "at `Threshold`: unknown field `Threshold`, expected one of `threshold`, `label`, `limits`",
    );
}

#[test]
fn params_that_are_not_an_object_are_rejected_whole() {
    for (params, what) in [
        (Value::Null, "null"),
        (json!(5), "integer `5`"),
        (json!(-1.5), "floating point `-1.5`"),
        (
            json!("{\"threshold\": 3}"),
            "string \"{\\\"threshold\\\": 3}\"",
        ),
        (json!(true), "boolean `true`"),
    ] {
        assert_bad_params(
            &params,
            &format!("invalid type: {what}, expected struct Settings"),
        );
    }
}

/// Serde's derived `Deserialize` also takes a struct as an array of its fields in declaration
/// order, so array parameters are not refused as a whole: they convert by position, and a bad
/// element is named by its index.
#[test]
fn params_given_as_an_array_convert_by_position() {
    for kind in MODES {
        NodeTest::new(kind)
            .params(json!([3, "orders", { "max": 10, "tags": [] }]))
            .items([order(1)])
            .run_blocking()
            .unwrap_or_else(|error| panic!("{kind}: {error}"));
    }
    assert_bad_params(
        &json!([settings()]),
        "at `[0]`: invalid type: map, expected u32",
    );
    assert_bad_params(
        &json!([3, "orders", [1, ["a"]], "extra"]),
        "invalid length 4, expected fewer elements in array",
    );
    assert_bad_params(
        &json!([]),
        "invalid length 0, expected struct Settings with 3 elements",
    );
}

#[test]
fn a_node_without_params_accepts_only_no_fields() {
    for params in [json!({}), json!([])] {
        let output = NodeTest::new("conversion.no_params")
            .params(params)
            .items([json!(1)])
            .run_blocking()
            .expect("no parameters");
        assert_eq!(output.json(0), [json!(1)]);
    }
    for (params, expected) in [
        (
            json!({ "threshold": 3 }),
            "at `threshold`: unknown field `threshold`, there are no fields",
        ),
        (
            json!([3]),
            "invalid length 1, expected fewer elements in array",
        ),
        (Value::Null, "invalid type: null, expected struct NoParams"),
        (
            json!("{}"),
            "invalid type: string \"{}\", expected struct NoParams",
        ),
    ] {
        assert_fails(
            "conversion.no_params",
            params,
            vec![json!(1)],
            &format!("invalid parameters: {expected}"),
        );
    }
}

#[test]
fn huge_numbers_in_params_are_out_of_range_not_truncated() {
    assert_bad_params(
        &with(settings(), &["threshold"], json!(u64::MAX)),
        "at `threshold`: invalid value: integer `18446744073709551615`, expected u32",
    );
    assert_bad_params(
        &with(settings(), &["threshold"], json!(u64::from(u32::MAX) + 1)),
        "at `threshold`: invalid value: integer `4294967296`, expected u32",
    );
    assert_bad_params(
        &with(settings(), &["threshold"], json!(-1)),
        "at `threshold`: invalid value: integer `-1`, expected u32",
    );
    assert_bad_params(
        &with(settings(), &["limits", "max"], json!(i64::MIN)),
        "at `limits.max`: invalid value: integer `-9223372036854775808`, expected i32",
    );
    assert_bad_params(
        &with(settings(), &["threshold"], json!(1e300)),
        "at `threshold`: invalid type: floating point `1e+300`, expected u32",
    );
    // Beyond u64, JSON text parses as a float, which an integer field refuses.
    let parsed: Value = serde_json::from_str(
        r#"{"threshold": 123456789012345678901234567890, "label": "x", "limits": {"max": 1, "tags": []}}"#,
    )
    .expect("serde_json parses big integers as floats");
    assert_bad_params(
        &parsed,
        "at `threshold`: invalid type: floating point `1.2345678901234568e+29`, expected u32",
    );
}

#[test]
fn a_10_mb_string_in_params_converts_or_is_named() {
    let big = "p".repeat(TEN_MB);
    // Where a string belongs it converts.
    for kind in MODES {
        let output = NodeTest::new(kind)
            .params(with(settings(), &["label"], json!(big)))
            .items([order(1)])
            .run_blocking()
            .expect("a long string is still a string");
        assert_eq!(output.json(0), [order(1)]);
    }
    // Where it does not, the error names the field and says what was expected.
    for kind in MODES {
        let error = failure(
            NodeTest::new(kind)
                .params(with(settings(), &["limits", "max"], json!(big)))
                .items([order(1)]),
        );
        let message = error.message();
        assert!(
            message.starts_with("invalid parameters: at `limits.max`: invalid type: string \"ppp"),
            "{kind}: {}",
            &message[..80]
        );
        assert!(message.ends_with("ppp\", expected i32"), "{kind}");
    }
}

#[test]
fn deeply_nested_params_name_the_path() {
    let depth = deepest_parsable_json();
    let deep: Value = serde_json::from_str(&nested_text(depth)).expect("parsable depth");
    assert_bad_params(
        &with(settings(), &["limits", "tags"], deep),
        "at `limits.tags`: invalid type: map, expected a sequence",
    );

    on_a_big_stack(|| {
        let deeper = nested(10_000, json!(1));
        assert_bad_params(
            &with(settings(), &["limits", "max"], deeper.clone()),
            "at `limits.max`: invalid type: map, expected i32",
        );
        dismantle(deeper);
    });
}

#[test]
fn hostile_keys_in_params_are_named() {
    for key in [
        "thres\0hold",
        "thréshold",
        "\u{202e}dlohserht",
        "th\u{200b}reshold",
        "🦀",
    ] {
        assert_bad_params(
            &with(settings(), &[key], json!(3)),
            &format!(
                "at `{key}`: unknown field `{key}`, expected one of `threshold`, `label`, `limits`"
            ),
        );
    }
    let long_key = "k".repeat(1024 * 1024);
    for kind in MODES {
        let error = failure(
            NodeTest::new(kind)
                .params(with(settings(), &[long_key.as_str()], json!(3)))
                .items([order(1)]),
        );
        assert!(error.message().starts_with("invalid parameters: at `kkk"));
        assert!(
            error
                .message()
                .ends_with("kkk`, expected one of `threshold`, `label`, `limits`")
        );
    }
}

#[test]
fn hostile_strings_in_params_convert_unchanged() {
    for label in [
        "nul\0inside",
        "\u{0}",
        "ünïcødé ✓ 🦀",
        "\u{202e}rtl",
        "\u{feff}bom",
        "",
    ] {
        for kind in MODES {
            NodeTest::new(kind)
                .params(with(settings(), &["label"], json!(label)))
                .items([order(1)])
                .run_blocking()
                .unwrap_or_else(|error| panic!("{kind}: label {label:?}: {error}"));
        }
    }
}

#[test]
fn items_of_the_wrong_type_name_the_item_and_the_path() {
    assert_bad_item(
        &with(order(2), &["customer", "email"], json!(5)),
        "at `customer.email`: invalid type: integer `5`, expected a string",
    );
    assert_bad_item(
        &with(order(2), &["lines", "2", "quantity"], json!("3")),
        "at `lines[2].quantity`: invalid type: string \"3\", expected u32",
    );
    assert_bad_item(
        &with(order(2), &["lines", "0", "price"], json!("9.5")),
        "at `lines[0].price`: invalid type: string \"9.5\", expected f64",
    );
    assert_bad_item(
        &with(order(2), &["lines"], json!({ "sku": "A-1" })),
        "at `lines`: invalid type: map, expected a sequence",
    );
    // An array is taken as the struct's fields by position (serde's derived `Deserialize`).
    assert_bad_item(
        &json!([order(2)]),
        "at `[0]`: invalid type: map, expected u64",
    );
    assert_bad_item(
        &json!("order"),
        "invalid type: string \"order\", expected struct Order",
    );
}

#[test]
fn missing_item_fields_are_named() {
    assert_bad_item(
        &without(order(2), &["customer", "email"]),
        "at `customer`: missing field `email`",
    );
    assert_bad_item(&without(order(2), &["id"]), "missing field `id`");
    assert_bad_item(
        &with(
            order(2),
            &["lines", "1"],
            json!({ "sku": "B-2", "price": 1.0 }),
        ),
        "at `lines[1]`: missing field `quantity`",
    );
    assert_bad_item(&json!({}), "missing field `id`");
}

#[test]
fn extra_nesting_in_items_names_the_path() {
    assert_bad_item(
        &with(order(2), &["id"], json!({ "id": 2 })),
        "at `id`: invalid type: map, expected u64",
    );
    assert_bad_item(
        &with(order(2), &["id"], json!([2])),
        "at `id`: invalid type: sequence, expected u64",
    );
    assert_bad_item(
        &with(
            order(2),
            &["lines"],
            json!([[order(2)["lines"][0].clone()]]),
        ),
        "at `lines[0][0]`: invalid type: map, expected a string",
    );
    assert_bad_item(
        &json!({ "order": order(2) }),
        "at `order`: unknown field `order`, expected one of `id`, `customer`, `lines`",
    );
}

#[test]
fn unknown_item_fields_are_named_with_deny_unknown_fields() {
    assert_bad_item(
        &with(order(2), &["customer", "phone"], json!("555")),
        "at `customer.phone`: unknown field `phone`, expected `name` or `email`",
    );
    assert_bad_item(
        &with(order(2), &["lines", "2", "discount"], json!(0.5)),
        "at `lines[2].discount`: unknown field `discount`, expected one of `sku`, `quantity`, `price`",
    );
}

#[test]
fn unknown_item_fields_are_ignored_without_deny_unknown_fields() {
    let output = NodeTest::new("conversion.lenient")
        .items([json!({ "name": "Ada", "phone": "555", "tags": [{ "deep": [1, 2] }] })])
        .run_blocking()
        .expect("unknown fields are ignored");
    assert_eq!(output.json(0), [json!({ "name": "Ada" })]);
}

#[test]
fn null_items_and_null_fields_are_named() {
    assert_bad_item(&Value::Null, "invalid type: null, expected struct Order");
    assert_bad_item(
        &with(order(2), &["customer"], Value::Null),
        "at `customer`: invalid type: null, expected struct Customer",
    );
    assert_bad_item(
        &with(order(2), &["lines", "0"], Value::Null),
        "at `lines[0]`: invalid type: null, expected struct Line",
    );
    assert_fails(
        "conversion.no_params",
        json!({}),
        vec![json!(1), Value::Null],
        "invalid input item 1: invalid type: null, expected u64",
    );
}

#[test]
fn huge_numbers_in_items_are_out_of_range_not_truncated() {
    assert_bad_item(
        &with(order(2), &["lines", "1", "quantity"], json!(u64::MAX)),
        "at `lines[1].quantity`: invalid value: integer `18446744073709551615`, expected u32",
    );
    assert_bad_item(
        &with(order(2), &["id"], json!(i64::MIN)),
        "at `id`: invalid value: integer `-9223372036854775808`, expected u64",
    );
    assert_bad_item(
        &with(order(2), &["id"], json!(1.5)),
        "at `id`: invalid type: floating point `1.5`, expected u64",
    );
    // One past u64::MAX, in JSON text, is a float to serde_json.
    let text = order(2)
        .to_string()
        .replace("\"id\":2", "\"id\":18446744073709551616");
    let parsed: Value = serde_json::from_str(&text).expect("parses as a float");
    assert_bad_item(
        &parsed,
        "at `id`: invalid type: floating point `1.8446744073709552e+19`, expected u64",
    );
    // Floats at the edges of f64 convert exactly where a float belongs.
    for price in [f64::MAX, f64::MIN_POSITIVE, -0.0, 1e-300] {
        for kind in MODES {
            let item = with(order(2), &["lines", "0", "price"], json!(price));
            let output = NodeTest::new(kind)
                .params(settings())
                .items([item.clone()])
                .run_blocking()
                .expect("a float field takes any finite f64");
            assert_eq!(output.json(0), [item], "{kind}");
        }
    }
    // Numbers beyond f64 never reach the node: serde_json refuses the text.
    let error = serde_json::from_str::<Value>("{\"price\": 1e400}").expect_err("out of range");
    assert!(error.to_string().contains("number out of range"), "{error}");
}

#[test]
fn a_10_mb_string_in_an_item_converts_or_is_named() {
    let big = "i".repeat(TEN_MB);
    let item = with(order(2), &["customer", "name"], json!(big));
    for kind in MODES {
        let output = NodeTest::new(kind)
            .params(settings())
            .items([item.clone()])
            .run_blocking()
            .expect("a long string is still a string");
        assert_eq!(output.json(0), std::slice::from_ref(&item), "{kind}");
    }
    for kind in MODES {
        let error = failure(
            NodeTest::new(kind)
                .params(settings())
                .items(orders_with(with(order(2), &["id"], json!(big)))),
        );
        let message = error.message();
        assert!(
            message.starts_with("invalid input item 1: at `id`: invalid type: string \"iii"),
            "{kind}: {}",
            &message[..80]
        );
        assert!(message.ends_with("iii\", expected u64"), "{kind}");
    }
    let big_key = with(order(2), &["customer", big.as_str()], json!(1));
    for kind in MODES {
        let error = failure(
            NodeTest::new(kind)
                .params(settings())
                .items(orders_with(big_key.clone())),
        );
        let message = error.message();
        assert!(
            message.starts_with("invalid input item 1: at `customer.iii"),
            "{kind}: {}",
            &message[..80]
        );
        assert!(
            message.ends_with("iii`, expected `name` or `email`"),
            "{kind}"
        );
    }
}

/// The deepest nesting of JSON text that `serde_json` parses (it refuses deeper text with a
/// recursion limit error rather than overflowing the stack).
fn deepest_parsable_json() -> usize {
    let mut depth = 1;
    while serde_json::from_str::<Value>(&nested_text(depth + 1)).is_ok() {
        depth += 1;
        assert!(depth < 100_000, "serde_json has no nesting limit any more");
    }
    let error = serde_json::from_str::<Value>(&nested_text(depth + 1)).expect_err("too deep");
    assert!(
        error.to_string().contains("recursion limit exceeded"),
        "{error}"
    );
    depth
}

/// JSON text of `depth` nested objects around `1`.
fn nested_text(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

#[test]
fn json_nested_as_deep_as_serde_json_parses_is_named_where_it_does_not_fit() {
    let depth = deepest_parsable_json();
    let deep: Value = serde_json::from_str(&nested_text(depth)).expect("parsable depth");
    assert_bad_item(
        &deep,
        "at `a`: unknown field `a`, expected one of `id`, `customer`, `lines`",
    );
    assert_bad_item(
        &with(order(2), &["customer", "name"], deep.clone()),
        "at `customer.name`: invalid type: map, expected a string",
    );
    assert_bad_item(
        &with(order(2), &["lines", "2"], deep.clone()),
        "at `lines[2].a`: unknown field `a`, expected one of `sku`, `quantity`, `price`",
    );
    // Where unknown fields are ignored, the whole depth is skipped over.
    let output = NodeTest::new("conversion.lenient")
        .items([json!({ "name": "Ada", "extra": deep })])
        .run_blocking()
        .expect("ignored");
    assert_eq!(output.json(0), [json!({ "name": "Ada" })]);
}

/// Runs `test` on a thread with a 256 MB stack.
///
/// `serde_json::Value` drops, clones and compares recursively: a value nested 10,000 deep
/// overflows a 2 MB stack (a test thread's, or a tokio worker's) in `serde_json` alone, before
/// or after any conversion. Such values cannot come from JSON text (`serde_json` parses at most
/// 128 levels), only from code building them. What is tested here is the conversion, given the
/// stack `serde_json` itself needs.
fn on_a_big_stack(test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name("big stack".to_owned())
        .stack_size(256 * 1024 * 1024)
        .spawn(test)
        .expect("a thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

#[test]
fn a_value_nested_10_000_deep_is_named_where_it_does_not_fit() {
    on_a_big_stack(|| {
        let deep = nested(10_000, json!(1));
        assert_bad_item(
            &deep,
            "at `a`: unknown field `a`, expected one of `id`, `customer`, `lines`",
        );
        assert_bad_item(
            &with(order(2), &["customer", "email"], deep.clone()),
            "at `customer.email`: invalid type: map, expected a string",
        );
        assert_bad_item(
            &with(order(2), &["lines"], Value::Array(vec![deep.clone()])),
            "at `lines[0].a`: unknown field `a`, expected one of `sku`, `quantity`, `price`",
        );
        // Where unknown fields are ignored, the whole depth is skipped over.
        let item = with(json!({ "name": "Ada" }), &["extra"], deep);
        let output = NodeTest::new("conversion.lenient")
            .items([item])
            .run_blocking()
            .expect("ignored");
        assert_eq!(output.json(0), [json!({ "name": "Ada" })]);
    });
}

#[test]
fn hostile_keys_in_items_are_named() {
    for key in [
        "na\0me",
        "nåme",
        "\u{202e}eman",
        "na\u{200b}me",
        "🦀",
        "a.b",
        "[0]",
    ] {
        assert_bad_item(
            &with(order(2), &["customer", key], json!("x")),
            &format!("at `customer.{key}`: unknown field `{key}`, expected `name` or `email`"),
        );
    }
}

#[test]
fn hostile_strings_in_items_convert_unchanged() {
    for text in [
        "nul\0inside",
        "\u{0}",
        "ünïcødé ✓ 🦀",
        "\u{202e}rtl",
        "\u{feff}bom",
        "",
        "\"'`\\",
    ] {
        let item = with(order(2), &["customer", "name"], json!(text));
        for kind in MODES {
            let output = NodeTest::new(kind)
                .params(settings())
                .items([item.clone()])
                .run_blocking()
                .unwrap_or_else(|error| panic!("{kind}: {text:?}: {error}"));
            assert_eq!(
                output.json(0),
                std::slice::from_ref(&item),
                "{kind}: {text:?}"
            );
        }
    }
}

#[test]
fn the_first_bad_item_is_named_in_both_modes() {
    // Items 1 and 2 are both bad: each-item mode stops at the first; all mode converts every
    // item before calling the node, and names the first too.
    let items = vec![
        order(0),
        with(order(1), &["id"], json!("one")),
        with(order(2), &["id"], json!("two")),
    ];
    for kind in MODES {
        assert_fails(
            kind,
            settings(),
            items.clone(),
            "invalid input item 1: at `id`: invalid type: string \"one\", expected u64",
        );
    }
}

#[test]
fn bad_params_are_reported_before_bad_items() {
    let params = with(settings(), &["threshold"], json!("ten"));
    let items = vec![with(order(0), &["id"], json!("zero"))];
    for kind in MODES {
        assert_fails(
            kind,
            params.clone(),
            items.clone(),
            "invalid parameters: at `threshold`: invalid type: string \"ten\", expected u32",
        );
    }
}

#[test]
fn on_error_continue_keeps_the_named_error_on_the_failed_item() {
    let bad = with(order(2), &["lines", "1", "quantity"], json!(-2));
    let message =
        "invalid input item 1: at `lines[1].quantity`: invalid value: integer `-2`, expected u32";

    // Each-item mode: only the bad item fails; the others pass.
    let output = NodeTest::new("conversion.each")
        .params(settings())
        .items(orders_with(bad.clone()))
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    assert_eq!(
        output.json(0),
        [
            order(1),
            with(bad.clone(), &["error"], json!(message)),
            order(3)
        ]
    );

    // All mode: one bad item fails the single call, so every item carries the error.
    let output = NodeTest::new("conversion.all")
        .params(settings())
        .items(orders_with(bad.clone()))
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    assert_eq!(
        output.json(0),
        [
            with(order(1), &["error"], json!(message)),
            with(bad, &["error"], json!(message)),
            with(order(3), &["error"], json!(message)),
        ]
    );
}

#[test]
fn on_error_continue_wraps_a_failed_item_that_is_not_an_object() {
    let output = NodeTest::new("conversion.each")
        .params(settings())
        .items([Value::Null, json!("text"), json!(7)])
        .on_error(OnError::Continue)
        .run_blocking()
        .expect("continues");
    assert_eq!(
        output.json(0),
        [
            json!({ "value": null, "error": "invalid input item 0: invalid type: null, expected struct Order" }),
            json!({ "value": "text", "error": "invalid input item 1: invalid type: string \"text\", expected struct Order" }),
            json!({ "value": 7, "error": "invalid input item 2: invalid type: integer `7`, expected struct Order" }),
        ]
    );
}

#[test]
fn on_error_output_routes_failed_items_with_the_named_error() {
    let bad = without(order(2), &["customer", "name"]);
    let message = "invalid input item 1: at `customer`: missing field `name`";
    let output = NodeTest::new("conversion.each")
        .params(settings())
        .items(orders_with(bad.clone()))
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("routes errors");
    assert_eq!(output.json(0), [order(1), order(3)]);
    assert_eq!(
        output.named("error"),
        [with(bad.clone(), &["error"], json!(message))]
    );

    let output = NodeTest::new("conversion.all")
        .params(settings())
        .items(orders_with(bad.clone()))
        .on_error(OnError::ErrorOutput)
        .run_blocking()
        .expect("routes errors");
    assert_eq!(output.json(0), Vec::<Value>::new());
    assert_eq!(output.named("error").len(), 3);
    assert!(
        output
            .named("error")
            .iter()
            .all(|item| item["error"] == json!(message))
    );
}

#[test]
fn bad_params_under_on_error_continue_name_the_path_on_every_item() {
    let params = without(settings(), &["limits", "max"]);
    let message = "invalid parameters: at `limits`: missing field `max`";
    for kind in MODES {
        let output = NodeTest::new(kind)
            .params(params.clone())
            .items([order(1), order(2)])
            .on_error(OnError::Continue)
            .run_blocking()
            .expect("continues");
        assert_eq!(
            output.json(0),
            [
                with(order(1), &["error"], json!(message)),
                with(order(2), &["error"], json!(message)),
            ],
            "{kind}"
        );
    }
}

#[tokio::test]
async fn conversion_errors_surface_the_same_way_from_an_async_test() {
    let result = NodeTest::new("conversion.each")
        .params(settings())
        .items([with(order(1), &["customer", "email"], json!(["a@b"]))])
        .run()
        .await;
    match result {
        Err(TestError::Node(error)) => assert_eq!(
            error.message(),
            "invalid input item 0: at `customer.email`: invalid type: sequence, expected a string"
        ),
        other => panic!("expected a conversion error, got {other:?}"),
    }
}

/// How often `Counted<false>` and `Counted<true>` parameters were deserialized.
static READS: [std::sync::atomic::AtomicUsize; 2] = [
    std::sync::atomic::AtomicUsize::new(0),
    std::sync::atomic::AtomicUsize::new(0),
];

/// Parameters that count their deserializations; `Clone` when `CLONE`.
#[derive(Debug, JsonSchema)]
struct Counted<const CLONE: bool> {
    factor: u64,
}

impl Clone for Counted<true> {
    fn clone(&self) -> Self {
        Self {
            factor: self.factor,
        }
    }
}

impl<'de, const CLONE: bool> Deserialize<'de> for Counted<CLONE> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// The parameters as written.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Factor {
            factor: u64,
        }
        READS[usize::from(CLONE)].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Factor::deserialize(deserializer).map(|raw| Self { factor: raw.factor })
    }
}

#[node(kind = "conversion.shared")]
async fn shared(Params(p): Params<Counted<true>>, Item(n): Item<u64>) -> Result<u64, NodeError> {
    Ok(n * p.factor)
}

#[node(kind = "conversion.owned")]
async fn owned(Params(p): Params<Counted<false>>, Item(n): Item<u64>) -> Result<u64, NodeError> {
    Ok(n * p.factor)
}

#[test]
fn each_item_parameters_are_read_once_when_clone_and_for_every_item_otherwise() {
    use std::sync::atomic::Ordering::SeqCst;
    let numbers: Vec<Value> = (0..100).map(|n| json!(n)).collect();
    let tripled: Vec<Value> = (0..100).map(|n| json!(n * 3)).collect();
    for (kind, reads) in [
        ("conversion.shared", &READS[1]),
        ("conversion.owned", &READS[0]),
    ] {
        let before = reads.load(SeqCst);
        let output = NodeTest::new(kind)
            .params(json!({ "factor": 3 }))
            .items(numbers.clone())
            .run_blocking()
            .expect("runs");
        assert_eq!(output.json(0), tripled, "{kind}");
        let read = reads.load(SeqCst) - before;
        if kind == "conversion.shared" {
            // Once for the call, and at most once more when the harness checks them first.
            assert!(read <= 2, "{kind}: read {read} times");
        } else {
            assert!(read >= 100, "{kind}: read {read} times");
        }

        // Bad parameters fail every item alike, whichever way they are read.
        let output = NodeTest::new(kind)
            .params(json!({ "factor": "three" }))
            .items([json!(1), json!(2)])
            .on_error(OnError::Continue)
            .run_blocking()
            .expect("continues");
        let errors: Vec<Value> = output
            .json(0)
            .into_iter()
            .map(|item| item["error"].clone())
            .collect();
        assert_eq!(errors.len(), 2, "{kind}");
        assert_eq!(errors[0], errors[1], "{kind}");
        let message = errors[0].as_str().expect("an error message");
        assert!(
            message.contains("invalid parameters") && message.contains("factor"),
            "{kind}: {message}"
        );
    }
}
