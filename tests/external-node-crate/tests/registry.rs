//! The nodes of this crate are in `hetumind::Registry::global()`, described correctly.

use hetumind::Registry;
use hetumind::testing::NodeTest;
// An integration test is a binary of its own: it must name the node crate, or the linker drops
// the crate and its registrations with it.
use external_node_crate as _;

fn registry() -> &'static Registry {
    Registry::global().expect("no duplicate registrations")
}

/// The names in a schema's `required` list, sorted.
fn required(schema: &schemars::Schema) -> Vec<String> {
    let mut names: Vec<String> = schema
        .get("required")
        .and_then(|required| required.as_array())
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The `type` of property `name` of an object schema.
fn property_type(schema: &schemars::Schema, name: &str) -> Option<String> {
    let property = schema.get("properties")?.get(name)?;
    match property.get("type")? {
        kind if kind.is_string() => kind.as_str().map(str::to_owned),
        kinds => Some(
            kinds
                .as_array()?
                .iter()
                .filter_map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join("|"),
        ),
    }
}

fn schema_type(schema: &schemars::Schema) -> Option<&str> {
    schema.get("type").and_then(|kind| kind.as_str())
}

#[test]
fn every_node_of_this_crate_is_registered() {
    let kinds: Vec<(&str, u32)> = registry()
        .iter()
        .filter(|node| node.kind.starts_with("external."))
        .map(|node| (node.kind, node.version))
        .collect();
    assert_eq!(
        kinds,
        [
            ("external.greet", 1),
            ("external.greet", 2),
            ("external.parity", 1)
        ]
    );
}

#[test]
fn greet_is_described_by_its_attribute_and_doc_comment() {
    let greet = registry().get("external.greet", 2).expect("registered");
    assert_eq!(greet.kind, "external.greet");
    assert_eq!(greet.version, 2);
    assert_eq!(greet.id(), "external.greet@2");
    assert_eq!(
        greet.description,
        "Greets every person it receives.\n\nOne greeting per person."
    );
    assert_eq!(greet.outputs, ["main"]);
    assert_eq!(greet.mode, hetumind::ExecuteMode::EachItem);
    assert_eq!(greet.retry.max_attempts, 5);
    assert_eq!(greet.retry.initial_interval.as_millis(), 200);
    assert_eq!(greet.retry.max_interval.as_secs(), 30);
    assert_eq!(greet.retry.jitter, hetumind::retry::Jitter::None);
    assert!(
        greet.location.file.ends_with("lib.rs"),
        "{}",
        greet.location
    );
    assert_eq!(greet.location.module, "external_node_crate");
    assert!(
        std::ptr::eq(registry().latest("external.greet").expect("latest"), greet),
        "the latest version of external.greet is 2"
    );
}

#[test]
fn greet_schemas_describe_its_types() {
    let greet = registry().get("external.greet", 2).expect("registered");

    let params = (greet.params_schema)();
    assert_eq!(
        params.get("$schema").and_then(|uri| uri.as_str()),
        Some("https://json-schema.org/draft/2020-12/schema")
    );
    assert_eq!(schema_type(&params), Some("object"));
    assert_eq!(
        params.get("title").and_then(|title| title.as_str()),
        Some("GreetParams")
    );
    assert_eq!(required(&params), ["greeting"]);
    assert_eq!(
        property_type(&params, "greeting").as_deref(),
        Some("string")
    );
    assert_eq!(
        property_type(&params, "emphasis").as_deref(),
        Some("integer|null")
    );
    let greeting = params
        .get("properties")
        .and_then(|properties| properties.get("greeting"))
        .and_then(|greeting| greeting.get("description"))
        .and_then(|description| description.as_str());
    assert_eq!(greeting, Some("The word to greet with."));

    let input = (greet.input_schema)();
    assert_eq!(schema_type(&input), Some("object"));
    assert_eq!(required(&input), ["name"]);
    assert_eq!(property_type(&input, "name").as_deref(), Some("string"));
    assert_eq!(
        property_type(&input, "age").as_deref(),
        Some("integer|null")
    );

    let output = (greet.output_schema)();
    assert_eq!(schema_type(&output), Some("object"));
    assert_eq!(required(&output), ["message"]);
    assert_eq!(property_type(&output, "message").as_deref(), Some("string"));
}

#[test]
fn a_node_without_params_takes_an_empty_object() {
    let greet = registry().get("external.greet", 1).expect("registered");
    assert_eq!(greet.description, "The first, older version of [`greet`].");
    let params = (greet.params_schema)();
    assert_eq!(schema_type(&params), Some("object"));
    assert_eq!(
        params
            .get("additionalProperties")
            .and_then(|extra| extra.as_bool()),
        Some(false)
    );
    assert_eq!(schema_type(&(greet.input_schema)()), Some("string"));
    assert_eq!(schema_type(&(greet.output_schema)()), Some("string"));
}

#[test]
fn parity_declares_its_outputs_and_all_mode() {
    let parity = registry().latest("external.parity").expect("registered");
    assert_eq!(parity.version, 1);
    assert_eq!(parity.description, "Sorts numbers into even and odd.");
    assert_eq!(parity.outputs, ["even", "odd"]);
    assert_eq!(parity.mode, hetumind::ExecuteMode::All);
    assert_eq!(parity.retry, hetumind::RetryPolicy::DEFAULT);
    assert_eq!(schema_type(&(parity.input_schema)()), Some("integer"));
    assert_eq!(schema_type(&(parity.output_schema)()), Some("integer"));
}

#[test]
fn the_nodes_run() {
    let output = NodeTest::new("external.greet")
        .params([("greeting", "Hi")].into_iter().collect())
        .items([[("name", "Ada")].into_iter().collect()])
        .run_blocking()
        .expect("greets");
    let messages: Vec<Option<String>> = output
        .json(0)
        .iter()
        .map(|item| {
            item.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(messages, [Some("Hi, Ada!".to_owned())]);

    let output = NodeTest::new("external.greet")
        .version(1)
        .items(["Grace".into()])
        .run_blocking()
        .expect("greets");
    assert_eq!(output.json(0), ["Hello, Grace"]);

    let output = NodeTest::new("external.parity")
        .items([1.into(), 2.into(), 3.into()])
        .run_blocking()
        .expect("sorts");
    assert_eq!(output.named("even"), [2]);
    assert_eq!(output.named("odd"), [1, 3]);
}
