//! The answer a workflow gives the HTTP request that started it.

use std::collections::BTreeMap;

use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
