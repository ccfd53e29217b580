//! The generated reference files under `docs/reference/`, checked to be current:
//!
//! - `workflow.schema.json`: the JSON Schema of the workflow format, exactly as
//!   `hetumind-examples schema workflow` prints it;
//! - `nodes.md`: the catalog of every node linked into the examples binary (the built-in nodes
//!   and the example nodes), in Markdown, from the registry `nodes --json` prints.
//!
//! Both are generated here, in-process, and compared with the committed files; a difference
//! fails the test. `HETUMIND_BLESS=1` writes them instead:
//!
//! ```sh
//! HETUMIND_BLESS=1 cargo test -p hetumind-examples --test reference_docs
//! ```

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use hetumind::Registry;
use hetumind::model::Workflow;
use hetumind::registry::CatalogEntry;
use serde_json::Value;

// The examples binary's nodes: the built-in nodes (a dependency) and the example nodes (this
// package's library), as `lambda_main!()` links them into the binary.
hetumind::link_node_crates!();

const BLESS: &str = "HETUMIND_BLESS=1 cargo test -p hetumind-examples --test reference_docs";

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .join("docs")
        .join("reference")
}

/// Compares the committed `name` with `generated`, or writes it under `HETUMIND_BLESS=1`.
fn check(name: &str, generated: &str) {
    let path = reference_dir().join(name);
    if std::env::var_os("HETUMIND_BLESS").is_some_and(|value| value == "1") {
        std::fs::create_dir_all(reference_dir()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let Ok(committed) = std::fs::read_to_string(&path) else {
        panic!("docs/reference/{name} is missing: run `{BLESS}` to generate it, then commit it");
    };
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(old, new)| old != new)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "docs/reference/{name} is out of date (first difference at line {}): run `{BLESS}` \
             to update it, then commit it\n--- committed\n{}\n--- generated\n{}",
            line + 1,
            committed.lines().nth(line).unwrap_or("(end of file)"),
            generated.lines().nth(line).unwrap_or("(end of file)"),
        );
    }
}

/// What `schema workflow` prints.
fn workflow_schema() -> String {
    let mut text = serde_json::to_string_pretty(&Workflow::json_schema()).unwrap();
    text.push('\n');
    text
}

#[test]
fn the_workflow_schema_is_current() {
    check("workflow.schema.json", &workflow_schema());
}

#[test]
fn the_node_catalog_is_current() {
    let registry = Registry::global().unwrap();
    check("nodes.md", &nodes_markdown(&registry.catalog()));
}

/// The generator sees what the binary has: the same schema, the same nodes.
#[test]
fn the_binary_agrees_with_the_generator() {
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_hetumind-examples"))
            .args(args)
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(run(&["schema", "workflow"]), workflow_schema());
    let listed: BTreeSet<String> = run(&["nodes"])
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    let registered: BTreeSet<String> = Registry::global()
        .unwrap()
        .iter()
        .map(hetumind::NodeRegistration::id)
        .collect();
    assert_eq!(listed, registered);
}

/// The Markdown catalog of `nodes`.
fn nodes_markdown(nodes: &[CatalogEntry]) -> String {
    let mut out = String::new();
    out.push_str("# Node reference\n\n");
    writeln!(
        out,
        "<!-- Generated from the node registry by examples/tests/reference_docs.rs: do not \
         edit. After changing a node, run `{BLESS}`. -->\n"
    )
    .unwrap();
    out.push_str(
        "Every node linked into the examples binary (`hetumind-examples`): the built-in nodes \
         of `hetumind-nodes` (`core.*`) and the example nodes of `examples/src` (`example.*`). \
         `hetumind-examples nodes --json` prints the same catalog with the full JSON Schemas; \
         `nodes` lists the nodes of any Hetumind binary.\n\n\
         Every parameter also accepts an expression, `\"{% ... %}\"`, evaluated per item \
         before the parameters are read (see [Expressions](../workflow-format.md#expressions)).\n\n",
    );
    out.push_str("| node | version | what it does |\n|---|---|---|\n");
    for node in nodes {
        writeln!(
            out,
            "| [`{kind}`](#{anchor}) | {version} | {summary} |",
            kind = node.kind,
            anchor = anchor(node),
            version = node.version,
            summary = cell(&first_sentence(node.description)),
        )
        .unwrap();
    }
    for node in nodes {
        node_section(&mut out, node);
    }
    out
}

