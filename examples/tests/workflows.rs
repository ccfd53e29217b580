//! Every example workflow in `examples/workflows/`, run through the real binary exactly as the
//! README tells a user to (`run WORKFLOW.json [--input FILE] --json`), with its exact output
//! checked; every workflow validated; and the node catalog (`nodes --json`) checked against the
//! full list of kinds the binary must link.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-examples");

/// The workflow files that have a test below. `every_workflow_has_a_test` fails when a file in
/// `examples/workflows/` is missing here: add a test for it, then its name.
const TESTED: &[&str] = &[
    "appointment-reminders.json",
    "audience-export.json",
    "expense-approval.json",
    "failure-alert.json",
    "greetings.json",
    "order-confirmations.json",
    "order-events.json",
    "order-import.json",
    "order-routing.json",
    "price-order.json",
    "quote-orders.json",
    "signed-deliveries.json",
    "signup-webhook.json",
    "support-digest.json",
];

/// The signing key `signed-deliveries.json` reads with `secret("webhook-signing-key")`.
const SIGNING_KEY: &str = "whsec-example-key";

fn workflows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows")
}

fn input_file(name: &str) -> PathBuf {
    workflows_dir().join("inputs").join(name)
}

/// The `*.json` files directly in `examples/workflows/` (not the inputs), sorted.
fn workflow_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workflows_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| path.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// The binary, with a clean environment: never Lambda mode, never the user's state store.
fn command() -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("HETUMIND_STATE")
        .env_remove("HETUMIND_TRIGGERS")
        .env_remove("HETUMIND_CALLER_WORKFLOWS")
        .env_remove("HETUMIND_REDACT_HEADERS")
        .env_remove("HETUMIND_SECRETS")
        .env_remove("HETUMIND_SECRETS_FILE")
        .env("HETUMIND_SECRET_WEBHOOK_SIGNING_KEY", SIGNING_KEY);
    command
}

/// One finished `run --json`: exit code, the response object, stderr.
struct Run {
    code: i32,
    response: Value,
    stderr: String,
}

impl Run {
    /// The `json` of every output item.
    fn items(&self) -> Vec<Value> {
        self.response["output_data"]
            .as_array()
            .unwrap_or_else(|| panic!("no output_data in {:#}", self.response))
            .iter()
            .map(|item| item["json"].clone())
            .collect()
    }

    fn assert_success(&self) {
        assert_eq!(
            self.code, 0,
            "stderr: {}\nresponse: {:#}",
            self.stderr, self.response
        );
        assert_eq!(self.response["status"], "success");
        assert_eq!(self.response["next_action"], json!({ "type": "complete" }));
    }

    fn assert_failed_with(&self, error: &str) {
        assert_eq!(
            self.code, 1,
            "stderr: {}\nresponse: {:#}",
            self.stderr, self.response
        );
        assert_eq!(self.response["status"], "failed");
        assert_eq!(
            self.response["next_action"],
            json!({ "type": "failed", "error": error })
        );
        assert_eq!(self.response["error"], error);
    }
}

