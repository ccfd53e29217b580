//! Secrets: named strings that expressions read with `secret("name")`, so that no workflow
//! definition holds a password or a key.
//!
//! Where they come from (`HETUMIND_SECRETS`, see [`Secrets::from_env`]):
//!
//! | `HETUMIND_SECRETS` | a secret `name` is |
//! |---|---|
//! | `env` (the default) | the environment variable `HETUMIND_SECRET_<NAME>` (the name upper-cased, every character but a letter or digit as `_`: `api-token` is `HETUMIND_SECRET_API_TOKEN`), else the field `name` of the JSON object in the file `HETUMIND_SECRETS_FILE` names, if it names one |
//! | `secretsmanager` | the string value of the AWS Secrets Manager secret `HETUMIND_SECRETS_PREFIX` + `name` |
//! | `ssm` | the value of the SSM Parameter Store parameter `HETUMIND_SECRETS_PREFIX` + `name`, decrypted |
//!
//! The AWS clients are built on first use, with the standard AWS environment (credentials,
//! region, `AWS_ENDPOINT_URL_*`). A process keeps each value it fetched for
//! `HETUMIND_SECRETS_TTL_MS` milliseconds (default 300,000: five minutes), so a warm Lambda
//! function does not ask again for every node run, and a rotated secret is picked up within
//! that time.
//!
//! The engine fetches the secrets a node's expressions name before the node runs, and keeps
//! their values out of everything it writes: they are never stored, and the node's output items
//! and its error (which the store and the logs record) have every occurrence of a value
//! replaced by `[secret]`. A value that short could be anything is refused: a secret has at
//! least [`MIN_SECRET_CHARS`] characters. What a node does with a value is up to the node:
//! `core.http_request`, say, sends it where the workflow says.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::config::ConfigError;

/// The fewest characters a secret's value has (see the [module docs](self)).
pub const MIN_SECRET_CHARS: usize = 4;

/// The longest secret name: Secrets Manager's limit.
const MAX_NAME_CHARS: usize = 512;

/// What replaces a secret's value in what the engine writes.
pub const REDACTED: &str = "[secret]";

/// How long a process keeps a fetched value when `HETUMIND_SECRETS_TTL_MS` is unset.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// A secret's value. Neither `Debug` nor `Display` shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// A secret of value `value`.
    #[must_use]
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }

    /// The value.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([secret])")
    }
}

/// A secret that could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("secret `{name}`: {problem}")]
pub struct SecretError {
    /// The secret's name.
    pub name: String,
    /// What went wrong; never the value.
    pub problem: String,
    /// Whether asking again may help (a network or service failure).
    pub transient: bool,
}

impl SecretError {
    fn new(name: &str, problem: impl Into<String>, transient: bool) -> Self {
        Self {
            name: name.to_owned(),
            problem: problem.into(),
            transient,
        }
    }
}

/// Where secrets come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SecretSource {
    /// The environment variable `HETUMIND_SECRET_<NAME>`, else the JSON object in `file`.
    Local {
        /// A JSON file of an object of secrets by name.
        file: Option<PathBuf>,
    },
    /// Exactly these values (tests).
    Given(BTreeMap<String, String>),
    /// AWS Secrets Manager: the secret `prefix` + name.
    #[cfg(feature = "aws-secrets")]
    SecretsManager {
        /// Put before every name.
        prefix: String,
    },
    /// AWS SSM Parameter Store: the parameter `prefix` + name, decrypted.
    #[cfg(feature = "aws-secrets")]
    Ssm {
        /// Put before every name.
        prefix: String,
    },
}

/// A source of secrets, with the values fetched kept for a time to live.
pub struct Secrets {
    source: SecretSource,
    ttl: Duration,
    cache: Mutex<HashMap<Arc<str>, (Secret, Instant)>>,
    #[cfg(feature = "aws-secrets")]
    clients: tokio::sync::OnceCell<aws::Clients>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("source", &self.source)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for Secrets {
    /// The environment, without a file.
    fn default() -> Self {
        Self::new(SecretSource::Local { file: None }, DEFAULT_TTL)
    }
}

impl Secrets {
    /// Secrets from `source`, each value kept for `ttl` once fetched.
    #[must_use]
    pub fn new(source: SecretSource, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            cache: Mutex::default(),
            #[cfg(feature = "aws-secrets")]
            clients: tokio::sync::OnceCell::new(),
        }
    }

