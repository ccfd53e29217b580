//! `core.http_request`.
//!
//! One HTTP client serves every call (two under Lambda: one for the Runtime API's port, see
//! [`super::outbound`]): it is built on first use (never at start-up) and keeps its connections
//! pooled for later calls. TLS is rustls on the aws-lc-rs crypto provider, the one the AWS SDK
//! already links; reqwest picks that provider itself (or the process default, if the program
//! installed one), so nothing has to be installed globally.
//!
//! What the client may connect to is [`super::outbound`]'s: public addresses, and what
//! `HETUMIND_HTTP_ALLOW` allows; it checks every address connected to and every redirect.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hetumind::prelude::*;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode, Url};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::outbound;
use crate::support::json::{item_error, item_index};
use crate::support::params::schema_of_params;
use crate::support::path::FieldPath;

/// The parameters of `core.http_request`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HttpRequestParams {
    /// The HTTP method: `GET` (the default), `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD` or
    /// `OPTIONS`.
    #[serde(default)]
    method: HttpMethod,
    /// The URL to call (`http` or `https`). Give either `url` or `url_from`.
    #[serde(default)]
    url: Option<HttpUrl>,
    /// Where the URL is in each item (a string field), for a URL that differs per item. Give
    /// either `url` or `url_from`.
    #[serde(default)]
    url_from: Option<FieldPath>,
    /// Query parameters added to the URL (after any it already has), name to value.
    #[serde(default)]
    query: BTreeMap<String, String>,
    /// Request headers, name to value. They override the defaults (`Content-Type` of the
    /// body, `User-Agent`).
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// A JSON body, sent with `Content-Type: application/json`. At most one of `json`, `text`
    /// and `body_from`.
    #[serde(default)]
    json: Option<Value>,
    /// A text body, sent with `Content-Type: text/plain; charset=utf-8`. At most one of
    /// `json`, `text` and `body_from`.
    #[serde(default)]
    text: Option<String>,
    /// Where the body is in each item: the value there is sent as JSON (`""` sends the whole
    /// item). At most one of `json`, `text` and `body_from`.
    #[serde(default)]
    body_from: Option<FieldPath>,
    /// How long one request may take, from connecting to the last byte of the response, in
    /// milliseconds (default 30000). A request that takes longer fails and is retried.
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1))]
    timeout_ms: u64,
    /// How to read the response body: `auto` (the default: JSON when the `Content-Type` says
    /// JSON and the body parses, text otherwise), `json` (a body that is not JSON fails the
    /// item) or `text`. An empty body is `null` as JSON.
    #[serde(default)]
    response: ResponseFormat,
    /// The largest response body accepted, in bytes (default 10 MiB); a larger one fails the
    /// item.
    #[serde(default = "default_max_response_bytes")]
    max_response_bytes: u64,
    /// Whether a 4xx or 5xx response fails the item (the default). When false, every response
    /// becomes an output item, whatever its status.
    #[serde(default = "default_true")]
    fail_on_status: bool,
    /// The name of a header (such as `Idempotency-Key`) to send a key in that stays the same
    /// when the request is retried or re-run after a crash, and differs for every item and
    /// execution: `{execution_id}:{node}:{item_index}`. A server that deduplicates requests by
    /// this header then performs each one once.
    #[serde(default)]
    idempotency_header: Option<String>,
}

fn default_timeout_ms() -> u64 {
    30_000
}

fn default_max_response_bytes() -> u64 {
    10 * 1024 * 1024
}

fn default_true() -> bool {
    true
}

/// The HTTP methods `core.http_request` sends.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum HttpMethod {
    /// `GET`.
    #[default]
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
    /// `HEAD`.
    Head,
    /// `OPTIONS`.
    Options,
}

impl From<HttpMethod> for Method {
    fn from(method: HttpMethod) -> Self {
        match method {
            HttpMethod::Get => Self::GET,
            HttpMethod::Post => Self::POST,
            HttpMethod::Put => Self::PUT,
            HttpMethod::Patch => Self::PATCH,
            HttpMethod::Delete => Self::DELETE,
            HttpMethod::Head => Self::HEAD,
            HttpMethod::Options => Self::OPTIONS,
        }
    }
}

/// How `core.http_request` reads a response body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum ResponseFormat {
    /// JSON when the `Content-Type` says JSON and the body parses, text otherwise.
    #[default]
    Auto,
    /// JSON; a body that is not JSON fails the item.
    Json,
    /// Text (invalid UTF-8 replaced by `\u{FFFD}`).
    Text,
}

