//! `core.webhook_trigger`.

use hetumind::model::{HttpMethods, HttpRequest, HttpTriggerOutput, WebhookAuth};
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The parameters of `core.webhook_trigger`. The HTTP trigger of the function reads `methods`
/// and `auth` from the workflow (see `hetumind::model::HttpTriggerChecks`) and refuses a
/// request they do not allow before any execution starts.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WebhookTriggerParams {
    /// The HTTP methods the workflow accepts, such as `["POST"]`. The HTTP trigger answers a
    /// request with another method 405 (with an `Allow` header listing these) and starts no
    /// execution; an item with another method given to the node otherwise (a test, a direct
    /// request) fails it. Empty (the default): any method.
    #[serde(default)]
    methods: HttpMethods,
    /// What the trigger passes on: the whole request (`request`, the default) or only its body
    /// (`body`).
    #[serde(default)]
    output: HttpTriggerOutput,
    /// How the HTTP trigger authenticates a request before starting an execution: `{"scheme":
    /// "api_key", "header": "x-api-key", "secret": {"env": "VARIABLE"}}` (a header equal to the
    /// secret) or `{"scheme": "hmac_sha256", "secret": {"env": "VARIABLE"}}` (headers
    /// `x-hetumind-timestamp` and `x-hetumind-signature: sha256=HEX` of HMAC-SHA256 over
    /// `"{timestamp}.{raw body}"`, within `tolerance_seconds`, default 300). The secret is
    /// never in the workflow: `env` names the function's environment variable holding it.
    /// Missing credentials are answered 401, wrong or expired ones 403, a missing secret 500.
    /// Absent (the default): no authentication.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "checked by the HTTP trigger, which reads it from the workflow"
    )]
    auth: Option<WebhookAuth>,
}

/// Starts a workflow on an HTTP request (API Gateway REST or HTTP API, Lambda Function URL):
/// passes the request `{method, path, headers, query, body}` on, or only its body. The HTTP
/// trigger refuses requests whose method is not among `methods` (405) or whose credentials
/// `auth` does not accept (401, 403) before any execution starts; an item with another method
/// given to the node otherwise fails it.
#[node(kind = "core.webhook_trigger", nonblocking)]
async fn webhook_trigger(
    Params(params): Params<WebhookTriggerParams>,
    Item(request): Item<HttpRequest>,
) -> Result<Value, NodeError> {
    if !params.methods.accepts(&request.method) {
        return Err(NodeError::terminal(format!(
            "method `{}` is not allowed: `methods` allows {}",
            request.method, params.methods
        )));
    }
    match params.output {
        HttpTriggerOutput::Request => Ok(serde_json::to_value(request)?),
        HttpTriggerOutput::Body => Ok(request.body),
    }
}
