//! The answer a workflow gives the HTTP request that started it.

use std::collections::BTreeMap;

use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The HTTP response a workflow chooses for the request that started it (API Gateway, Function
/// URL): the first item output by a node whose role is
/// [`NodeRole::HttpResponse`](crate::NodeRole::HttpResponse) (`core.respond_to_webhook` of the
/// built-in library, or a node of your own with `#[node(role = "http_response")]`). Without
/// such a node the HTTP trigger answers 200 with the end items, 500 on failure, 202 while the
/// execution goes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookResponse {
    /// The status code, 100 to 599.
    pub status_code: u16,
    /// Response headers, by name. `content-type` is `application/json` unless set here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// The body: a string is sent as it is when the `content-type` is not JSON, anything else
    /// as JSON text; `null` (or absent) is an empty body.
    #[serde(default)]
    pub body: Value,
}

impl WebhookResponse {
    /// Checks that HTTP can carry the status code and headers: a status from 100 to 599,
    /// header names that are HTTP tokens, values without line breaks or other control
    /// characters.
    ///
    /// # Errors
    ///
    /// Names the status code or the header that cannot be sent.
    pub fn check(&self) -> Result<(), String> {
        self.http_headers().map(drop)
    }

    /// The headers as HTTP carries them, once the status code and every header are checked.
    pub(crate) fn http_headers(&self) -> Result<HeaderMap, String> {
        if !(100..=599).contains(&self.status_code) {
            return Err(format!(
                "`status_code` must be between 100 and 599, not {}",
                self.status_code
            ));
        }
        let mut headers = HeaderMap::with_capacity(self.headers.len() + 1);
        for (name, value) in &self.headers {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| format!("`headers`: `{name}` is not a valid header name"))?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                format!("`headers.{name}`: the value holds characters a header cannot carry")
            })?;
            headers.insert(header, value);
        }
        Ok(headers)
    }
}

/// The item an HTTP trigger (API Gateway REST or HTTP API, Function URL) starts an execution
/// with, as a node of kind [`TRIGGER_KIND`](Self::TRIGGER_KIND) reads it. Sensitive headers
/// arrive redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HttpRequest {
    /// The HTTP method, such as `POST`.
    pub method: String,
    /// The request path, such as `/workflows/orders`.
    #[serde(default)]
    pub path: String,
    /// The request headers, by lowercase name.
    #[serde(default)]
    pub headers: Map<String, Value>,
    /// The query string parameters.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// The body: parsed JSON when it is JSON, else the text; `null` without a body.
    #[serde(default)]
    pub body: Value,
}

impl HttpRequest {
    /// The kind of the trigger node that reads the request: `core.webhook_trigger` of the
    /// built-in node library, or any node of that kind linked into the binary. Its `output`
    /// parameter is an [`HttpTriggerOutput`].
    pub const TRIGGER_KIND: &'static str = "core.webhook_trigger";
}

/// What an HTTP trigger node passes on: its `output` parameter. With `body`, the execution
/// stores the request without its headers and query, since no node can read them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HttpTriggerOutput {
    /// The whole request: `{method, path, headers, query, body}`.
    #[default]
    Request,
    /// The request's body only (parsed JSON, else text; `null` without a body).
    Body,
}

impl HttpTriggerOutput {
    /// The name of the trigger node's parameter that holds this choice.
    pub const PARAMETER: &'static str = "output";

    /// The choice of a trigger node with `parameters` (the default when they hold none or one
    /// that does not parse: validation reports that one).
    #[must_use]
    pub fn of(parameters: &Value) -> Self {
        parameters
            .get(Self::PARAMETER)
            .and_then(|output| Self::deserialize(output).ok())
            .unwrap_or_default()
    }
}

/// An HTTP method an HTTP trigger node accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `HEAD`.
    Head,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
}

impl HttpMethod {
    /// The method's name, such as `POST`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
        }
    }
}