/// The GitHub anchor of a node's heading, `` `core.if` (version 1) ``.
fn anchor(node: &CatalogEntry) -> String {
    let heading = format!("{} version {}", node.kind, node.version);
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '_' | '-' => Some(c),
            c if c.is_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

fn node_section(out: &mut String, node: &CatalogEntry) {
    writeln!(out, "\n## `{}` version {}\n", node.kind, node.version).unwrap();
    writeln!(out, "{}\n", node.description.trim()).unwrap();
    let mode = match node.execute_mode {
        hetumind::ExecuteMode::EachItem => "called once per item",
        hetumind::ExecuteMode::All => "called once with all items",
    };
    writeln!(out, "- Inputs: {}; {mode}", node.inputs).unwrap();
    let outputs: Vec<String> = node
        .outputs
        .iter()
        .map(|name| format!("`{name}`"))
        .collect();
    writeln!(out, "- Outputs: {}", outputs.join(", ")).unwrap();
    writeln!(out, "- Input item: {}", item(&node.input_schema)).unwrap();
    writeln!(out, "- Output item: {}", item(&node.output_schema)).unwrap();
    writeln!(out, "- Default retry: {}", retry(node)).unwrap();
    writeln!(out, "- Defined in: `{}`", node.source.file).unwrap();

    let schema = node.params_schema.as_value();
    let properties = schema["properties"].as_object();
    match properties {
        None => out.push_str("\nNo parameters.\n"),
        Some(properties) if properties.is_empty() => out.push_str("\nNo parameters.\n"),
        Some(properties) => {
            let required = names(&schema["required"]);
            out.push_str("\n| parameter | type | required | default | description |\n");
            out.push_str("|---|---|---|---|---|\n");
            for (name, property) in properties {
                let default = property
                    .get("default")
                    .map(|value| format!("`{value}`"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "| `{name}` | {} | {} | {} | {} |",
                    cell(&type_name(property)),
                    if required.contains(name.as_str()) {
                        "yes"
                    } else {
                        "no"
                    },
                    cell(&default),
                    cell(&first_paragraph(
                        property["description"].as_str().unwrap_or_default()
                    )),
                )
                .unwrap();
            }
        }
    }
    let definitions = definitions(schema);
    if !definitions.is_empty() {
        out.push('\n');
        for (name, description) in definitions {
            writeln!(out, "- `{name}`: {description}").unwrap();
        }
    }
}

/// The types a parameters schema defines (`$defs`) and names, with their descriptions;
/// `Expression` is left out (every parameter accepts one, as the page says once).
fn definitions(schema: &Value) -> Vec<(String, String)> {
    schema["$defs"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| name.as_str() != "Expression")
        .map(|(name, definition)| {
            let mut description = first_paragraph(definition["description"].as_str().unwrap_or(""));
            if description.is_empty() {
                description = type_name(definition);
            }
            if let Some(values) = values(definition) {
                write!(description, " One of {values}.").unwrap();
            }
            (name.clone(), description)
        })
        .collect()
}

/// The values an enumeration accepts (`enum`, or alternatives that are each a constant).
fn values(schema: &Value) -> Option<String> {
    let values: Vec<&Value> = match schema["enum"].as_array() {
        Some(values) => values.iter().collect(),
        None => schema["oneOf"]
            .as_array()
            .or_else(|| schema["anyOf"].as_array())?
            .iter()
            .map(|alternative| alternative.get("const"))
            .collect::<Option<_>>()?,
    };
    let values: Vec<String> = values.iter().map(|value| format!("`{value}`")).collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// An input or output item: its type's name and its fields, from its schema.
fn item(schema: &schemars::Schema) -> String {
    let schema = schema.as_value();
    let title = schema["title"].as_str().unwrap_or("");
    if title.is_empty() || type_name(schema) == "any" && schema.get("properties").is_none() {
        return "any JSON".to_owned();
    }
    let Some(properties) = schema["properties"].as_object() else {
        return match type_name(schema).as_str() {
            "object" | "map of any" => "any JSON object".to_owned(),
            other => format!("`{title}` ({other})"),
        };
    };
    let required = names(&schema["required"]);
    let fields: Vec<String> = properties
        .iter()
        .map(|(name, property)| {
            let optional = if required.contains(name.as_str()) {
                ""
            } else {
                ", optional"
            };
            format!("`{name}` ({}{optional})", type_name(property))
        })
        .collect();
    format!("`{title}`: {}", fields.join(", "))
}

/// The default retry policy, in words.
fn retry(node: &CatalogEntry) -> String {
    let policy = serde_json::to_value(node.retry).unwrap();
    let attempts = policy["max_attempts"].as_u64().unwrap_or(0);
    if attempts <= 1 {
        return "none (1 attempt)".to_owned();
    }
    format!(
        "{attempts} attempts, {} ms apart at first, times {} each time up to {} ms, jitter `{}`",
        policy["initial_interval_ms"],
        policy["backoff_rate"],
        policy["max_interval_ms"],
        policy["jitter"].as_str().unwrap_or("?"),
    )
}

/// The strings of a JSON array, such as a schema's `required`.
fn names(value: &Value) -> BTreeSet<&str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// A short name for what a schema accepts, leaving out the expression every parameter accepts.
fn type_name(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        return format!("`{}`", reference.rsplit('/').next().unwrap_or(reference));
    }
    if let Some(value) = schema.get("const") {
        return format!("`{value}`");
    }
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|value| format!("`{value}`")).collect();
        return values.join(" or ");
    }
    let alternatives = schema["anyOf"]
        .as_array()
        .or_else(|| schema["oneOf"].as_array());
    if let Some(alternatives) = alternatives {
        let mut names: Vec<String> = Vec::new();
        for alternative in alternatives {
            if alternative["$ref"] == "#/$defs/Expression" {
                continue;
            }
            let name = type_name(alternative);
            if !names.contains(&name) {
                names.push(name);
            }
        }
        return names.join(" or ");
    }
    match &schema["type"] {
        Value::String(kind) => simple_type(kind, schema),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(|kind| simple_type(kind, schema))
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_owned(),
    }
}

fn simple_type(kind: &str, schema: &Value) -> String {
    match kind {
        "array" => match schema.get("items") {
            Some(items) => format!("list of {}", type_name(items)),
            None => "list".to_owned(),
        },
        "object" => match schema.get("additionalProperties") {
            Some(values) if values.is_object() => format!("map of {}", type_name(values)),
            _ => "object".to_owned(),
        },
        "integer" => {
            let minimum = schema["minimum"].as_i64();
            match minimum {
                Some(0) => "integer ≥ 0".to_owned(),
                Some(minimum) => format!("integer ≥ {minimum}"),
                None => "integer".to_owned(),
            }
        }
        other => other.to_owned(),
    }
}

/// The first paragraph of a description, on one line.
fn first_paragraph(text: &str) -> String {
    text.trim()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first sentence of a description: up to the first `. ` outside backticks.
fn first_sentence(text: &str) -> String {
    let paragraph = first_paragraph(text);
    let mut in_code = false;
    let mut previous = ' ';
    for (index, c) in paragraph.char_indices() {
        if c == '`' {
            in_code = !in_code;
        } else if c == ' ' && previous == '.' && !in_code {
            return paragraph[..index].to_owned();
        }
        previous = c;
    }
    paragraph
}

/// Text fit for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