    /// Exactly the secrets `values`, by name (tests).
    #[must_use]
    pub fn given<N: Into<String>, V: Into<String>>(
        values: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let values = values
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        Self::new(SecretSource::Given(values), DEFAULT_TTL)
    }

    /// The secrets `HETUMIND_SECRETS`, `HETUMIND_SECRETS_FILE`, `HETUMIND_SECRETS_PREFIX` and
    /// `HETUMIND_SECRETS_TTL_MS` describe, read through `var` (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// The variable that is malformed, and why.
    pub fn from_env(var: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let ttl = match var("HETUMIND_SECRETS_TTL_MS") {
            None => DEFAULT_TTL,
            Some(text) => text
                .trim()
                .parse()
                .map(Duration::from_millis)
                .map_err(|_| ConfigError {
                    variable: "HETUMIND_SECRETS_TTL_MS",
                    problem: format!("`{text}` is not a whole number of milliseconds"),
                })?,
        };
        #[cfg(feature = "aws-secrets")]
        let prefix = || var("HETUMIND_SECRETS_PREFIX").unwrap_or_default();
        let source = match var("HETUMIND_SECRETS").as_deref().map(str::trim) {
            None | Some("" | "env") => SecretSource::Local {
                file: var("HETUMIND_SECRETS_FILE").map(PathBuf::from),
            },
            #[cfg(feature = "aws-secrets")]
            Some("secretsmanager") => SecretSource::SecretsManager { prefix: prefix() },
            #[cfg(feature = "aws-secrets")]
            Some("ssm") => SecretSource::Ssm { prefix: prefix() },
            Some(other) => {
                let known = if cfg!(feature = "aws-secrets") {
                    "`env`, `secretsmanager` or `ssm`"
                } else {
                    "`env` (this binary was built without the `aws-secrets` feature)"
                };
                return Err(ConfigError {
                    variable: "HETUMIND_SECRETS",
                    problem: format!("`{other}` is not {known}"),
                });
            }
        };
        Ok(Self::new(source, ttl))
    }

    /// The secret `name`: kept, or fetched from the source.
    ///
    /// # Errors
    ///
    /// When the source does not have it, cannot be reached, or its value is shorter than
    /// [`MIN_SECRET_CHARS`].
    pub async fn get(&self, name: &str) -> Result<Secret, SecretError> {
        if let Some((secret, at)) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            && at.elapsed() < self.ttl
        {
            return Ok(secret.clone());
        }
        let value = self.fetch(name).await?;
        if value.chars().count() < MIN_SECRET_CHARS {
            return Err(SecretError::new(
                name,
                format!(
                    "its value is shorter than {MIN_SECRET_CHARS} characters, too short to keep out of outputs and logs"
                ),
                false,
            ));
        }
        let secret = Secret(Arc::from(value));
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(Arc::from(name), (secret.clone(), Instant::now()));
        Ok(secret)
    }

    async fn fetch(&self, name: &str) -> Result<String, SecretError> {
        match &self.source {
            SecretSource::Local { file } => local(name, file.as_deref()).await,
            SecretSource::Given(values) => values
                .get(name)
                .cloned()
                .ok_or_else(|| SecretError::new(name, "not given", false)),
            #[cfg(feature = "aws-secrets")]
            SecretSource::SecretsManager { prefix } => {
                let clients = self.clients.get_or_init(aws::Clients::load).await;
                aws::secrets_manager(&clients.secrets_manager, name, prefix).await
            }
            #[cfg(feature = "aws-secrets")]
            SecretSource::Ssm { prefix } => {
                let clients = self.clients.get_or_init(aws::Clients::load).await;
                aws::ssm(&clients.ssm, name, prefix).await
            }
        }
    }
}

/// The environment variable that holds secret `name` locally.
#[must_use]
pub fn env_var(name: &str) -> String {
    let mut var = String::from("HETUMIND_SECRET_");
    var.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    var
}

