//! Secrets from every source a deployment configures, through the command line as a user runs
//! it: `HETUMIND_SECRET_<NAME>`, a JSON file (`HETUMIND_SECRETS_FILE`), AWS Secrets Manager and
//! SSM Parameter Store (moto). The node receives the value; what the engine prints and stores
//! has it redacted.

#![allow(clippy::unwrap_used)]

#[path = "support/moto.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_hetumind-test");

/// A client of the SDK crate `$sdk` for moto at `$endpoint`, with test credentials.
macro_rules! client {
    ($sdk:ident, $endpoint:expr) => {{
        use $sdk::config::{BehaviorVersion, Credentials, Region};
        let config = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url($endpoint)
            .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
            .region(Region::new("us-east-1"))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

/// `test.say` with an authorization header built from secret `api-token`, and a fingerprint of
/// the value (its length and the sum of its code points) that shows which value the node got.
fn workflow(dir: &Path) -> String {
    let path = dir.join("secretive.json");
    let workflow = json!({
        "id": "secretive",
        "nodes": [{ "name": "Say", "kind": "test.say", "parameters": {
            "authorization": "{% \"Bearer \" + secret(\"api-token\") %}",
            "fingerprint": "{% secret(\"api-token\") | [length, (explode | add)] %}"
        } }]
    });
    std::fs::write(&path, workflow.to_string()).unwrap();
    path.display().to_string()
}

fn fingerprint(value: &str) -> Value {
    json!([
        value.chars().count(),
        value.chars().map(u32::from).sum::<u32>()
    ])
}

/// `run --json` on a file store in `dir`, with `env` and no secret settings of the caller's:
/// the response printed, or null.
fn run(dir: &Path, env: &[(&str, String)]) -> (Output, Value) {
    let mut command = Command::new(BIN);
    command
        .args(["run", &workflow(dir), "--json", "--state"])
        .arg(format!("file://{}", dir.join("state").display()))
        .env_remove("HETUMIND_SECRETS")
        .env_remove("HETUMIND_SECRETS_FILE")
        .env_remove("HETUMIND_SECRETS_PREFIX")
        .env_remove("HETUMIND_SECRET_API_TOKEN")
        .envs(env.iter().map(|(name, value)| (*name, value)));
    let output = command.output().unwrap();
    // Nothing on stdout when the configuration is refused.
    let response = if output.stdout.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)))
    };
    (output, response)
}

/// Runs the workflow and checks that the node got `value` and nothing the engine wrote holds
/// it.
fn assert_reaches_the_node_only(env: &[(&str, String)], value: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (output, response) = run(dir.path(), env);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{response:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        response["output_data"][0]["json"],
        json!({ "authorization": "Bearer [secret]", "fingerprint": fingerprint(value) })
    );
    for printed in [&output.stdout, &output.stderr] {
        assert!(!String::from_utf8_lossy(printed).contains(value));
    }
    let mut paths = vec![dir.path().join("state")];
    while let Some(path) = paths.pop() {
        if path.is_dir() {
            paths.extend(
                std::fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
        } else {
            let stored = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&stored).contains(value),
                "{} holds the secret",
                path.display()
            );
        }
    }
}

#[test]
fn a_secret_comes_from_its_environment_variable_or_a_file() {
    let value = "env-Üñï-4711";
    assert_reaches_the_node_only(&[("HETUMIND_SECRET_API_TOKEN", value.to_owned())], value);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.json");
    let value = "file-0815-value";
    std::fs::write(&file, json!({ "api-token": value }).to_string()).unwrap();
    assert_reaches_the_node_only(
        &[("HETUMIND_SECRETS_FILE", file.display().to_string())],
        value,
    );
}

#[test]
fn a_missing_secret_fails_the_run_and_says_where_it_was_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (output, response) = run(dir.path(), &[]);
    assert_eq!(output.status.code(), Some(1), "{response:#}");
    let error = response["error"].as_str().unwrap();
    assert!(
        error.contains("secret `api-token`") && error.contains("HETUMIND_SECRET_API_TOKEN"),
        "{error}"
    );
    let (output, response) = run(dir.path(), &[("HETUMIND_SECRETS", "vault".to_owned())]);
    assert_eq!(output.status.code(), Some(2), "{response:#}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HETUMIND_SECRETS: `vault`"), "{stderr}");
}

/// The environment a child process needs to reach moto for every AWS service.
fn aws_env(moto: &support::Moto) -> Vec<(&'static str, String)> {
    let mut env = moto.env().to_vec();
    env.push(("AWS_ENDPOINT_URL", moto.endpoint.clone()));
    env
}

/// A name part unique to this run (moto's state is shared by every test of the process).
fn unique() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_comes_from_secrets_manager_or_parameter_store() {
    let Some(moto) = support::moto() else { return };
    let run_id = unique();

    let prefix = format!("hetumind/{run_id}/");
    let value = "sm-value-9c1e";
    client!(aws_sdk_secretsmanager, &moto.endpoint)
        .create_secret()
        .name(format!("{prefix}api-token"))
        .secret_string(value)
        .send()
        .await
        .unwrap();
    let mut env = aws_env(moto);
    env.extend([
        ("HETUMIND_SECRETS", "secretsmanager".to_owned()),
        ("HETUMIND_SECRETS_PREFIX", prefix),
    ]);
    tokio::task::spawn_blocking(move || assert_reaches_the_node_only(&env, value))
        .await
        .unwrap();

    let prefix = format!("/hetumind/{run_id}/");
    let value = "ssm-value-77ab";
    client!(aws_sdk_ssm, &moto.endpoint)
        .put_parameter()
        .name(format!("{prefix}api-token"))
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let mut env = aws_env(moto);
    env.extend([
        ("HETUMIND_SECRETS", "ssm".to_owned()),
        ("HETUMIND_SECRETS_PREFIX", prefix.clone()),
    ]);
    tokio::task::spawn_blocking(move || assert_reaches_the_node_only(&env, value))
        .await
        .unwrap();

    // A secret the service does not have fails the node for good, naming it.
    let mut env = aws_env(moto);
    env.extend([
        ("HETUMIND_SECRETS", "ssm".to_owned()),
        ("HETUMIND_SECRETS_PREFIX", format!("{prefix}absent/")),
    ]);
    let (output, response) = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        run(dir.path(), &env)
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{response:#}");
    let error = response["error"].as_str().unwrap();
    assert!(
        error.contains("secret `api-token`") && error.contains("ParameterNotFound"),
        "{error}"
    );
}
