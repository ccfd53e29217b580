//! The registry over hand-made registrations: duplicates are an error naming both definitions,
//! iteration is sorted by kind then version, the highest version wins when none is asked for,
//! and catalog entries serialize with everything a node publishes.

use std::time::Duration;

use hetumind::prelude::*;
use hetumind::registry::{CatalogEntry, Duplicate, RegistryError};
use hetumind::retry::Jitter;
use hetumind::{
    BoxFuture, ExecuteMode, InputCount, Invocation, NodeOutput, NodeRegistration, NodeRole,
    Registry, RetryPolicy, SourceLocation,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn any_schema() -> schemars::Schema {
    schemars::Schema::from(true)
}

fn string_schema() -> schemars::Schema {
    schemars::json_schema!({ "type": "string" })
}

fn accept_params(_: &Value) -> Result<(), NodeError> {
    Ok(())
}

fn invoke_nothing(_: Invocation) -> BoxFuture<'static, Result<NodeOutput, NodeError>> {
    Box::pin(async { Ok(NodeOutput::default()) })
}

/// A hand-made registration of `kind` at `version`, defined at `file:line`.
const fn registration(
    kind: &'static str,
    version: u32,
    file: &'static str,
    line: u32,
) -> NodeRegistration {
    NodeRegistration {
        kind,
        version,
        description: "A hand-made node.",
        outputs: &["main"],
        inputs: InputCount::ONE,
        role: NodeRole::Regular,
        nonblocking: false,
        mode: ExecuteMode::All,
        consumes_items: false,
        retry: RetryPolicy::DEFAULT,
        location: SourceLocation {
            file,
            line,
            module: "registry::hand_made",
        },
        params_schema: any_schema,
        input_schema: any_schema,
        output_schema: any_schema,
        check_params: accept_params,
        invoke: invoke_nothing,
    }
}

static ALPHA_1: NodeRegistration = registration("alpha", 1, "src/alpha.rs", 10);
static ALPHA_2: NodeRegistration = registration("alpha", 2, "src/alpha.rs", 20);
static ALPHA_10: NodeRegistration = registration("alpha", 10, "src/alpha.rs", 30);
static ALPHA_EXT: NodeRegistration = registration("alpha.ext", 1, "src/alpha_ext.rs", 1);
static BETA_3: NodeRegistration = registration("beta", 3, "src/beta.rs", 5);
static UPPER: NodeRegistration = registration("Zeta", 1, "src/zeta.rs", 7);

/// `alpha` version 2 again, in another file.
static ALPHA_2_AGAIN: NodeRegistration = registration("alpha", 2, "src/other.rs", 99);
/// `beta` version 3 again, in the same file as the first.
static ALPHA_2_THIRD: NodeRegistration = registration("alpha", 2, "src/third.rs", 1);
static BETA_3_AGAIN: NodeRegistration = registration("beta", 3, "src/beta.rs", 105);

fn ids(registry: &Registry) -> Vec<String> {
    registry.iter().map(NodeRegistration::id).collect()
}

#[test]
fn iteration_is_sorted_by_kind_then_numeric_version() {
    let registry = Registry::new([&BETA_3, &ALPHA_10, &ALPHA_EXT, &ALPHA_1, &UPPER, &ALPHA_2])
        .expect("no duplicates");
    assert_eq!(
        ids(&registry),
        [
            "Zeta@1",
            "alpha@1",
            "alpha@2",
            "alpha@10",
            "alpha.ext@1",
            "beta@3"
        ]
    );
    assert_eq!(registry.len(), 6);
    assert_eq!(registry.iter().len(), 6);
    assert!(!registry.is_empty());

    // The order does not depend on the order of registration.
    let reversed = Registry::new([&ALPHA_2, &UPPER, &ALPHA_1, &ALPHA_EXT, &ALPHA_10, &BETA_3])
        .expect("no duplicates");
    assert_eq!(ids(&reversed), ids(&registry));

    let catalog: Vec<(&str, u32)> = registry
        .catalog()
        .iter()
        .map(|entry| (entry.kind, entry.version))
        .collect();
    assert_eq!(
        catalog,
        [
            ("Zeta", 1),
            ("alpha", 1),
            ("alpha", 2),
            ("alpha", 10),
            ("alpha.ext", 1),
            ("beta", 3)
        ]
    );
}

#[test]
fn an_empty_registry_is_valid() {
    let registry = Registry::new([]).expect("empty");
    assert!(registry.is_empty());
    assert_eq!(registry.len(), 0);
    assert!(registry.latest("alpha").is_none());
    assert!(registry.catalog().is_empty());
}