async fn local(name: &str, file: Option<&std::path::Path>) -> Result<String, SecretError> {
    if let Ok(value) = std::env::var(env_var(name)) {
        return Ok(value);
    }
    let Some(file) = file else {
        return Err(SecretError::new(
            name,
            format!(
                "not found: set the environment variable {}, or name a JSON file of secrets in HETUMIND_SECRETS_FILE",
                env_var(name)
            ),
            false,
        ));
    };
    let text = tokio::fs::read(file).await.map_err(|error| {
        SecretError::new(
            name,
            format!("cannot read {}: {error}", file.display()),
            false,
        )
    })?;
    // The file's contents never reach a message: only where it is malformed.
    let values: serde_json::Map<String, Value> =
        serde_json::from_slice(&text).map_err(|error| {
            SecretError::new(
                name,
                format!(
                    "{} is not a JSON object of secrets (line {}, column {})",
                    file.display(),
                    error.line(),
                    error.column()
                ),
                false,
            )
        })?;
    match values.get(name) {
        Some(Value::String(value)) => Ok(value.clone()),
        Some(_) => Err(SecretError::new(
            name,
            format!("its value in {} is not a string", file.display()),
            false,
        )),
        None => Err(SecretError::new(
            name,
            format!(
                "not found in the environment ({}) nor in {}",
                env_var(name),
                file.display()
            ),
            false,
        )),
    }
}

/// Why `name` cannot name a secret, if it cannot: names are 1 to 512 letters, digits and
/// `/_+=.@-`, as AWS Secrets Manager and Parameter Store accept them.
#[must_use]
pub fn check_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a secret name cannot be empty".to_owned());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Some(format!(
            "a secret name has at most {MAX_NAME_CHARS} characters"
        ));
    }
    name.chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)))
        .map(|c| format!("secret name `{name}`: {c:?} is not a letter, digit or one of `/_+=.@-`"))
}

/// `text` with every occurrence of a value of `secrets` replaced by [`REDACTED`].
#[must_use]
pub fn redact<'t>(text: &'t str, secrets: &[&Secret]) -> Cow<'t, str> {
    let mut text = Cow::Borrowed(text);
    for secret in secrets {
        if text.contains(secret.expose()) {
            text = Cow::Owned(text.replace(secret.expose(), REDACTED));
        }
    }
    text
}

