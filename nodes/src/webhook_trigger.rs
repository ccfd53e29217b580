//! `core.webhook_trigger`.

use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Parameters of `core.webhook_trigger`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WebhookParams {
    /// The HTTP methods the workflow accepts; a request with another method fails the execution
    /// (the caller gets a 500 naming the method). Empty (the default): any method.
    #[serde(default)]
    methods: Vec<Method>,
    /// What the trigger passes on: the whole request (`request`, the default) or only its body
    /// (`body`).
    #[serde(default)]
    output: Output,
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

/// What `core.webhook_trigger` passes on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Output {
    /// The whole request: `{method, path, headers, query, body}`.
    #[default]
    Request,
    /// The request's body only (parsed JSON, else text; `null` without a body).
    Body,
}

/// The HTTP request an HTTP trigger (API Gateway, Function URL) starts the execution with.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Request {
    /// The HTTP method, such as `POST`.
    method: String,
    /// The request path, such as `/workflows/orders`.
    #[serde(default)]
    path: String,
    /// The request headers, by lowercase name.
    #[serde(default)]
    headers: Map<String, Value>,
    /// The query string parameters.
    #[serde(default)]
    query: Map<String, Value>,
    /// The body: parsed JSON when it is JSON, else the text; `null` without a body.
    #[serde(default)]
    body: Value,
}

/// Starts a workflow on an HTTP request (API Gateway REST or HTTP API, Lambda Function URL):
/// passes the request `{method, path, headers, query, body}` on, or only its body. A request
/// whose method is not among `methods` fails the execution.
#[node(kind = "core.webhook_trigger")]
async fn webhook_trigger(
    Params(params): Params<WebhookParams>,
    Item(request): Item<Request>,
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
        Output::Request => Ok(serde_json::to_value(request)?),
        Output::Body => Ok(request.body),
    }
}