#[test]
fn latest_and_resolve_pick_the_highest_version() {
    let registry =
        Registry::new([&ALPHA_2, &ALPHA_10, &ALPHA_1, &ALPHA_EXT, &BETA_3]).expect("no duplicates");

    let latest = registry.latest("alpha").expect("alpha");
    assert!(std::ptr::eq(latest, &ALPHA_10), "{}", latest.id());
    assert!(std::ptr::eq(
        registry.resolve("alpha", None).expect("alpha"),
        &ALPHA_10
    ));
    assert!(std::ptr::eq(
        registry.resolve("alpha", Some(2)).expect("alpha@2"),
        &ALPHA_2
    ));
    assert!(std::ptr::eq(
        registry.get("alpha", 1).expect("alpha@1"),
        &ALPHA_1
    ));
    assert!(std::ptr::eq(
        registry.latest("beta").expect("beta"),
        &BETA_3
    ));

    // A kind that another kind starts with is not confused with it.
    assert!(std::ptr::eq(
        registry.latest("alpha.ext").expect("alpha.ext"),
        &ALPHA_EXT
    ));
    assert!(registry.latest("alph").is_none());
    assert!(registry.latest("alpha.").is_none());

    assert!(registry.get("alpha", 3).is_none());
    assert!(registry.resolve("alpha", Some(0)).is_none());
    assert!(registry.resolve("alpha", Some(u32::MAX)).is_none());
    assert!(registry.resolve("gamma", None).is_none());
    assert!(
        registry.get("ALPHA", 1).is_none(),
        "kinds are case-sensitive"
    );
}

#[test]
fn a_duplicate_names_both_source_locations() {
    let error = Registry::new([&ALPHA_1, &ALPHA_2, &ALPHA_2_AGAIN]).expect_err("duplicate");
    assert_eq!(
        error.duplicates,
        [Duplicate {
            kind: "alpha",
            version: 2,
            first: ALPHA_2.location,
            second: ALPHA_2_AGAIN.location,
        }]
    );
    let message = error.to_string();
    assert!(message.contains("`alpha`"), "{message}");
    assert!(message.contains("version 2"), "{message}");
    assert!(message.contains("src/alpha.rs:20"), "{message}");
    assert!(message.contains("src/other.rs:99"), "{message}");
    assert_eq!(
        message,
        "node `alpha` version 2 is registered twice: at src/alpha.rs:20 (registry::hand_made) \
         and at src/other.rs:99 (registry::hand_made)"
    );
}

#[test]
fn duplicate_errors_do_not_depend_on_registration_order() {
    let orders: [[&'static NodeRegistration; 5]; 4] = [
        [&ALPHA_2, &ALPHA_2_AGAIN, &BETA_3, &BETA_3_AGAIN, &ALPHA_1],
        [&BETA_3_AGAIN, &ALPHA_2_AGAIN, &ALPHA_1, &BETA_3, &ALPHA_2],
        [&ALPHA_2_AGAIN, &BETA_3, &ALPHA_2, &ALPHA_1, &BETA_3_AGAIN],
        [&ALPHA_1, &BETA_3_AGAIN, &BETA_3, &ALPHA_2_AGAIN, &ALPHA_2],
    ];
    let errors: Vec<RegistryError> = orders
        .iter()
        .map(|order| Registry::new(order.iter().copied()).expect_err("duplicates"))
        .collect();
    for error in &errors {
        assert_eq!(*error, errors[0]);
        assert_eq!(error.to_string(), errors[0].to_string());
    }
    let error = &errors[0];
    // Every duplicate is reported, sorted by kind then version, each with its locations in
    // source order.
    let reported: Vec<(&str, u32, String, String)> = error
        .duplicates
        .iter()
        .map(|duplicate| {
            (
                duplicate.kind,
                duplicate.version,
                format!("{}:{}", duplicate.first.file, duplicate.first.line),
                format!("{}:{}", duplicate.second.file, duplicate.second.line),
            )
        })
        .collect();
    assert_eq!(
        reported,
        [
            (
                "alpha",
                2,
                "src/alpha.rs:20".to_owned(),
                "src/other.rs:99".to_owned()
            ),
            (
                "beta",
                3,
                "src/beta.rs:5".to_owned(),
                "src/beta.rs:105".to_owned()
            ),
        ]
    );
    let message = error.to_string();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "one line per duplicate: {error}");
    assert!(lines[0].contains("`alpha` version 2"), "{}", lines[0]);
    assert!(lines[1].contains("`beta` version 3"), "{}", lines[1]);
}