/// The JSON a command that succeeded printed.
fn json_stdout(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn parse_run(output: &Output) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let response = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {stdout}"));
    Run {
        code: output.status.code().unwrap(),
        response,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `workflow` (a file in `examples/workflows/`) with `--json` on a fresh file store, then
/// again with every node under fan-out dispatch (each node run by an `execute_node` invocation
/// of its own): both runs must end the same way with the same output.
fn run(workflow: &str, input: Option<&Path>) -> Run {
    run_varying(workflow, input, &[])
}

/// [`run`], for a workflow whose output items hold fields that differ from run to run (the
/// time, a fresh id): those are left out of the comparison.
fn run_varying(workflow: &str, input: Option<&Path>, varying: &[&str]) -> Run {
    assert!(
        TESTED.contains(&workflow),
        "add `{workflow}` to TESTED once it has a test"
    );
    let path = workflows_dir().join(workflow);
    let inline = run_file(&path, input);
    let dir = tempfile::tempdir().unwrap();
    let mut definition: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    definition["settings"]["dispatch"] = json!("fan_out");
    let fanned_path = dir.path().join(workflow);
    std::fs::write(&fanned_path, definition.to_string()).unwrap();
    let fanned = run_file(&fanned_path, input);
    assert_eq!(
        (
            fanned.code,
            &fanned.response["status"],
            &fanned.response["next_action"]
        ),
        (
            inline.code,
            &inline.response["status"],
            &inline.response["next_action"]
        ),
        "{workflow} under fan-out: {}",
        fanned.stderr
    );
    let steady = |run: &Run| {
        let mut output = run.response["output_data"].clone();
        for item in output.as_array_mut().into_iter().flatten() {
            if let Some(fields) = item["json"].as_object_mut() {
                fields.retain(|name, _| !varying.contains(&name.as_str()));
            }
        }
        output
    };
    assert_eq!(
        steady(&fanned),
        steady(&inline),
        "{workflow}: the same output under fan-out"
    );
    inline
}

/// Runs the workflow file at `path` with `--json` on a fresh file store.
fn run_file(path: &Path, input: Option<&Path>) -> Run {
    let state = tempfile::tempdir().unwrap();
    let mut command = command();
    command
        .arg("run")
        .arg(path)
        .arg("--json")
        .arg("--state")
        .arg(format!("file://{}", state.path().display()));
    if let Some(input) = input {
        command.arg("--input").arg(input);
    }
    parse_run(&command.output().unwrap())
}

/// Writes `items` as an input file in `dir`.
fn write_input(dir: &Path, name: &str, items: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(items).unwrap()).unwrap();
    path
}

#[test]
fn every_workflow_has_a_test() {
    let files = workflow_files();
    let untested: Vec<&String> = files
        .iter()
        .filter(|name| !TESTED.contains(&name.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "workflows without a test in examples/tests/workflows.rs: {untested:?}"
    );
    let missing: Vec<&&str> = TESTED
        .iter()
        .filter(|name| !files.iter().any(|file| file == *name))
        .collect();
    assert!(
        missing.is_empty(),
        "TESTED names missing files: {missing:?}"
    );
}

#[test]
fn every_workflow_validates() {
    let files = workflow_files();
    assert!(files.len() >= 6, "{files:?}");
    for name in files {
        let path = workflows_dir().join(&name);
        let nodes =
            serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()).unwrap()["nodes"]
                .as_array()
                .unwrap()
                .len();
        let output = command().arg("validate").arg(&path).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            stdout.trim_end(),
            format!("{}: valid ({nodes} nodes)", path.display()),
            "{name}"
        );
    }
}