/// An absolute `http` or `https` URL.
struct HttpUrl(Url);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_url(&text).map(Self).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for HttpUrl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HttpUrl".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "uri",
            "description": "An absolute `http` or `https` URL."
        })
    }
}

/// Parses an absolute `http` or `https` URL.
fn parse_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("`{text}` is not a URL: {error}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        scheme => Err(format!(
            "`{text}` is not an HTTP URL: the scheme is `{scheme}`, not `http` or `https`"
        )),
    }
}

/// The parameters of `core.http_request`, checked as a whole, so that workflow validation
/// reports every problem before anything runs.
#[derive(Clone, Deserialize)]
#[serde(try_from = "HttpRequestParams")]
struct HttpRequestSpec {
    method: Method,
    target: Target,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
    body: Body,
    timeout: Duration,
    response: ResponseFormat,
    max_response_bytes: u64,
    fail_on_status: bool,
    idempotency_header: Option<HeaderName>,
}

schema_of_params!(HttpRequestSpec => HttpRequestParams);

/// Where the URL comes from.
#[derive(Clone)]
enum Target {
    Fixed(Url),
    FromItem(FieldPath),
}

/// What the request carries.
#[derive(Clone)]
enum Body {
    Empty,
    Json(Value),
    Text(String),
    FromItem(FieldPath),
}

impl TryFrom<HttpRequestParams> for HttpRequestSpec {
    type Error = String;

    fn try_from(params: HttpRequestParams) -> Result<Self, String> {
        let target = match (params.url, params.url_from) {
            (Some(HttpUrl(url)), None) => Target::Fixed(url),
            (None, Some(path)) => Target::FromItem(path),
            (Some(_), Some(_)) => {
                return Err("`url` and `url_from` exclude each other: give one of them".into());
            }
            (None, None) => {
                return Err(
                    "missing `url`: give it, or `url_from` to read it from the items".into(),
                );
            }
        };
        let body = match (params.json, params.text, params.body_from) {
            (None, None, None) => Body::Empty,
            (Some(json), None, None) => Body::Json(json),
            (None, Some(text), None) => Body::Text(text),
            (None, None, Some(path)) => Body::FromItem(path),
            (json, text, from) => {
                let given = match (json.is_some(), text.is_some(), from.is_some()) {
                    (true, true, true) => "`json`, `text` and `body_from`",
                    (true, true, false) => "`json` and `text`",
                    (true, false, true) => "`json` and `body_from`",
                    _ => "`text` and `body_from`",
                };
                return Err(format!("{given} exclude each other: give at most one body"));
            }
        };
        if params.timeout_ms == 0 {
            return Err("`timeout_ms` must be at least 1".into());
        }
        let idempotency_header = params
            .idempotency_header
            .map(|name| {
                HeaderName::try_from(name.as_str()).map_err(|_| {
                    format!("`idempotency_header`: `{name}` is not a valid header name")
                })
            })
            .transpose()?;
        Ok(Self {
            method: params.method.into(),
            target,
            query: params.query,
            headers: header_map(&params.headers)?,
            body,
            timeout: Duration::from_millis(params.timeout_ms),
            response: params.response,
            max_response_bytes: params.max_response_bytes,
            fail_on_status: params.fail_on_status,
            idempotency_header,
        })
    }
}

/// The `headers` parameter as a header map.
fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let header = HeaderName::try_from(name.as_str())
            .map_err(|_| format!("`headers`: `{name}` is not a valid header name"))?;
        let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
            format!("`headers.{name}`: the value holds characters a header cannot carry")
        })?;
        map.insert(header, value);
    }
    Ok(map)
}

/// One HTTP response.
#[derive(Serialize, JsonSchema)]
struct HttpResponse {
    /// The status code.
    status: u16,
    /// The response headers, by lower-case name; a repeated header's values are joined with
    /// `, `.
    headers: BTreeMap<String, String>,
    /// The body: JSON or text, as the `response` parameter says; `null` when empty and read as
    /// JSON.
    body: Value,
}