/// The methods an HTTP trigger node accepts: its `methods` parameter. Empty (the default):
/// any method.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct HttpMethods(pub Vec<HttpMethod>);

impl HttpMethods {
    /// The name of the trigger node's parameter that holds them.
    pub const PARAMETER: &'static str = "methods";

    /// Whether a request with `method` (compared without regard to case) is accepted.
    #[must_use]
    pub fn accepts(&self, method: &str) -> bool {
        self.0.is_empty()
            || self
                .0
                .iter()
                .any(|accepted| accepted.as_str().eq_ignore_ascii_case(method))
    }
}

impl std::fmt::Display for HttpMethods {
    /// The methods as an `Allow` header lists them: `GET, POST`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, method) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(method.as_str())?;
        }
        Ok(())
    }
}

/// Where the function finds a secret. Never the secret itself: a workflow's JSON holds only
/// this reference.
///
/// Today the only source is an environment variable of the function, `{"env": "NAME"}`; a
/// later release adds AWS Secrets Manager and SSM Parameter Store references as further
/// variants of this object (such as `{"ssm": "/path"}`), so a workflow written today keeps
/// its meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SecretRef {
    /// The environment variable of the function, by name, that holds the secret (its UTF-8
    /// bytes). Missing or empty, every request is answered 500 naming the variable.
    Env(String),
}

impl std::fmt::Display for SecretRef {
    /// The reference, never the secret: `environment variable \`NAME\``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Env(name) => write!(f, "environment variable `{name}`"),
        }
    }
}

/// How an HTTP trigger authenticates a request before any execution starts: the trigger
/// node's `auth` parameter, `{"scheme": "api_key" | "hmac_sha256", ...}`. Without it, any
/// request that reaches the function starts the workflow.
///
/// A request without the credential is answered 401; one whose credential is wrong,
/// malformed or (`hmac_sha256`) outside the time window is answered 403. Both with a JSON body
/// `{"error", "error_type"}` naming the problem (never a secret), and no execution started.
/// Secrets are compared in constant time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum WebhookAuth {
    /// A header must hold the secret itself (a static API key).
    ApiKey(ApiKeyAuth),
    /// The request must be signed: an HMAC-SHA256 of its timestamp and raw body, as payment
    /// and chat platforms sign their webhooks.
    HmacSha256(HmacAuth),
}

/// The `api_key` scheme: the header [`header`](Self::header) must equal the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    /// The header holding the key (any case), default `x-api-key`. Its value is redacted in
    /// what the execution stores, whatever `HETUMIND_REDACT_HEADERS` says.
    #[serde(
        default = "ApiKeyAuth::default_header",
        deserialize_with = "header_name"
    )]
    #[schemars(default = "ApiKeyAuth::default_header")]
    pub header: String,
    /// Where the function finds the key.
    pub secret: SecretRef,
}

impl ApiKeyAuth {
    /// The default header, `x-api-key`.
    pub const DEFAULT_HEADER: &'static str = "x-api-key";

    fn default_header() -> String {
        Self::DEFAULT_HEADER.to_owned()
    }
}

/// The `hmac_sha256` scheme: the request carries its time in
/// [`timestamp_header`](Self::timestamp_header) (Unix seconds) and, in
/// [`signature_header`](Self::signature_header), `sha256=` followed by the lowercase or
/// uppercase hex of HMAC-SHA256(secret, `"{timestamp}.{raw body}"`), the body as its bytes were
/// sent (an API Gateway base64 body decoded first). A timestamp more than
/// [`tolerance_seconds`](Self::tolerance_seconds) away from the function's clock, in the past
/// or the future, is refused as a possible replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HmacAuth {
    /// The header holding the signature, default `x-hetumind-signature`.
    #[serde(
        default = "HmacAuth::default_signature_header",
        deserialize_with = "header_name"
    )]
    #[schemars(default = "HmacAuth::default_signature_header")]
    pub signature_header: String,
    /// The header holding the timestamp (Unix seconds), default `x-hetumind-timestamp`.
    #[serde(
        default = "HmacAuth::default_timestamp_header",
        deserialize_with = "header_name"
    )]
    #[schemars(default = "HmacAuth::default_timestamp_header")]
    pub timestamp_header: String,
    /// How far the timestamp may be from the function's clock, in seconds, either way;
    /// default 300.
    #[serde(default = "HmacAuth::default_tolerance")]
    #[schemars(default = "HmacAuth::default_tolerance")]
    pub tolerance_seconds: u32,
    /// Where the function finds the signing secret.
    pub secret: SecretRef,
}