/// Redacts every string of `value`, keys included (see [`redact`]).
pub fn redact_json(value: &mut Value, secrets: &[&Secret]) {
    match value {
        Value::String(text) => {
            if let Cow::Owned(redacted) = redact(text, secrets) {
                *text = redacted;
            }
        }
        Value::Array(values) => values
            .iter_mut()
            .for_each(|value| redact_json(value, secrets)),
        Value::Object(fields) => {
            if fields
                .keys()
                .any(|key| matches!(redact(key, secrets), Cow::Owned(_)))
            {
                *fields = std::mem::take(fields)
                    .into_iter()
                    .map(|(key, value)| (redact(&key, secrets).into_owned(), value))
                    .collect();
            }
            fields
                .values_mut()
                .for_each(|value| redact_json(value, secrets));
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(feature = "aws-secrets")]
mod aws {
    //! The AWS Secrets Manager and SSM Parameter Store clients.

    use aws_sdk_ssm::config::http::HttpResponse;
    use aws_sdk_ssm::error::{ProvideErrorMetadata, SdkError};

    use super::SecretError;

    pub(super) struct Clients {
        pub(super) secrets_manager: aws_sdk_secretsmanager::Client,
        pub(super) ssm: aws_sdk_ssm::Client,
    }

    impl Clients {
        pub(super) async fn load() -> Self {
            let config = crate::aws::load().await;
            Self {
                secrets_manager: aws_sdk_secretsmanager::Client::new(&config),
                ssm: aws_sdk_ssm::Client::new(&config),
            }
        }
    }

    /// Whether a failure is worth asking again for: no answer at all, the service's own
    /// failure (a 5xx), or throttling. A missing secret or a denied access is not.
    fn transient<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
        match error {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                status >= 500
                    || status == 429
                    || error.code().is_some_and(|code| code.contains("Throttl"))
            }
            _ => true,
        }
    }

    pub(super) async fn secrets_manager(
        client: &aws_sdk_secretsmanager::Client,
        name: &str,
        prefix: &str,
    ) -> Result<String, SecretError> {
        let id = format!("{prefix}{name}");
        let answer = client
            .get_secret_value()
            .secret_id(&id)
            .send()
            .await
            .map_err(|error| {
                let transient = transient(&error);
                let error = aws_sdk_secretsmanager::error::DisplayErrorContext(error);
                SecretError::new(
                    name,
                    format!("Secrets Manager, secret `{id}`: {error}"),
                    transient,
                )
            })?;
        answer.secret_string.ok_or_else(|| {
            SecretError::new(
                name,
                format!("Secrets Manager secret `{id}` holds binary data, not a string"),
                false,
            )
        })
    }

    pub(super) async fn ssm(
        client: &aws_sdk_ssm::Client,
        name: &str,
        prefix: &str,
    ) -> Result<String, SecretError> {
        let id = format!("{prefix}{name}");
        let answer = client
            .get_parameter()
            .name(&id)
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| {
                let transient = transient(&error);
                let error = aws_sdk_ssm::error::DisplayErrorContext(error);
                SecretError::new(name, format!("SSM parameter `{id}`: {error}"), transient)
            })?;
        answer
            .parameter
            .and_then(|parameter| parameter.value)
            .ok_or_else(|| {
                SecretError::new(name, format!("SSM parameter `{id}` has no value"), false)
            })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn names_map_to_environment_variables() {
        assert_eq!(env_var("api-token"), "HETUMIND_SECRET_API_TOKEN");
        assert_eq!(
            env_var("prod/db.password"),
            "HETUMIND_SECRET_PROD_DB_PASSWORD"
        );
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("prod/db-password_1"), None);
        assert!(check_name("").is_some());
        assert!(check_name("a b").unwrap().contains("' '"));
        assert!(check_name(&"a".repeat(513)).is_some());
    }

    #[test]
    fn values_are_redacted_in_text_and_json() {
        let secret = Secret(Arc::from("hunter22"));
        let secrets = [&secret];
        assert_eq!(redact("pw=hunter22;", &secrets), "pw=[secret];");
        assert!(matches!(redact("nothing here", &secrets), Cow::Borrowed(_)));
        let mut value = json!({"a": ["x hunter22 y", 1], "hunter22": {"b": "hunter22"}});
        redact_json(&mut value, &secrets);
        assert_eq!(
            value,
            json!({"a": ["x [secret] y", 1], "[secret]": {"b": "[secret]"}})
        );
        assert_eq!(format!("{secret:?}"), "Secret([secret])");
    }

    #[tokio::test]
    async fn given_values_are_fetched_kept_and_checked() {
        let secrets = Secrets::given([("token", "abcdef"), ("short", "abc")]);
        assert_eq!(secrets.get("token").await.unwrap().expose(), "abcdef");
        assert_eq!(secrets.get("token").await.unwrap().expose(), "abcdef");
        let short = secrets.get("short").await.unwrap_err();
        assert!(short.problem.contains("shorter than 4"), "{short}");
        assert!(!short.to_string().contains("abc\""), "{short}");
        assert!(secrets.get("missing").await.is_err());
    }

    #[tokio::test]
    async fn the_local_file_is_read_and_its_errors_name_the_file_not_the_values() {
        let dir = std::env::temp_dir().join(format!("hetumind-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secrets.json");
        std::fs::write(&file, r#"{"db": "s3cr3t-pw", "n": 5}"#).unwrap();
        let secrets = Secrets::new(
            SecretSource::Local {
                file: Some(file.clone()),
            },
            DEFAULT_TTL,
        );
        assert_eq!(secrets.get("db").await.unwrap().expose(), "s3cr3t-pw");
        let wrong = secrets.get("n").await.unwrap_err();
        assert!(wrong.problem.contains("not a string"), "{wrong}");
        let missing = secrets.get("nope").await.unwrap_err();
        assert!(
            missing.problem.contains("HETUMIND_SECRET_NOPE"),
            "{missing}"
        );
        std::fs::write(&file, r#"{"db": "s3cr3t-pw""#).unwrap();
        let fresh = Secrets::new(SecretSource::Local { file: Some(file) }, DEFAULT_TTL);
        let malformed = fresh.get("db").await.unwrap_err();
        assert!(
            malformed.problem.contains("not a JSON object"),
            "{malformed}"
        );
        assert!(!malformed.to_string().contains("s3cr3t"), "{malformed}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_environment_chooses_the_source() {
        let var = |name: &str| match name {
            "HETUMIND_SECRETS" => Some("vault".to_owned()),
            _ => None,
        };
        let ConfigError { variable, problem } = Secrets::from_env(&var).unwrap_err();
        assert_eq!(variable, "HETUMIND_SECRETS");
        assert!(problem.contains("`vault`"), "{problem}");
        let ttl = |name: &str| (name == "HETUMIND_SECRETS_TTL_MS").then(|| "soon".to_owned());
        assert_eq!(
            Secrets::from_env(&ttl).unwrap_err().variable,
            "HETUMIND_SECRETS_TTL_MS"
        );
        let none = |_: &str| None;
        assert!(matches!(
            Secrets::from_env(&none).unwrap().source,
            SecretSource::Local { file: None }
        ));
    }
}
