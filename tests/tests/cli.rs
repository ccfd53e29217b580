//! Every command of the command line, through the test binary (`hetumind::lambda_main!()`
//! with the test nodes): outputs, exit codes (0 success, 1 failed, 2 invalid input, 3 waiting)
//! and clear errors for bad files.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-test");

struct Cli {
    dir: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn state(&self) -> String {
        format!("file://{}", self.dir.path().join("state").display())
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("HETUMIND_STATE", self.state())
            .env_remove("HETUMIND_TRIGGERS")
            .output()
            .unwrap()
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn echo_workflow() -> String {
    json!({ "id": "echo", "nodes": [
        { "name": "In", "kind": "test.echo" },
        { "name": "Out", "kind": "test.echo" }
    ], "connections": { "In": { "main": [[{ "node": "Out" }]] } } })
    .to_string()
}

#[test]
fn run_completes_prints_items_and_the_json_response() {
    let cli = Cli::new();
    let workflow = cli.file("echo.json", &echo_workflow());
    let input = cli.file("input.json", r#"[{"json": {"a": 1}}, {"json": {"a": 2}}]"#);
    let output = cli.run(&["run", &workflow, "--input", &input]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout_json(&output), json!([{ "a": 1 }, { "a": 2 }]));

    let output = cli.run(&["run", &workflow, "--json", "--execution-id", "e-1"]);
    assert_eq!(code(&output), 0);
    let response = stdout_json(&output);
    assert_eq!(response["execution_id"], "e-1");
    assert_eq!(response["next_action"], json!({ "type": "complete" }));
    assert_eq!(
        response["output_data"],
        json!([{ "json": {}, "source": { "node": "In", "output_index": 0, "item_index": 0 } }])
    );
    // The same execution id again, with the same workflow and input: the same answer.
    let again = cli.run(&["run", &workflow, "--json", "--execution-id", "e-1"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(stdout_json(&again), response);
    // With other input: invalid input, saying so.
    let output = cli.run(&["run", &workflow, "--execution-id", "e-1", "--input", &input]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("execution `e-1` already exists with other input"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_stores_the_error_workflow_it_is_given_and_runs_it_on_failure() {
    let cli = Cli::new();
    let failing = cli.file(
        "import.json",
        &json!({ "id": "import", "settings": { "error_workflow": "alert" },
            "nodes": [{ "name": "Boom", "kind": "test.fail" }] })
        .to_string(),
    );
    let alert = cli.file(
        "alert.json",
        &json!({ "id": "alert", "nodes": [{ "name": "Report", "kind": "test.echo" }] }).to_string(),
    );
    let output = cli.run(&["run", &failing, "--with", &alert, "--execution-id", "imp-1"]);
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("error workflow `alert`: execution imp-1.error: success"),
        "{}",
        stderr(&output)
    );
    let output = cli.run(&[
        "run",
        &failing,
        "--with",
        &alert,
        "--json",
        "--execution-id",
        "imp-2",
    ]);
    assert_eq!(
        stdout_json(&output)["error_workflow"],
        json!({ "workflow_id": "alert", "execution_id": "imp-2.error" })
    );
    let shown = cli.run(&["resume", "imp-2.error", "--json"]);
    assert_eq!(code(&shown), 0, "{}", stderr(&shown));
    let report = &stdout_json(&shown)["output_data"][0]["json"];
    assert_eq!(report["execution_id"], "imp-2");
    assert_eq!(
        report["failed_node"],
        json!({ "name": "Boom", "attempt": 1 })
    );
    // Without it stored, the failure says the error workflow did not start.
    std::fs::remove_file(cli.dir.path().join("state/workflows/alert.json")).unwrap();
    let output = cli.run(&["run", &failing, "--execution-id", "imp-3"]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output)
            .contains("error workflow `alert` did not start: workflow `alert` not found"),
        "{}",
        stderr(&output)
    );
    // A workflow given with `--with` is validated like any other, naming its file.
    let broken = cli.file("broken.json", r#"{"id": "broken", "nodes": []}"#);
    let output = cli.run(&["run", &failing, "--with", &broken]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("broken.json: "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_output_too_big_to_inline_is_printed_whole_by_run_and_resume() {
    let cli = Cli::new();
    let workflow = cli.file("echo.json", &echo_workflow());
    // 3,000 items of about 100 bytes: over the 256 KiB a response inlines.
    let items: Vec<Value> = (0..3_000)
        .map(|n| json!({ "json": { "n": n, "pad": "p".repeat(100) } }))
        .collect();
    let input = cli.file("input.json", &Value::Array(items).to_string());
    let output = cli.run(&["run", &workflow, "--input", &input, "--execution-id", "big"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("execution big: success, 3000 item(s)"),
        "{}",
        stderr(&output)
    );
    let printed = stdout_json(&output);
    assert_eq!(printed.as_array().unwrap().len(), 3_000);
    assert_eq!(printed[2_999]["n"], 2_999);

    let resumed = cli.run(&["resume", "big"]);
    assert_eq!(code(&resumed), 0, "{}", stderr(&resumed));
    assert_eq!(stdout_json(&resumed), printed);

    let response = stdout_json(&cli.run(&["resume", "big", "--json"]));
    assert_eq!(response.get("output_data"), None, "{response}");
    assert_eq!(response["output_ref"]["item_count"], 3_000, "{response}");
    let location = response["output_ref"]["locations"][0].as_str().unwrap();
    assert!(
        location.starts_with("file://") && location.ends_with("/executions/big/nodes/Out/1.json"),
        "{location}"
    );
}

#[test]
fn an_execution_id_over_512_characters_is_invalid_input() {
    let cli = Cli::new();
    let long = "e".repeat(513);
    let output = cli.run(&["resume", &long]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output)
            .contains("`execution_id` is 513 characters long; the longest accepted is 512"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_failed_execution_exits_1_and_a_long_wait_exits_3_until_resumed() {
    let cli = Cli::new();
    let failing = cli.file(
        "fail.json",
        &json!({ "id": "f", "nodes": [{ "name": "F", "kind": "test.fail" }] }).to_string(),
    );
    let output = cli.run(&["run", &failing]);
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("cannot handle"),
        "{}",
        stderr(&output)
    );

    let waiting = cli.file(
        "wait.json",
        &json!({ "id": "w", "nodes": [{ "name": "W", "kind": "test.wait", "parameters": 3600 }] })
            .to_string(),
    );
    let output = cli.run(&[
        "run",
        &waiting,
        "--execution-id",
        "w-1",
        "--max-sleep",
        "0",
        "--json",
    ]);
    assert_eq!(code(&output), 3, "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["next_action"]["type"], "wait");
    let output = cli.run(&["resume", "w-1", "--max-sleep", "0"]);
    assert_eq!(code(&output), 3);
    assert!(
        stderr(&output).contains("resume w-1"),
        "{}",
        stderr(&output)
    );
    let output = cli.run(&["resume", "nope"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("`nope` not found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_short_wait_is_slept_through() {
    let cli = Cli::new();
    let waiting = cli.file(
        "wait.json",
        &json!({ "id": "w", "nodes": [{ "name": "W", "kind": "test.wait", "parameters": 6 }] })
            .to_string(),
    );
    // Longer than the engine sleeps in-process (5 s), shorter than --max-sleep.
    let output = cli.run(&["run", &waiting, "--max-sleep", "10"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("waiting until"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_files_exit_2_with_what_and_where() {
    let cli = Cli::new();
    let malformed = cli.file(
        "malformed.json",
        r#"{"id": "x", "nodes": [ {"name": "A", }"#,
    );
    let output = cli.run(&["run", &malformed]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("malformed.json"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("line 1"), "{}", stderr(&output));

    let wrong_type = cli.file(
        "wrong.json",
        r#"{"id": "x", "nodes": [{"name": "A", "kind": 5}]}"#,
    );
    let output = cli.run(&["validate", &wrong_type]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("at `nodes[0].kind`"),
        "{}",
        stderr(&output)
    );

    let output = cli.run(&["run", "/no/such/file.json"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("cannot read /no/such/file.json"),
        "{}",
        stderr(&output)
    );

    let workflow = cli.file("echo.json", &echo_workflow());
    let bad_input = cli.file("input.json", r#"{"json": 1}"#);
    let output = cli.run(&["run", &workflow, "--input", &bad_input]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("input.json"),
        "{}",
        stderr(&output)
    );

    let output = cli.run(&["frobnicate"]);
    assert_eq!(code(&output), 2);
    let output = cli.run(&["run", &workflow, "--state", "ftp://nowhere"]);
    assert_eq!(code(&output), 2);
    assert!(
        stderr(&output).contains("not a state store URL"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn validate_reports_every_problem() {
    let cli = Cli::new();
    let valid = cli.file("echo.json", &echo_workflow());
    let output = cli.run(&["validate", &valid]);
    assert_eq!(code(&output), 0);
    assert!(String::from_utf8_lossy(&output.stdout).contains("valid (2 nodes)"));

    let invalid = cli.file(
        "bad.json",
        &json!({ "id": "b", "nodes": [
            { "name": "A", "kind": "nope.nope" },
            { "name": "A", "kind": "test.record", "parameters": { "log": 5 } }
        ], "connections": { "A": { "main": [[{ "node": "Z" }]] } } })
        .to_string(),
    );
    let output = cli.run(&["validate", &invalid]);
    assert_eq!(code(&output), 2);
    let text = stderr(&output);
    for path in [
        "nodes[0].kind",
        "nodes[1].name",
        "nodes[1].parameters",
        "connections.A.main[0][0].node",
    ] {
        assert!(text.contains(path), "{path}: {text}");
    }

    let long = "x".repeat(513);
    let invalid = cli.file(
        "bad2.json",
        &json!({ "id": "", "nodes": [
            { "name": "A", "kind": "test.echo", "on_error": "error_output" },
            { "name": "B", "kind": "test.echo" },
            { "name": long, "kind": "test.echo" }
        ], "connections": { "A": { "main": [[{ "node": "B", "index": 1 }, { "node": long }]] } } })
        .to_string(),
    );
    let output = cli.run(&["validate", &invalid]);
    assert_eq!(code(&output), 2);
    let text = stderr(&output);
    for part in [
        "(4 problems)",
        "id: a workflow id cannot be empty",
        "nodes[2].name: 513 characters long; the limit is 512 characters",
        "connections.A.main[0][0].index: `B` reads one input (0): it has no input 1",
        "nodes[0].on_error: `error_output` sends failed items to output 1",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

#[test]
fn nodes_lists_the_catalog() {
    let cli = Cli::new();
    let output = cli.run(&["nodes"]);
    assert_eq!(code(&output), 0);
    assert!(String::from_utf8_lossy(&output.stdout).contains("test.record@1"));
    let output = cli.run(&["nodes", "--json"]);
    let catalog = stdout_json(&output);
    let record = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|node| node["kind"] == "test.record")
        .unwrap();
    assert_eq!(record["execute_mode"], "all");
    assert!(
        record["params_schema"]["properties"]["log"].is_object(),
        "{record}"
    );
}

#[test]
fn graph_draws_the_workflow_and_colours_an_execution() {
    let cli = Cli::new();
    let workflow = cli.file("echo.json", &echo_workflow());
    let output = cli.run(&["graph", &workflow]);
    assert_eq!(code(&output), 0);
    let chart = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(chart.starts_with("flowchart LR\n"), "{chart}");
    assert!(chart.contains("n0 --> n1"), "{chart}");
    assert!(!chart.contains("class n0"), "{chart}");

    assert_eq!(
        code(&cli.run(&["run", &workflow, "--execution-id", "g-1"])),
        0
    );
    let output = cli.run(&["graph", &workflow, "--execution", "g-1"]);
    let chart = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        chart.contains("class n0 success") && chart.contains("class n1 success"),
        "{chart}"
    );
}

#[test]
fn graph_of_an_execution_draws_the_workflow_it_runs_and_says_when_the_file_differs() {
    let cli = Cli::new();
    let workflow = cli.file("echo.json", &echo_workflow());
    assert_eq!(
        code(&cli.run(&["run", &workflow, "--execution-id", "g-2"])),
        0
    );
    // Another workflow, sharing the name `Out`: its nodes must not be coloured by name.
    let other = cli.file(
        "other.json",
        &json!({ "id": "other", "nodes": [
            { "name": "Out", "kind": "test.fail" },
            { "name": "Extra", "kind": "test.echo" }
        ], "connections": { "Out": { "main": [[{ "node": "Extra" }]] } } })
        .to_string(),
    );
    let output = cli.run(&["graph", &other, "--execution", "g-2"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let chart = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        chart.contains("In<br/>") && chart.contains("Out<br/>"),
        "{chart}"
    );
    assert!(!chart.contains("Extra"), "{chart}");
    assert!(
        chart.contains("class n0 success") && chart.contains("class n1 success"),
        "{chart}"
    );
    let note = stderr(&output);
    assert!(
        note.contains("g-2") && note.contains("other.json") && note.contains("`echo`"),
        "{note}"
    );
    // The same file: no note.
    let output = cli.run(&["graph", &workflow, "--execution", "g-2"]);
    assert_eq!(stderr(&output), "");
}

#[test]
fn invoke_runs_one_handler_invocation() {
    let cli = Cli::new();
    let request = cli.file(
        "request.json",
        &json!({ "request_type": "execute_workflow",
                 "workflow": { "id": "i", "nodes": [{ "name": "E", "kind": "test.echo" }] },
                 "input_data": [{ "json": "hi" }] })
        .to_string(),
    );
    let output = cli.run(&["invoke", &request]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["output_data"][0]["json"], "hi");

    let bad = cli.file("bad.json", r#"{"request_type": "explode"}"#);
    let output = cli.run(&["invoke", &bad]);
    assert_eq!(code(&output), 2);
    assert_eq!(stdout_json(&output)["errorType"], "Hetumind.InvalidRequest");
}

#[test]
fn schema_and_cleanup() {
    let cli = Cli::new();
    let output = cli.run(&["schema", "workflow"]);
    assert_eq!(code(&output), 0);
    assert_eq!(
        stdout_json(&output)["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );

    let workflow = cli.file("echo.json", &echo_workflow());
    assert_eq!(
        code(&cli.run(&["run", &workflow, "--execution-id", "c-1"])),
        0
    );
    let output = cli.run(&["cleanup", "--older-than", "1"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "");
    let output = cli.run(&["cleanup", "--older-than", "0"]);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "c-1\n");
    assert!(!Path::new(&cli.dir.path().join("state/executions/c-1/state.json")).exists());
}

#[test]
fn run_on_a_terminal_shows_each_node() {
    let cli = Cli::new();
    let workflow = cli.file("echo.json", &echo_workflow());
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    let command = format!("HETUMIND_STATE={} {BIN} run {workflow}", cli.state());
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("✓ In [test.echo]") && screen.contains("✓ Out [test.echo]"),
        "{screen}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_program_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(BIN)
        .args(["nodes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Like `| head -c 0`: the reader is gone before the program writes.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
}