/// Sends one HTTP request per item and outputs the response: `{"status", "headers", "body"}`.
/// The URL is `url`, or a field of the item (`url_from`); the body is `json`, `text`, or a
/// field of the item (`body_from`). Connection failures, timeouts, 5xx, 408 and 429 responses
/// are retried (after `Retry-After` when the server sends one); other 4xx responses fail the
/// item for good, unless `fail_on_status` is false. Every error of a request names its method
/// and URL, and the status of a response.
///
/// Requests reach public addresses only. Loopback, private (10/8, 172.16/12, 192.168/16,
/// fc00::/7), shared (100.64/10), link-local (169.254/16 with the metadata address
/// 169.254.169.254, fe80::/10), unspecified (0.0.0.0/8, ::), multicast, broadcast and reserved
/// addresses, and the IPv6 forms of such IPv4 addresses (::ffff:127.0.0.1, 64:ff9b::a00:1), are
/// refused, as resolved when connecting and on every redirect, unless the function's
/// `HETUMIND_HTTP_ALLOW` allows them: a comma-separated list of IP addresses (`10.0.0.7`), CIDR
/// ranges (`10.0.0.0/8`, `fd00::/8`) and host names (`api.internal`, `*.internal`). The Lambda
/// Runtime API (`AWS_LAMBDA_RUNTIME_API`) is refused whatever the list allows. Proxies from the
/// environment (`HTTP_PROXY`, ...) are not used. A refusal fails the item for good, naming the
/// host, the address and why.
#[node(
    kind = "core.http_request",
    version = 1,
    nonblocking,
    retry(max_attempts = 4, initial = "1s", max = "30s")
)]
async fn http_request(
    Params(mut params): Params<HttpRequestSpec>,
    Item(item): Item<Value>,
    ctx: &Ctx,
) -> Result<HttpResponse, NodeError> {
    let index = item_index(ctx);
    let url = request_url(&params, &item, index)?;
    let call = Call {
        method: &params.method,
        url: &url,
    };
    let mut headers = HeaderMap::new();
    let body = match std::mem::replace(&mut params.body, Body::Empty) {
        Body::Empty => None,
        Body::Json(json) => Some(json_body(&mut headers, &json)?),
        Body::Text(text) => {
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Some(text.into_bytes())
        }
        Body::FromItem(path) => {
            let json = path.get(&item).ok_or_else(|| {
                item_error(
                    index,
                    format_args!("no field `{path}` (`body_from`) to send as the body"),
                )
            })?;
            Some(json_body(&mut headers, json)?)
        }
    };
    if let Some(name) = &params.idempotency_header {
        // An each-item node: the key is always there.
        let key = ctx.item_idempotency_key().unwrap_or_default();
        let value = HeaderValue::try_from(key).map_err(|_| {
            NodeError::terminal(format!(
                "{call}: the idempotency key holds characters a header cannot carry"
            ))
        })?;
        headers.insert(name.clone(), value);
    }
    // The parameters' headers override the defaults above.
    headers.extend(std::mem::take(&mut params.headers));

    let client = outbound::client_for(&url)
        .map_err(|problem| NodeError::terminal(format!("{call}: {problem}")))?;
    let mut request = client
        .request(params.method.clone(), url.clone())
        .headers(headers)
        .timeout(params.timeout);
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request
        .send()
        .await
        .map_err(|error| request_error(&call, &params, &error))?;

    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| retry_delay(value, ctx.now()));
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let headers = response_headers(response.headers());
    let bytes = read_body(response, &call, &params).await;
    if params.fail_on_status && (status.is_client_error() || status.is_server_error()) {
        let snippet = bytes.as_deref().map(snippet).unwrap_or_default();
        return Err(status_error(&call, status, retry_after, &snippet));
    }
    let body = decode(params.response, content_type.as_deref(), &bytes?)
        .map_err(|problem| NodeError::terminal(format!("{call}: HTTP {status}: {problem}")))?;
    Ok(HttpResponse {
        status: status.as_u16(),
        headers,
        body,
    })
}

/// A request as error messages name it: `GET https://host/path` (without any password).
struct Call<'a> {
    method: &'a Method,
    url: &'a Url,
}

impl fmt::Display for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, without_password(self.url))
    }
}

/// `url` as messages show it: without any password.
pub(super) fn without_password(url: &Url) -> Cow<'_, Url> {
    if url.password().is_none() {
        return Cow::Borrowed(url);
    }
    let mut url = url.clone();
    // Only URLs that cannot have a password refuse this, and this one has one.
    url.set_password(None).ok();
    Cow::Owned(url)
}

