//! `core.webhook_trigger`.

use hetumind::model::{HttpRequest, HttpTriggerOutput};
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

/// The parameters of `core.webhook_trigger`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WebhookTriggerParams {
    /// The HTTP methods the workflow accepts; a request with another method fails the execution
    /// (the caller gets a 500 naming the method). Empty (the default): any method.
    #[serde(default)]
    methods: Vec<Method>,
    /// What the trigger passes on: the whole request (`request`, the default) or only its body
    /// (`body`).
    #[serde(default)]
    output: HttpTriggerOutput,
}

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum Method {
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

impl Method {
    fn as_str(self) -> &'static str {
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

/// Starts a workflow on an HTTP request (API Gateway REST or HTTP API, Lambda Function URL):
/// passes the request `{method, path, headers, query, body}` on, or only its body. A request
/// whose method is not among `methods` fails the execution.
#[node(kind = "core.webhook_trigger", nonblocking)]
async fn webhook_trigger(
    Params(params): Params<WebhookTriggerParams>,
    Item(request): Item<HttpRequest>,
) -> Result<Value, NodeError> {
    if !params.methods.is_empty()
        && !params
            .methods
            .iter()
            .any(|method| method.as_str().eq_ignore_ascii_case(&request.method))
    {
        let allowed: Vec<&str> = params
            .methods
            .iter()
            .map(|method| method.as_str())
            .collect();
        return Err(NodeError::terminal(format!(
            "method `{}` is not allowed: `methods` allows {}",
            request.method,
            allowed.join(", ")
        )));
    }
    match params.output {
        HttpTriggerOutput::Request => Ok(serde_json::to_value(request)?),
        HttpTriggerOutput::Body => Ok(request.body),
    }
}