/// The input files all belong to a workflow: `NAME.json` or `NAME-SOMETHING.json`.
#[test]
fn every_input_file_belongs_to_a_workflow() {
    let workflows: Vec<String> = workflow_files()
        .iter()
        .map(|name| name.trim_end_matches(".json").to_owned())
        .collect();
    for entry in std::fs::read_dir(workflows_dir().join("inputs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.trim_end_matches(".json");
        assert!(
            workflows
                .iter()
                .any(|workflow| stem == workflow || stem.starts_with(&format!("{workflow}-"))),
            "inputs/{name} belongs to no workflow"
        );
    }
}

#[test]
fn greetings() {
    let run = run("greetings.json", None);
    run.assert_success();
    assert_eq!(
        run.items(),
        [
            json!({ "message": "Hello, Ada!" }),
            json!({ "message": "Hello, Grace!" }),
            json!({ "message": "Hello, Linus!" }),
        ]
    );
}

#[test]
fn order_routing_sends_each_order_to_its_queue() {
    let run = run(
        "order-routing.json",
        Some(&input_file("order-routing.json")),
    );
    run.assert_success();
    assert_eq!(
        run.items(),
        [
            // No rule matches: the fallback output, shipped the next day.
            json!({
                "order_id": "SO-1001", "type": "sale",
                "customer": { "email": "mia.chen@example.com", "country": "US" },
                "total": 84.5, "currency": "USD", "ordered_at": "2026-03-02T09:15:00Z",
                "queue": "standard", "status": "ready_to_pick",
                "ship_by": "2026-03-03T09:15:00Z"
            }),
            // Rule 0: refunds, signed for the payout service (HMAC-SHA256 of the order id).
            json!({
                "order_id": "SO-1002", "type": "refund", "refund_of": "SO-0977",
                "customer": { "email": "omar.haddad@example.com", "country": "US" },
                "total": 42.0, "currency": "USD", "ordered_at": "2026-03-02T09:48:12Z",
                "queue": "refunds", "status": "awaiting_payout",
                "payout_signature":
                    "0b3af68fa8ff345d92863d055bbe400f301bb7a64548f195a260d6033a3a0487"
            }),
            // Rule 1 wins over rule 2 (first match): a large order from Germany is reviewed;
            // the deadline keeps the order's UTC offset.
            json!({
                "order_id": "SO-1003", "type": "sale",
                "customer": { "email": "lena.vogel@example.de", "country": "DE" },
                "total": 1450.0, "currency": "EUR", "ordered_at": "2026-03-02T10:02:00+01:00",
                "queue": "fraud_review", "status": "on_hold",
                "review_by": "2026-03-04T10:02:00+01:00"
            }),
            // Rule 2, compared ignoring case (`ca`).
            json!({
                "order_id": "SO-1004", "type": "sale",
                "customer": { "email": "jules.martin@example.ca", "country": "ca" },
                "total": 129.99, "currency": "CAD", "ordered_at": "2026-03-02T11:30:00-05:00",
                "queue": "international", "status": "needs_customs_form",
                "ship_by": "2026-03-07T11:30:00-05:00"
            }),
            json!({
                "order_id": "SO-1005", "type": "sale",
                "customer": { "email": "ava.johnson@example.com", "country": "US" },
                "total": 2300, "currency": "USD", "ordered_at": "2026-03-02T12:05:45Z",
                "queue": "fraud_review", "status": "on_hold",
                "review_by": "2026-03-04T12:05:45Z"
            }),
            // `us` is the US ignoring case: standard; one day after January 31 is February 1.
            json!({
                "order_id": "SO-1006", "type": "sale",
                "customer": { "email": "sam.taylor@example.com", "country": "us" },
                "total": 19.0, "currency": "USD", "ordered_at": "2026-01-31T23:40:00Z",
                "queue": "standard", "status": "ready_to_pick",
                "ship_by": "2026-02-01T23:40:00Z"
            }),
        ]
    );
}

#[test]
fn order_confirmations_compose_each_email_with_expressions() {
    let run = run(
        "order-confirmations.json",
        Some(&input_file("order-confirmations.json")),
    );
    run.assert_success();
    assert_eq!(
        run.items(),
        [
            json!({
                "order_id": "SO-2001",
                "total": 33.0,
                "email": {
                    "to": "mia.chen@example.com",
                    "subject": "Your order SO-2001 is confirmed",
                    "greeting": "Dear Mia,",
                    "items": "2 × MUG-01, 1 × TEA-07"
                },
                "sent_by": "Order confirmations",
                "shipping": "standard"
            }),
            json!({
                "order_id": "SO-2002",
                "total": 129.99,
                "email": {
                    "to": "omar.haddad@example.com",
                    "subject": "Your order SO-2002 is confirmed",
                    "greeting": "Dear Omar,",
                    "items": "1 × KETTLE-3"
                },
                "sent_by": "Order confirmations",
                "shipping": "free"
            }),
        ]
    );
}

#[test]
fn signed_deliveries_sign_with_a_secret_and_address_with_an_earlier_node() {
    let input = input_file("signed-deliveries.json");
    let run = run("signed-deliveries.json", Some(&input));
    run.assert_success();
    // The signatures are HMAC-SHA256 of each body under SIGNING_KEY, as Python's `hmac`
    // computes them; the URL comes from the trigger's item, which `Payload` left behind.
    assert_eq!(
        run.items(),
        [
            json!({
                "url": "https://shop.example.com/hooks/orders",
                "headers": { "X-Signature-256": "sha256=ad24bbd680696702782b25bef76a4df69cb0bcc23165173c1e36659bba1e01ce" },
                "body": r#"{"order_id":"SO-3001","total":42.5}"#
            }),
            json!({
                "url": "https://erp.example.net/api/order-paid",
                "headers": { "X-Signature-256": "sha256=ee2cfd9ff1ee6afa005adb75fb47afa4d046fdda83423328cf9e0d28cf2e2df5" },
                "body": r#"{"order_id":"SO-3002","total":129.99}"#
            }),
        ]
    );
    // Without the key, `Sign` fails, saying where the key was looked for.
    let state = tempfile::tempdir().unwrap();
    let output = command()
        .env_remove("HETUMIND_SECRET_WEBHOOK_SIGNING_KEY")
        .arg("run")
        .arg(workflows_dir().join("signed-deliveries.json"))
        .arg("--input")
        .arg(&input)
        .arg("--json")
        .arg("--state")
        .arg(format!("file://{}", state.path().display()))
        .output()
        .unwrap();
    parse_run(&output).assert_failed_with(
        "node `Sign` failed: secret `webhook-signing-key`: not found: set the environment variable HETUMIND_SECRET_WEBHOOK_SIGNING_KEY, or name a JSON file of secrets in HETUMIND_SECRETS_FILE",
    );
}

/// The alert `failure-alert.json` makes of the failure of `order-import.json`'s execution
/// `execution_id` (without the time it failed).
fn import_alert(execution_id: &str) -> Value {
    json!({
        "channel": "#ops-alerts",
        "text": "Order import failed at node Reject: node `Reject` failed: order SO-4002 has quantity 0",
        "execution_id": execution_id,
    })
}

#[test]
fn failure_alert_makes_an_alert_of_a_failure() {
    let run = run(
        "failure-alert.json",
        Some(&input_file("failure-alert.json")),
    );
    run.assert_success();
    let mut expected = import_alert("0193a1c4-5e2f-7d10-9b7e-2c41d8f0a6b3");
    expected["failed_at"] = json!("2026-12-05T09:30:01Z");
    assert_eq!(run.items(), [expected]);
}

#[test]
fn order_import_fails_and_its_error_workflow_sends_the_alert() {
    let state = tempfile::tempdir().unwrap();
    let state_url = format!("file://{}", state.path().display());
    let output = command()
        .arg("run")
        .arg(workflows_dir().join("order-import.json"))
        .arg("--with")
        .arg(workflows_dir().join("failure-alert.json"))
        .args(["--input"])
        .arg(input_file("order-import.json"))
        .args([
            "--execution-id",
            "import-1",
            "--json",
            "--state",
            &state_url,
        ])
        .output()
        .unwrap();
    let run = parse_run(&output);
    run.assert_failed_with("node `Reject` failed: order SO-4002 has quantity 0");
    assert_eq!(
        run.response["error_workflow"],
        json!({ "workflow_id": "failure-alert", "execution_id": "import-1.error" })
    );
    assert!(
        run.stderr
            .contains("error workflow `failure-alert`: execution import-1.error: success"),
        "{}",
        run.stderr
    );
    // The error workflow's execution is an execution like any other.
    let output = command()
        .args(["resume", "import-1.error", "--json", "--state", &state_url])
        .output()
        .unwrap();
    let alert = parse_run(&output);
    alert.assert_success();
    let mut items = alert.items();
    let failed_at = items[0]
        .as_object_mut()
        .unwrap()
        .remove("failed_at")
        .unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(failed_at.as_str().unwrap()).is_ok(),
        "{failed_at}"
    );
    assert_eq!(items, [import_alert("import-1")]);
}