/// The URL of the request for `item`, with the `query` parameters added.
fn request_url(params: &HttpRequestSpec, item: &Value, index: usize) -> Result<Url, NodeError> {
    let mut url = match &params.target {
        Target::Fixed(url) => url.clone(),
        Target::FromItem(path) => match path.get(item) {
            Some(Value::String(text)) => parse_url(text).map_err(|problem| {
                item_error(index, format_args!("at `{path}` (`url_from`): {problem}"))
            })?,
            found => {
                let found = match found {
                    None => "missing",
                    Some(Value::Null) => "null",
                    Some(_) => "not a string",
                };
                return Err(item_error(
                    index,
                    format_args!("the URL at `{path}` (`url_from`) is {found}"),
                ));
            }
        },
    };
    if !params.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&params.query);
    }
    Ok(url)
}

/// `json` as a request body, with a JSON content type unless the headers already say one.
fn json_body(headers: &mut HeaderMap, json: &Value) -> Result<Vec<u8>, NodeError> {
    headers
        .entry(CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    serde_json::to_vec(json).map_err(NodeError::terminal)
}

/// The error of a request that got no response.
fn request_error(call: &Call<'_>, params: &HttpRequestSpec, error: &reqwest::Error) -> NodeError {
    if let Some(refused) = outbound::refusal(error) {
        return NodeError::terminal(format!("{call}: {refused}"));
    }
    let chain = error_chain(error);
    if error.is_timeout() {
        NodeError::retryable(format!(
            "{call}: no response within {} ms (`timeout_ms`)",
            params.timeout.as_millis()
        ))
    } else if error.is_builder() {
        NodeError::terminal(format!("{call}: cannot build the request: {chain}"))
    } else if error.is_redirect() {
        NodeError::terminal(format!("{call}: {chain}"))
    } else if error.is_connect() {
        NodeError::retryable(format!("{call}: cannot connect: {chain}"))
    } else {
        NodeError::retryable(format!("{call}: the request failed: {chain}"))
    }
}

/// What went wrong, from an error's causes (reqwest's own message, which the caller's words
/// replace, is used only when there are none, and without the URL: the caller names it,
/// without its password).
pub(super) fn error_chain(error: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    match error.url() {
        _ if !text.is_empty() => text,
        Some(url) => error.to_string().replace(&format!(" ({url})"), ""),
        None => error.to_string(),
    }
}

/// The delay a `Retry-After` header asks for: seconds, or an HTTP date.
fn retry_delay(value: &HeaderValue, now: DateTime<Utc>) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?;
    Some(
        (at.with_timezone(&Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// The response headers as output: lower-case names, repeated values joined with `, `.
fn response_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        out.entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    out
}

/// Reads the response body, up to `max_response_bytes`.
async fn read_body(
    mut response: Response,
    call: &Call<'_>,
    params: &HttpRequestSpec,
) -> Result<Vec<u8>, NodeError> {
    let status = response.status();
    let limit = params.max_response_bytes;
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| request_error(call, params, &error).context(format!("HTTP {status}")))?
    {
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(NodeError::terminal(format!(
                "{call}: HTTP {status}: the response body is larger than {limit} bytes \
                 (`max_response_bytes`)"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The start of an error response's body, for the error message.
fn snippet(bytes: &[u8]) -> String {
    const MAX_CHARS: usize = 300;
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// The error for a 4xx or 5xx response.
fn status_error(
    call: &Call<'_>,
    status: StatusCode,
    retry_after: Option<Duration>,
    snippet: &str,
) -> NodeError {
    let mut message = format!("{call}: HTTP {status}");
    if !snippet.is_empty() {
        message.push_str(": ");
        message.push_str(snippet);
    }
    let transient = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    match retry_after {
        Some(delay) if transient => NodeError::retry_after(
            delay,
            format!("{message} (Retry-After: {} s)", delay.as_secs()),
        ),
        _ if transient => NodeError::retryable(message),
        _ => NodeError::terminal(message),
    }
}

/// Whether a `Content-Type` is JSON (`application/json`, `application/problem+json`, ...).
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// The response body as output, read as `format` says.
fn decode(
    format: ResponseFormat,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Result<Value, String> {
    let as_json = match format {
        ResponseFormat::Json => true,
        ResponseFormat::Text => false,
        ResponseFormat::Auto => content_type.is_some_and(is_json),
    };
    let text = || Value::String(String::from_utf8_lossy(bytes).into_owned());
    if !as_json {
        return Ok(text());
    }
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    match serde_json::from_slice(bytes) {
        Ok(json) => Ok(json),
        Err(_) if format == ResponseFormat::Auto => Ok(text()),
        Err(error) => Err(format!(
            "the response body is not JSON (`response: json`): {error}"
        )),
    }
}