impl HmacAuth {
    /// The default signature header, `x-hetumind-signature`.
    pub const DEFAULT_SIGNATURE_HEADER: &'static str = "x-hetumind-signature";
    /// The default timestamp header, `x-hetumind-timestamp`.
    pub const DEFAULT_TIMESTAMP_HEADER: &'static str = "x-hetumind-timestamp";
    /// The default tolerance, 300 seconds.
    pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;
    /// What the signature header's value starts with, before the hex digest.
    pub const SIGNATURE_PREFIX: &'static str = "sha256=";

    fn default_signature_header() -> String {
        Self::DEFAULT_SIGNATURE_HEADER.to_owned()
    }

    fn default_timestamp_header() -> String {
        Self::DEFAULT_TIMESTAMP_HEADER.to_owned()
    }

    const fn default_tolerance() -> u32 {
        Self::DEFAULT_TOLERANCE_SECONDS
    }

    /// The MAC of a request sent at `timestamp` (the header's text) with `body`, under
    /// `secret`, ready to verify.
    fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Result<Hmac<Sha256>, AuthFailure> {
        // HMAC takes keys of any length: the error is only the type's.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).map_err(|_| {
            AuthFailure::Misconfigured("the trigger's secret is not a valid HMAC key".to_owned())
        })?;
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        Ok(mac)
    }
}

/// A header name parameter: a valid HTTP header name, kept in lowercase.
fn header_name<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    HeaderName::try_from(name.as_str())
        .map(|header| header.as_str().to_owned())
        .map_err(|_| serde::de::Error::custom(format!("`{name}` is not a valid header name")))
}

/// What the HTTP trigger checks before it starts an execution, read from a trigger node's
/// parameters (`methods` and `auth`, as [`HttpTriggerOutput::of`] reads `output`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpTriggerChecks {
    /// The `methods` parameter.
    pub methods: HttpMethods,
    /// The `auth` parameter.
    pub auth: Option<WebhookAuth>,
}

impl HttpTriggerChecks {
    /// The name of the trigger node's parameter that holds the authentication.
    pub const AUTH_PARAMETER: &'static str = "auth";

    /// The checks of trigger node `node` with `parameters`; other parameters are ignored.
    ///
    /// # Errors
    ///
    /// Names the node, the parameter's JSON path and the problem when `methods` or `auth` is
    /// malformed.
    pub fn of(node: &str, parameters: &Value) -> Result<Self, String> {
        let Value::Object(fields) = parameters else {
            return Ok(Self::default());
        };
        let mut checks = Self::default();
        if let Some(methods) = fields.get(HttpMethods::PARAMETER) {
            checks.methods = crate::json_path::from_value(methods).map_err(|problem| {
                format!(
                    "node `{node}`: parameter `{}`: {problem}",
                    HttpMethods::PARAMETER
                )
            })?;
        }
        if let Some(auth) = fields.get(Self::AUTH_PARAMETER) {
            checks.auth = crate::json_path::from_value(auth).map_err(|problem| {
                format!(
                    "node `{node}`: parameter `{}`: {problem}",
                    Self::AUTH_PARAMETER
                )
            })?;
        }
        Ok(checks)
    }