/// The orders of `inputs/quote-orders.json`, priced by `price-order.json`.
fn priced_orders() -> [Value; 3] {
    [
        json!({ "order_id": "SO-5001", "total": 33.0, "tier": "standard" }),
        json!({ "order_id": "SO-5002", "total": 129.99, "tier": "priority" }),
        json!({ "order_id": "SO-5003", "total": 128, "tier": "priority" }),
    ]
}

#[test]
fn price_order_prices_each_order() {
    let run = run("price-order.json", Some(&input_file("quote-orders.json")));
    run.assert_success();
    assert_eq!(run.items(), priced_orders());
}

#[test]
fn quote_orders_prices_them_in_a_sub_workflow_and_keeps_the_priority_ones() {
    let state = tempfile::tempdir().unwrap();
    let state_url = format!("file://{}", state.path().display());
    let output = command()
        .arg("run")
        .arg(workflows_dir().join("quote-orders.json"))
        .arg("--with")
        .arg(workflows_dir().join("price-order.json"))
        .arg("--input")
        .arg(input_file("quote-orders.json"))
        .args(["--execution-id", "quote-1", "--json", "--state", &state_url])
        .output()
        .unwrap();
    let run = parse_run(&output);
    run.assert_success();
    let [_, second, third] = priced_orders();
    assert_eq!(run.items(), [second, third]);
    // The sub-workflow ran as an execution of its own, named after the node and its attempt.
    let output = command()
        .args(["resume", "quote-1:Price:1", "--json", "--state", &state_url])
        .output()
        .unwrap();
    let child = parse_run(&output);
    child.assert_success();
    assert_eq!(child.items(), priced_orders());
}