/// A node linked into this test binary with `#[node]`.
#[derive(Deserialize, JsonSchema)]
struct ShoutParams {
    /// How many times to repeat.
    times: u32,
}

/// What [`shout`] returns.
#[derive(Serialize, JsonSchema)]
struct Shouted {
    text: String,
}

const SHOUT_LINE: u32 = line!() + 3;
/// Shouts a text.
/// Loudly.
#[node(
    kind = "registry_test.shout",
    version = 4,
    inputs = 3,
    outputs("loud", "quiet"),
    retry(
        max_attempts = 2,
        initial = "50ms",
        max = "1m",
        backoff_rate = 3,
        jitter = "none"
    )
)]
async fn shout(
    Params(params): Params<ShoutParams>,
    Item(text): Item<String>,
) -> Result<Routed<Shouted>, NodeError> {
    let text = text.to_uppercase().repeat(params.times as usize);
    Ok(if text.is_empty() {
        Routed::to("quiet", Shouted { text })
    } else {
        Routed::to("loud", Shouted { text })
    })
}

fn global() -> &'static Registry {
    Registry::global().expect("the test binary has no duplicate nodes")
}

#[test]
fn a_linked_node_is_in_the_global_registry_with_its_source_location() {
    let shout = global().latest("registry_test.shout").expect("linked");
    assert_eq!(shout.version, 4);
    assert_eq!(shout.location.file, file!());
    assert_eq!(shout.location.line, SHOUT_LINE);
    assert_eq!(shout.location.module, module_path!());
    assert_eq!(
        shout.location.to_string(),
        format!("{}:{} ({})", file!(), SHOUT_LINE, module_path!())
    );
    assert!(std::ptr::eq(global(), global()), "built once");
}

#[test]
fn a_duplicate_of_a_linked_node_names_both_definitions() {
    let shout = global().latest("registry_test.shout").expect("linked");
    // The same node again, with the linked node's function pointers, defined elsewhere.
    let copy: &'static NodeRegistration = Box::leak(Box::new(NodeRegistration {
        kind: shout.kind,
        version: shout.version,
        description: shout.description,
        outputs: shout.outputs,
        inputs: shout.inputs,
        role: shout.role,
        nonblocking: shout.nonblocking,
        mode: shout.mode,
        consumes_items: shout.consumes_items,
        retry: shout.retry,
        location: SourceLocation {
            file: "a/plugin/lib.rs",
            line: 3,
            module: "plugin",
        },
        params_schema: shout.params_schema,
        input_schema: shout.input_schema,
        output_schema: shout.output_schema,
        check_params: shout.check_params,
        invoke: shout.invoke,
    }));
    let error = Registry::new(global().iter().chain([copy])).expect_err("duplicate");
    let message = error.to_string();
    assert_eq!(error.duplicates.len(), 1, "{message}");
    assert!(
        message.contains("`registry_test.shout` version 4"),
        "{message}"
    );
    assert!(message.contains("a/plugin/lib.rs:3"), "{message}");
    assert!(
        message.contains(&format!("{}:{SHOUT_LINE}", file!())),
        "{message}"
    );

    let again = Registry::new([copy].into_iter().chain(global().iter())).expect_err("duplicate");
    assert_eq!(again, error);

    // The copy works like the original: its function pointers are the node's.
    let alone = Registry::new([copy]).expect("one node");
    let params = json!({ "times": 2 });
    assert!(
        (alone
            .latest("registry_test.shout")
            .expect("copy")
            .check_params)(&params)
        .is_ok()
    );
    assert!((copy.check_params)(&json!({ "times": "x" })).is_err());
}