    /// Checks a request's credentials (`headers`, `body` as bytes) against
    /// [`auth`](Self::auth) at `now` (Unix seconds), reading secrets with `var`.
    pub(crate) fn authenticate(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), AuthFailure> {
        let Some(auth) = &self.auth else {
            return Ok(());
        };
        let header = |name: &str| -> Result<Option<&str>, AuthFailure> {
            headers
                .get(name)
                .map(|value| {
                    value.to_str().map_err(|_| {
                        AuthFailure::Invalid(format!(
                            "the `{name}` header holds characters a credential cannot"
                        ))
                    })
                })
                .transpose()
        };
        match auth {
            WebhookAuth::ApiKey(api_key) => {
                let secret = secret(&api_key.secret, var)?;
                let Some(given) = header(&api_key.header)? else {
                    return Err(AuthFailure::Missing(format!(
                        "the `{}` header is missing",
                        api_key.header
                    )));
                };
                // Digests of equal length, compared in constant time: neither the key's
                // content nor its length shows in the time taken.
                let given = Sha256::digest(given.as_bytes());
                let expected = Sha256::digest(secret.as_bytes());
                let same: bool = given[..].ct_eq(&expected[..]).into();
                if same {
                    Ok(())
                } else {
                    Err(AuthFailure::Invalid(format!(
                        "the `{}` header does not hold the API key",
                        api_key.header
                    )))
                }
            }
            WebhookAuth::HmacSha256(hmac) => {
                let secret = secret(&hmac.secret, var)?;
                let (timestamp, signature) = match (
                    header(&hmac.timestamp_header)?,
                    header(&hmac.signature_header)?,
                ) {
                    (Some(timestamp), Some(signature)) => (timestamp, signature),
                    (timestamp, _) => {
                        let missing = if timestamp.is_none() {
                            &hmac.timestamp_header
                        } else {
                            &hmac.signature_header
                        };
                        return Err(AuthFailure::Missing(format!(
                            "the `{missing}` header is missing: requests must be signed (`{}` and `{}`)",
                            hmac.timestamp_header, hmac.signature_header
                        )));
                    }
                };
                let sent: i64 = timestamp.trim().parse().map_err(|_| {
                    AuthFailure::Invalid(format!(
                        "the `{}` header must be a Unix time in seconds",
                        hmac.timestamp_header
                    ))
                })?;
                if now.abs_diff(sent) > u64::from(hmac.tolerance_seconds) {
                    return Err(AuthFailure::Invalid(format!(
                        "the `{}` header is more than {} seconds from the function's clock: the request is too old or from the future (a replay?)",
                        hmac.timestamp_header, hmac.tolerance_seconds
                    )));
                }
                let digest = signature
                    .trim()
                    .strip_prefix(HmacAuth::SIGNATURE_PREFIX)
                    .and_then(|hex| hex::decode(hex).ok())
                    .ok_or_else(|| {
                        AuthFailure::Invalid(format!(
                            "the `{}` header must be `{}` followed by the hex of the HMAC-SHA256",
                            hmac.signature_header,
                            HmacAuth::SIGNATURE_PREFIX
                        ))
                    })?;
                HmacAuth::mac(secret.as_bytes(), timestamp.trim(), body)?
                    .verify_slice(&digest)
                    .map_err(|_| {
                        AuthFailure::Invalid(format!(
                            "the `{}` header does not match the request: wrong secret, or the body or timestamp changed",
                            hmac.signature_header
                        ))
                    })
            }
        }
    }
}

/// The secret `reference` names, read with `var`; missing or empty, a configuration error.
fn secret(
    reference: &SecretRef,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<String, AuthFailure> {
    match reference {
        SecretRef::Env(name) => var(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| {
                AuthFailure::Misconfigured(format!(
                    "the function's environment variable `{name}`, which holds the trigger's secret, is not set or empty"
                ))
            }),
    }
}

/// Why a request's credentials are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No credential: 401.
    Missing(String),
    /// A wrong, malformed or expired credential: 403.
    Invalid(String),
    /// The function cannot check credentials (its secret is missing): 500.
    Misconfigured(String),
}