#[test]
fn expense_approval_waits_for_the_approver_s_signal_then_decides() {
    let state = tempfile::tempdir().unwrap();
    let state_url = format!("file://{}", state.path().display());
    let output = command()
        .arg("run")
        .arg(workflows_dir().join("expense-approval.json"))
        .arg("--input")
        .arg(input_file("expense-approval.json"))
        .args(["--execution-id", "exp-1", "--json", "--state", &state_url])
        .output()
        .unwrap();
    let waiting = parse_run(&output);
    // Left waiting (exit 3) for a signal to `Approval`, for three days at most.
    assert_eq!(waiting.code, 3, "{}", waiting.stderr);
    assert_eq!(waiting.response["status"], "waiting");
    let action = &waiting.response["next_action"];
    assert_eq!(action["type"], "await_signal", "{action}");
    assert_eq!(action["nodes"], json!(["Approval"]));
    let resume_at = DateTime::parse_from_rfc3339(action["resume_at"].as_str().unwrap()).unwrap();
    let days = (resume_at.to_utc() - Utc::now()).num_hours();
    assert!((71..=72).contains(&days), "{action}");
    assert!(
        (259_100..=259_200).contains(&action["timeout_seconds"].as_u64().unwrap()),
        "{action}"
    );
    // Without --json, the command says how to send the signal.
    let output = command()
        .args(["resume", "exp-1", "--state", &state_url])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("node `Approval` waits for a signal")
            && said.contains("resume exp-1 --node Approval --input FILE"),
        "{said}"
    );

    // The approver's answer.
    let output = command()
        .args(["resume", "exp-1", "--node", "Approval", "--input"])
        .arg(input_file("expense-approval-approve.json"))
        .args(["--json", "--state", &state_url])
        .output()
        .unwrap();
    let run = parse_run(&output);
    run.assert_success();
    assert_eq!(
        run.items(),
        [
            json!({ "expense_id": "EXP-301", "amount": 420.5, "status": "approved", "decided_by": "lee" })
        ]
    );
    // A second answer finds nothing waiting.
    let output = command()
        .args([
            "resume", "exp-1", "--node", "Approval", "--state", &state_url,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("already finished"), "{said}");
    // --input goes with --node only.
    let output = command()
        .args(["resume", "exp-1", "--input"])
        .arg(input_file("expense-approval-approve.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_failing_expression_names_the_node_item_parameter_and_expression() {
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(
        dir.path(),
        "orders.json",
        &json!([
            { "json": { "order_id": "SO-1", "customer": { "name": "A B" }, "lines": [] } },
            { "json": { "order_id": "SO-2", "customer": { "name": "C D" }, "lines": [{ "sku": "X", "qty": { "n": 2 }, "unit_price": 3 }] } }
        ]),
    );
    let run = run_file(
        &workflows_dir().join("order-confirmations.json"),
        Some(&input),
    );
    // Item 0 (no lines) composes; item 1 fails on its first expression.
    run.assert_failed_with(
        "node `Compose` failed: item 1: parameter `.set.total`: expression `{% [.lines[] | .qty * .unit_price] | add %}` failed: cannot calculate {\"n\":2} * 3",
    );
}

#[test]
fn signup_webhook_accepts_a_valid_body() {
    let run = run(
        "signup-webhook.json",
        Some(&input_file("signup-webhook.json")),
    );
    run.assert_success();
    // The workflow ends by choosing the HTTP answer: 201 with the subscriber.
    assert_eq!(
        run.items(),
        [json!({
            "status_code": 201,
            "headers": { "location": "/newsletter/subscribers/pending" },
            "body": subscriber()
        })]
    );
}

/// The subscriber the valid sign-up becomes.
fn subscriber() -> Value {
    json!({
        "email": "noah.becker@example.org",
        "name": "Noah Becker",
        "topics": ["rust", "serverless"],
        "source": "newsletter-2026",
        "list": "newsletter",
        "status": "pending_confirmation",
        // HMAC-SHA256 of the email with the workflow's secret, base64.
        "confirm_token": "VCYm45jhDkG1fmmWZ7TMjHoVAvE1//fdo++T4wJgMmQ=",
        "subscribed_at": "2026-03-02T14:31:07+01:00",
        "subscribed_on": "2026-03-02"
    })
}

#[test]
fn signup_webhook_answers_http_requests_with_201_or_422() {
    // The workflow stored where the HTTP trigger looks it up by id, as in an S3 bucket.
    let state = tempfile::tempdir().unwrap();
    std::fs::create_dir(state.path().join("workflows")).unwrap();
    std::fs::copy(
        workflows_dir().join("signup-webhook.json"),
        state.path().join("workflows/signup-webhook.json"),
    )
    .unwrap();
    for (input, status) in [
        ("signup-webhook.json", 201),
        ("signup-webhook-invalid.json", 422),
    ] {
        // An HTTP API event posting the form's body to /workflows/signup-webhook.
        let items: Value =
            serde_json::from_slice(&std::fs::read(input_file(input)).unwrap()).unwrap();
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/events/http-api-v2.json");
        let mut event: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
        event["pathParameters"]["workflow_id"] = json!("signup-webhook");
        event["body"] = json!(items[0]["json"]["body"].to_string());
        let event_file = write_input(state.path(), "event.json", &event);

        let output = command()
            .env("HETUMIND_CALLER_WORKFLOWS", "signup-webhook")
            .arg("invoke")
            .arg(&event_file)
            .arg("--state")
            .arg(format!("file://{}", state.path().display()))
            .output()
            .unwrap();
        let answer = json_stdout(&output);
        assert_eq!(answer["statusCode"], status, "{answer:#}");
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        if status == 201 {
            assert_eq!(
                answer["headers"]["location"],
                "/newsletter/subscribers/pending"
            );
            assert_eq!(body, subscriber());
        } else {
            assert_eq!(
                body,
                json!({ "error": "a valid email address, an age of 16 or more and consent are required" })
            );
        }
    }
}

#[test]
fn signup_webhook_rejects_an_invalid_body() {
    let run = run(
        "signup-webhook.json",
        Some(&input_file("signup-webhook-invalid.json")),
    );
    run.assert_failed_with(
        "node `Reject` failed: invalid sign-up: a valid email address, an age of 16 or more \
         and consent are required",
    );
    assert!(
        run.response.get("output_data").is_none(),
        "{:#}",
        run.response
    );
}

#[test]
fn signup_webhook_rejects_other_methods_and_bad_json() {
    let dir = tempfile::tempdir().unwrap();
    let get = write_input(
        dir.path(),
        "get.json",
        &json!([{ "json": { "method": "GET", "path": "/workflows/signup-webhook" } }]),
    );
    run("signup-webhook.json", Some(&get)).assert_failed_with(
        "node `Form submitted` failed: method `GET` is not allowed: `methods` allows POST",
    );

    let truncated = write_input(
        dir.path(),
        "truncated.json",
        &json!([{ "json": { "method": "post", "body": {
            "form_id": "newsletter-2026",
            "submitted_at": "02/03/2026 14:31:07 +0100",
            "answers": "{\"email\": "
        } } }]),
    );
    run("signup-webhook.json", Some(&truncated)).assert_failed_with(
        "node `Parse answers` failed: input item 0: at `answers`: invalid JSON: EOF while parsing a \
         value at line 1 column 10",
    );
}

#[test]
fn support_digest_summarizes_tickets_per_team() {
    let run = run(
        "support-digest.json",
        Some(&input_file("support-digest.json")),
    );
    run.assert_success();
    // Spam (T-4107) is dropped; teams with the most tickets first, ties by name.
    assert_eq!(
        run.items(),
        [json!({ "teams": [
            {
                "digest_for": "Tuesday 3 March 2026", "team": "billing",
                "tickets": 3, "escalated": 1, "customers": 2,
                "minutes_spent": 75, "avg_minutes": 25.0,
                "oldest_opened_at": "2026-03-01T17:05:00Z"
            },
            {
                "digest_for": "Tuesday 3 March 2026", "team": "shipping",
                "tickets": 3, "escalated": 1, "customers": 2,
                "minutes_spent": 60, "avg_minutes": 20.0,
                "oldest_opened_at": "2026-03-02T08:40:00Z"
            },
            {
                "digest_for": "Tuesday 3 March 2026", "team": "accounts",
                "tickets": 2, "escalated": 0, "customers": 2,
                "minutes_spent": 35, "avg_minutes": 17.5,
                "oldest_opened_at": "2026-03-02T11:20:00Z"
            }
        ] })]
    );
}

/// The fields of a reminder that do not depend on when it ran.
fn expected_reminders() -> [Value; 2] {
    let message = "Reminder: you have an appointment with us tomorrow. Reply C to confirm or R \
                   to reschedule.";
    [
        json!({
            "booking_id": "B-2201", "customer": "Priya Raman", "phone": "+44 7700 900123",
            "service": "Dental check-up", "starts_at": "2026-03-10T09:30:00Z",
            "remind_at": "2026-03-09T09:30:00Z", "when": "Tuesday 10 March at 09:30",
            "channel": "sms", "template": "appointment_reminder", "message": message
        }),
        json!({
            "booking_id": "B-2202", "customer": "Tomás García", "phone": "+34 600 123 456",
            "service": "Hygienist", "starts_at": "2026-03-01T16:15:00+01:00",
            "remind_at": "2026-02-28T16:15:00+01:00", "when": "Sunday 1 March at 16:15",
            "channel": "sms", "template": "appointment_reminder", "message": message
        }),
    ]
}

/// Checks the time-dependent fields of the reminders (`queued_at` after the wait, a UUID v7 of
/// that time), removes them, and returns the rest.
fn check_reminder_times(items: Vec<Value>, started: DateTime<Utc>) -> Vec<Value> {
    let finished = Utc::now();
    let mut ids = BTreeSet::new();
    items
        .into_iter()
        .map(|mut item| {
            let object = item.as_object_mut().unwrap();
            let queued_at = object.remove("queued_at").unwrap();
            let queued_at = queued_at.as_str().unwrap();
            assert!(
                queued_at.ends_with('Z') && queued_at.len() == 20,
                "{queued_at}"
            );
            let queued_at = DateTime::parse_from_rfc3339(queued_at).unwrap().to_utc();
            // Written after the 2-second wait, in whole seconds.
            assert!(
                queued_at >= started.trunc_subsecs(0) + Duration::from_secs(2),
                "queued at {queued_at}, started {started}"
            );
            assert!(queued_at <= finished, "queued at {queued_at}");

            let id = object.remove("reminder_id").unwrap();
            let id = id.as_str().unwrap().to_owned();
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
            assert_eq!(&id[14..15], "7", "not a UUID v7: {id}");
            assert!("89ab".contains(&id[19..20]), "bad UUID variant: {id}");
            let millis = i64::from_str_radix(&id.replace('-', "")[..12], 16).unwrap();
            assert!(
                (started.timestamp_millis()..=finished.timestamp_millis()).contains(&millis),
                "UUID v7 {id} is not of this run"
            );
            assert!(ids.insert(id.clone()), "duplicate reminder id {id}");
            item
        })
        .collect()
}

#[test]
fn appointment_reminders_wait_then_remind() {
    let started = Utc::now();
    let clock = Instant::now();
    let run = run_varying(
        "appointment-reminders.json",
        Some(&input_file("appointment-reminders.json")),
        &["queued_at", "reminder_id"],
    );
    // `run` slept through the 2-second wait.
    assert!(
        clock.elapsed() >= Duration::from_secs(2),
        "{:?}",
        clock.elapsed()
    );
    run.assert_success();
    assert_eq!(
        check_reminder_times(run.items(), started),
        expected_reminders()
    );
}

#[test]
fn audience_export_deduplicates_filters_and_hashes() {
    let run = run(
        "audience-export.json",
        Some(&input_file("audience-export.json")),
    );
    run.assert_success();
    // C-003 and C-008 repeat an email; C-004 (do-not-contact), C-006 (no email) and C-009
    // (opted out) are filtered out; C-001 and C-005 tie on value (1840.0 = 1840) and are
    // ordered by email; the top 4 leave C-002 out. Emails become their SHA-256.
    let contact = |id: &str, country: &str, value: Value, sha256: &str| {
        json!({
            "contact_id": id, "country": country, "lifetime_value": value,
            "email_sha256": sha256, "audience": "high-value-customers"
        })
    };
    assert_eq!(
        run.items(),
        [
            contact(
                "C-007",
                "NG",
                json!(3120.75),
                "b60a488499f51cdbd6023284230193365db4b9e60975c48561df34365cb6f11a"
            ),
            contact(
                "C-001",
                "FR",
                json!(1840.0),
                "d560ab17a5957fd0da65f21c4871d5dc9437dd5358dc70f1ce3efaa6c30ad051"
            ),
            contact(
                "C-005",
                "IT",
                json!(1840),
                "0d1be3eb0ca95383fd201def2dd628b353b9132fa69d55a313a0f9555d5d0a19"
            ),
            contact(
                "C-010",
                "GB",
                json!(760),
                "a5fbbd648057ac94123a35a49374460a454adcb45fec0e9594f855f4f1b186ab"
            ),
        ]
    );
}

#[test]
fn order_events_builds_pick_lists() {
    let run = run("order-events.json", Some(&input_file("order-events.json")));
    run.assert_success();
    // The cancellation and the marketplace's order are filtered out by the trigger.
    assert_eq!(
        run.items(),
        [
            json!({
                "order_id": "SO-2001", "customer_id": "CUS-88", "warehouse": "DUB-1",
                "placed_at": "2026-03-02T10:14:03Z",
                "lines": 3, "units": 7, "bins_to_visit": 2, "status": "ready_to_pick"
            }),
            json!({
                "order_id": "SO-2002", "customer_id": "CUS-301", "warehouse": "LYS-2",
                "placed_at": "2026-03-02T10:21:57Z",
                "lines": 1, "units": 1, "bins_to_visit": 1, "status": "ready_to_pick"
            }),
        ]
    );
}

#[test]
fn order_events_ignores_other_events() {
    let dir = tempfile::tempdir().unwrap();
    let cancelled = write_input(
        dir.path(),
        "cancelled.json",
        &json!([{ "json": {
            "source": "com.example.shop", "detail-type": "Order Cancelled",
            "time": "2026-03-02T10:15:40Z", "detail": { "order_id": "SO-1998" }
        } }]),
    );
    let run = run("order-events.json", Some(&cancelled));
    run.assert_success();
    assert_eq!(run.items(), Vec::<Value>::new());
}

/// Every kind the examples binary links: the built-in nodes of `nodes/src/lib.rs` and the
/// example nodes of `src/greet.rs`.
const EXPECTED_KINDS: &[&str] = &[
    "core.aggregate",
    "core.crypto",
    "core.date_time",
    "core.event_trigger",
    "core.execute_workflow",
    "core.filter",
    "core.http_request",
    "core.if",
    "core.json_parse",
    "core.limit",
    "core.manual_trigger",
    "core.merge",
    "core.no_op",
    "core.remove_duplicates",
    "core.respond_to_webhook",
    "core.schedule_trigger",
    "core.set",
    "core.sort",
    "core.split_out",
    "core.stop_and_error",
    "core.summarize",
    "core.switch",
    "core.wait",
    "core.webhook_trigger",
    "example.greet",
    "example.people",
];

#[test]
fn the_catalog_lists_exactly_the_linked_nodes() {
    let catalog = json_stdout(&command().args(["nodes", "--json"]).output().unwrap());
    let entries = catalog.as_array().unwrap();

    let kinds: Vec<&str> = entries
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = kinds.iter().copied().collect();
    assert_eq!(
        unique.len(),
        kinds.len(),
        "a kind is listed twice: {kinds:?}"
    );
    assert_eq!(
        unique,
        EXPECTED_KINDS.iter().copied().collect::<BTreeSet<_>>()
    );

    for entry in entries {
        let kind = entry["kind"].as_str().unwrap();
        assert_eq!(entry["version"], 1, "{kind}");
        let description = entry["description"].as_str().unwrap_or_default();
        assert!(!description.trim().is_empty(), "{kind}: no description");
        let outputs = entry["outputs"].as_array().unwrap();
        assert!(!outputs.is_empty(), "{kind}: no outputs");
        assert!(
            ["all", "each_item"].contains(&entry["execute_mode"].as_str().unwrap()),
            "{kind}: {}",
            entry["execute_mode"]
        );
        for schema in ["params_schema", "input_schema", "output_schema"] {
            let schema_object = entry[schema]
                .as_object()
                .unwrap_or_else(|| panic!("{kind}: {schema} is not an object"));
            assert_eq!(
                schema_object["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{kind}: {schema}"
            );
            let title = schema_object["title"].as_str().unwrap_or_default();
            assert!(!title.is_empty(), "{kind}: {schema} has no title");
        }
        // Parameters are objects, and unknown ones are refused by the built-in nodes.
        assert_eq!(entry["params_schema"]["type"], "object", "{kind}");
        if kind.starts_with("core.") {
            assert_eq!(
                entry["params_schema"]["additionalProperties"], false,
                "{kind}"
            );
        }
    }

    // The routing nodes name their outputs.
    let outputs_of = |kind: &str| {
        entries
            .iter()
            .find(|entry| entry["kind"] == kind)
            .map(|entry| entry["outputs"].clone())
            .unwrap()
    };
    assert_eq!(outputs_of("core.if"), json!(["true", "false"]));
    assert_eq!(
        outputs_of("core.switch"),
        json!([
            "rule_0", "rule_1", "rule_2", "rule_3", "rule_4", "rule_5", "rule_6", "rule_7",
            "fallback"
        ])
    );
}