#[test]
fn catalog_entries_serialize_with_everything_a_node_publishes() {
    let entry = global()
        .catalog()
        .into_iter()
        .find(|entry| entry.kind == "registry_test.shout")
        .expect("in the catalog");
    let json = serde_json::to_value(&entry).expect("serializes");
    let mut keys: Vec<&str> = json
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "description",
            "execute_mode",
            "input_schema",
            "inputs",
            "kind",
            "output_schema",
            "outputs",
            "params_schema",
            "retry",
            "source",
            "version"
        ]
    );
    assert_eq!(json["kind"], json!("registry_test.shout"));
    assert_eq!(json["version"], json!(4));
    assert_eq!(json["description"], json!("Shouts a text.\nLoudly."));
    assert_eq!(json["outputs"], json!(["loud", "quiet"]));
    assert_eq!(json["inputs"], json!(3));
    assert_eq!(json["execute_mode"], json!("each_item"));
    assert_eq!(
        json["retry"],
        json!({
            "max_attempts": 2,
            "initial_interval_ms": 50,
            "backoff_rate": 3.0,
            "max_interval_ms": 60000,
            "jitter": "none"
        })
    );
    assert_eq!(
        json["source"],
        json!({ "file": file!(), "line": SHOUT_LINE, "module": module_path!() })
    );

    let params = &json["params_schema"];
    assert_eq!(
        params["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(params["title"], json!("ShoutParams"));
    assert_eq!(params["required"], json!(["times"]));
    // Every field also accepts an expression.
    assert_eq!(
        params["properties"]["times"]["anyOf"][0]["type"],
        json!("integer")
    );
    assert_eq!(
        params["properties"]["times"]["anyOf"][1],
        json!({ "$ref": "#/$defs/Expression" })
    );
    assert_eq!(params["$defs"]["Expression"]["type"], json!("string"));
    assert_eq!(
        params["properties"]["times"]["description"],
        json!("How many times to repeat.")
    );
    assert_eq!(json["input_schema"]["type"], json!("string"));
    assert_eq!(json["output_schema"]["required"], json!(["text"]));
    assert_eq!(
        json["output_schema"]["properties"]["text"]["type"],
        json!("string")
    );

    assert_eq!(
        entry.retry,
        RetryPolicy {
            max_attempts: 2,
            initial_interval: Duration::from_millis(50),
            backoff_rate: 3.0,
            max_interval: Duration::from_secs(60),
            jitter: Jitter::None,
        }
    );
}

#[test]
fn catalog_entries_of_hand_made_registrations_call_their_schema_functions() {
    static STRINGS: NodeRegistration = NodeRegistration {
        kind: "strings",
        version: 2,
        description: "Takes strings.",
        outputs: &["a", "b"],
        inputs: InputCount::Any,
        role: NodeRole::Regular,
        nonblocking: false,
        mode: ExecuteMode::EachItem,
        consumes_items: false,
        retry: RetryPolicy::NEVER,
        location: SourceLocation {
            file: "src/strings.rs",
            line: 12,
            module: "strings",
        },
        params_schema: any_schema,
        input_schema: string_schema,
        output_schema: any_schema,
        check_params: accept_params,
        invoke: invoke_nothing,
    };
    let registry = Registry::new([&STRINGS, &ALPHA_1]).expect("no duplicates");
    let catalog = registry.catalog();
    assert_eq!(catalog.len(), 2);
    let json = serde_json::to_value(&catalog).expect("serializes");
    assert_eq!(
        json[1],
        json!({
            "kind": "strings",
            "version": 2,
            "description": "Takes strings.",
            "inputs": "any",
            "outputs": ["a", "b"],
            "execute_mode": "each_item",
            "params_schema": true,
            "input_schema": { "type": "string" },
            "output_schema": true,
            "retry": {
                "max_attempts": 1,
                "initial_interval_ms": 1000,
                "backoff_rate": 2.0,
                "max_interval_ms": 30000,
                "jitter": "full"
            },
            "source": { "file": "src/strings.rs", "line": 12, "module": "strings" }
        })
    );
    assert_eq!(json[0]["kind"], json!("alpha"));
    assert_eq!(json[0]["execute_mode"], json!("all"));
    assert_eq!(json[0]["inputs"], json!(1));

    let entry = CatalogEntry::of(&STRINGS);
    assert_eq!(entry.outputs, ["a", "b"]);
    assert_eq!(entry.source, STRINGS.location);
    assert_eq!(entry.execute_mode, ExecuteMode::EachItem);
}

#[test]
fn three_copies_are_each_reported_against_the_first_in_source_order() {
    let orders: [[&'static NodeRegistration; 3]; 3] = [
        [&ALPHA_2, &ALPHA_2_AGAIN, &ALPHA_2_THIRD],
        [&ALPHA_2_THIRD, &ALPHA_2, &ALPHA_2_AGAIN],
        [&ALPHA_2_AGAIN, &ALPHA_2_THIRD, &ALPHA_2],
    ];
    for order in orders {
        let error = Registry::new(order).expect_err("duplicates");
        let pairs: Vec<(u32, &str)> = error
            .duplicates
            .iter()
            .map(|duplicate| (duplicate.first.line, duplicate.second.file))
            .collect();
        assert_eq!(pairs, [(20, "src/other.rs"), (20, "src/third.rs")]);
    }
}
