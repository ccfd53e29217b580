//! `core.respond_to_webhook`.

use std::collections::BTreeMap;

use hetumind::model::WebhookResponse;
use hetumind::prelude::*;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::support::params::schema_of_params;

/// The parameters of `core.respond_to_webhook`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RespondToWebhookParams {
    /// The HTTP status code, 100 to 599; 200 by default.
    #[serde(default = "ok")]
    status_code: u16,
    /// Response headers, by name, such as `{ "location": "/orders/7" }`. `content-type` is
    /// `application/json` unless set here.
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// The body: `items` (the default: the data of every input item, as a JSON array),
    /// `first_item` (the data of the first item), `empty` (no body), or `{ "json": VALUE }`
    /// (that value). A string body is sent as it is under a `content-type` that is not JSON.
    #[serde(default)]
    body: Body,
}

fn ok() -> u16 {
    200
}

/// What `core.respond_to_webhook` sends as the body.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Body {
    /// The data of every input item, as a JSON array.
    #[default]
    Items,
    /// The data of the first input item.
    FirstItem,
    /// No body.
    Empty,
    /// This value.
    Json(Value),
}

/// The parameters of `core.respond_to_webhook`, checked: a status code HTTP has and headers it
/// can carry.
#[derive(Debug, Deserialize)]
#[serde(try_from = "RespondToWebhookParams")]
struct RespondToWebhookSpec {
    /// The status code and headers, with no body yet.
    response: WebhookResponse,
    body: Body,
}

schema_of_params!(RespondToWebhookSpec => RespondToWebhookParams);

impl TryFrom<RespondToWebhookParams> for RespondToWebhookSpec {
    type Error = String;

    fn try_from(params: RespondToWebhookParams) -> Result<Self, String> {
        let response = WebhookResponse {
            status_code: params.status_code,
            headers: params.headers,
            body: Value::Null,
        };
        response.check()?;
        Ok(Self {
            response,
            body: params.body,
        })
    }
}

/// Chooses the HTTP response to the request that started the workflow (API Gateway, a Lambda
/// Function URL): its status code, headers and body. The request is answered with the first
/// response a workflow chooses, even when the execution goes on (its answer would otherwise be
/// a 202) or fails after it. The node outputs the response as one item
/// `{status_code, headers, body}`; a workflow started any other way just has that item.
#[node(kind = "core.respond_to_webhook", nonblocking, role = "http_response")]
async fn respond_to_webhook(
    Params(params): Params<RespondToWebhookSpec>,
    Items(items): Items<Value>,
) -> Result<WebhookResponse, NodeError> {
    let body = match params.body {
        Body::Items => Value::Array(items),
        Body::FirstItem => items.into_iter().next().unwrap_or(Value::Null),
        Body::Empty => Value::Null,
        Body::Json(value) => value,
    };
    Ok(WebhookResponse {
        body,
        ..params.response
    })
}
