//! The answer a workflow gives the HTTP request that started it.

use std::collections::BTreeMap;

use aws_lambda_events::http::{HeaderMap, HeaderName, HeaderValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The HTTP response a workflow chooses for the request that started it (API Gateway, Function
/// URL): the first item a node of kind [`NODE_KIND`](Self::NODE_KIND) outputs. Without such a
/// node the HTTP trigger answers 200 with the end items, 500 on failure, 202 while the
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
    /// The kind of the node whose output answers the HTTP request: `core.respond_to_webhook`
    /// of the built-in node library, or any node of that kind linked into the binary.
    pub const NODE_KIND: &'static str = "core.respond_to_webhook";

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
