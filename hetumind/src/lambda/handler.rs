//! The Lambda handler: direct requests, HTTP (API Gateway REST and HTTP APIs, Function URLs),
//! EventBridge schedules and events, and SQS batches.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::http::header::CONTENT_TYPE;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::engine::{Engine, EngineError};
use crate::model::{
    ExecuteWorkflow, ExecutionStatus, ItemData, NextAction, Request, Response, WebhookResponse,
};
use crate::store::ExecutionKeys;

/// Why an invocation failed; each maps to a stable `errorType`.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The event is not one this function understands, or is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The engine could not carry out the request.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl HandlerError {
    /// The stable name an orchestrator's Retry/Catch can match.
    #[must_use]
    pub const fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "Hetumind.InvalidRequest",
            Self::Engine(error) => error.error_type(),
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        Self {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The handler of a `lambda_main!()` function.
#[derive(Debug, Clone)]
pub struct Handler {
    engine: Engine,
    triggers: BTreeMap<String, String>,
}

impl Handler {
    /// A handler running workflows on `engine`; `triggers` maps trigger names (`http`,
    /// `schedule:RULE`, `schedule`, `event:SOURCE:DETAIL-TYPE`, `event:SOURCE`, `event`,
    /// `sqs:QUEUE`, `sqs`) to workflow ids.
    #[must_use]
    pub fn new(engine: Engine, triggers: BTreeMap<String, String>) -> Self {
        Self { engine, triggers }
    }

    /// Handles one event with the invocation's deadline (milliseconds since the epoch, as
    /// the Lambda context gives it; one in the past, as some emulators send, means none).
    ///
    /// # Errors
    ///
    /// When the event is invalid or the engine fails; a failed execution is a response.
    pub async fn handle(&self, event: Value, deadline_ms: u64) -> Result<Value, HandlerError> {
        let deadline = deadline_from_epoch_ms(deadline_ms);
        let Value::Object(fields) = &event else {
            return Err(HandlerError::InvalidRequest(
                "the event must be a JSON object".to_owned(),
            ));
        };
        if fields.contains_key("request_type") {
            let request = Request::from_json(event).map_err(|error| {
                HandlerError::InvalidRequest(format!("invalid request: {error}"))
            })?;
            let response = self.engine.handle(request, deadline).await?;
            return to_value(&response);
        }
        if fields.contains_key("requestContext") {
            // The two API Gateway payload versions (a Function URL sends version 2.0) carry
            // the same request under different names, and take responses of the same shape.
            macro_rules! serve {
                ($request:ty, $response:ty, $what:literal, |$r:ident| $method:expr, $path:expr) => {{
                    let $r: $request = parse(event, $what)?;
                    let http = HttpRequest {
                        method: $method,
                        path: $path,
                        headers: headers_json(&$r.headers),
                        query: $r
                            .query_string_parameters
                            .iter()
                            .map(|(key, value)| (key.to_owned(), Value::String(value.to_owned())))
                            .collect(),
                        path_parameters: $r.path_parameters,
                        body: $r.body,
                        base64: $r.is_base64_encoded,
                    };
                    let answer = self.http(http, deadline).await;
                    let mut response = <$response>::default();
                    response.status_code = answer.status;
                    response.headers = answer.headers;
                    response.body = answer.body.map(Body::Text);
                    to_value(&response)
                }};
            }
            return if fields.get("version").and_then(Value::as_str) == Some("2.0") {
                serve!(
                    ApiGatewayV2httpRequest,
                    ApiGatewayV2httpResponse,
                    "HTTP API / Function URL event",
                    |request| request.request_context.http.method.to_string(),
                    request.raw_path.clone().unwrap_or_default()
                )
            } else {
                serve!(
                    ApiGatewayProxyRequest,
                    ApiGatewayProxyResponse,
                    "API Gateway REST event",
                    |request| request.http_method.to_string(),
                    request.path.clone().unwrap_or_default()
                )
            };
        }
        if fields.contains_key("Records") {
            let batch: SqsEvent = parse(event, "SQS event")?;
            return self.sqs(batch, deadline).await;
        }
        if fields.contains_key("detail-type") {
            let event: EventBridgeEvent = parse(event, "EventBridge event")?;
            return self.eventbridge(event, deadline).await;
        }
        Err(HandlerError::InvalidRequest(
            "unrecognised event: expected a Hetumind request (with `request_type`), an API Gateway or Function URL event, an EventBridge event or an SQS event".to_owned(),
        ))
    }

    fn trigger(&self, names: &[String]) -> Option<&String> {
        names.iter().find_map(|name| self.triggers.get(name))
    }

    /// Starts the workflow an HTTP request names, with the request as the input item; answers
    /// with the response a `core.respond_to_webhook` node chose when one ran, else with the
    /// output items when the execution completes within the invocation, else 202.
    async fn http(&self, request: HttpRequest, deadline: Option<Instant>) -> HttpAnswer {
        let workflow_id = request
            .path_parameters
            .get("workflow_id")
            .cloned()
            .or_else(|| workflow_from_path(&request.path))
            .or_else(|| {
                request
                    .query
                    .get("workflow")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .or_else(|| self.trigger(&["http".to_owned()]).cloned());
        let Some(workflow_id) = workflow_id else {
            return HttpAnswer::json(
                400,
                &json!({ "error": "no workflow named: call /workflows/{id}, add ?workflow=ID, or map `http` in HETUMIND_TRIGGERS" }),
            );
        };
        let body = match decode_body(request.body.as_deref(), request.base64) {
            Ok(body) => body,
            Err(error) => return HttpAnswer::json(400, &json!({ "error": error })),
        };
        let item = json!({
            "method": request.method,
            "path": request.path,
            "headers": request.headers,
            "query": request.query,
            "body": body,
        });
        let response = match self
            .start(workflow_id, None, vec![item.into()], deadline)
            .await
        {
            Ok(response) => response,
            Err(error) => return HttpAnswer::error(&error),
        };
        match self.chosen_answer(&response.execution_id).await {
            Ok(Some(answer)) => return answer,
            Ok(None) => {}
            Err(error) => return HttpAnswer::error(&error),
        }
        match &response.next_action {
            NextAction::Complete => {
                let items: Vec<Value> = response
                    .output_data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|item| item.json)
                    .collect();
                HttpAnswer::json(200, &Value::Array(items))
            }
            NextAction::Failed { error } => HttpAnswer::json(
                500,
                &json!({ "execution_id": response.execution_id, "error": error }),
            ),
            _ => HttpAnswer::json(
                202,
                &json!({ "execution_id": response.execution_id, "status": response.status }),
            ),
        }
    }

    /// The response the execution's first `core.respond_to_webhook` node (in workflow order)
    /// that has run chose, whatever the execution did after it. A binary without that node
    /// reads nothing.
    async fn chosen_answer(&self, execution_id: &str) -> Result<Option<HttpAnswer>, EngineError> {
        if self
            .engine
            .registry()
            .latest(WebhookResponse::NODE_KIND)
            .is_none()
        {
            return Ok(None);
        }
        let workflow = self.engine.execution_workflow(execution_id).await?;
        let keys = ExecutionKeys::new(execution_id);
        let responders = workflow
            .nodes
            .iter()
            .filter(|node| node.kind == WebhookResponse::NODE_KIND);
        for node in responders {
            // The execution exists (its workflow was just read): no state read per responder.
            let Some(outputs) = self.engine.stored_output(&keys, &node.name).await? else {
                continue;
            };
            let Some(item) = outputs
                .into_iter()
                .next()
                .and_then(|main| main.into_iter().next())
            else {
                continue;
            };
            let answer = serde_json::from_value(item.json)
                .map_err(|error| error.to_string())
                .and_then(HttpAnswer::chosen)
                .unwrap_or_else(|error| {
                    HttpAnswer::json(
                        500,
                        &json!({ "error": format!("node `{}` chose no valid response: {error}", node.name) }),
                    )
                });
            return Ok(Some(answer));
        }
        Ok(None)
    }

    async fn eventbridge(
        &self,
        event: EventBridgeEvent,
        deadline: Option<Instant>,
    ) -> Result<Value, HandlerError> {
        let scheduled = event.source == "aws.events" && event.detail_type == "Scheduled Event";
        let names: Vec<String> = if scheduled {
            let rules = event.resources.iter().flatten().filter_map(|arn| {
                arn.rsplit_once("rule/")
                    .map(|(_, rule)| format!("schedule:{rule}"))
            });
            rules.chain(["schedule".to_owned()]).collect()
        } else {
            vec![
                format!("event:{}:{}", event.source, event.detail_type),
                format!("event:{}", event.source),
                "event".to_owned(),
            ]
        };
        let named_in_detail = event
            .detail
            .get("workflow_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let workflow_id = named_in_detail
            .or_else(|| self.trigger(&names).cloned())
            .ok_or_else(|| {
                HandlerError::InvalidRequest(format!(
                    "no workflow for this event: map one of {} in HETUMIND_TRIGGERS, or set `detail.workflow_id`",
                    names.join(", ")
                ))
            })?;
        let execution_id = event.id.clone();
        let item = serde_json::to_value(&event)
            .map_err(|error| HandlerError::InvalidRequest(error.to_string()))?;
        let response = self
            .start(workflow_id, execution_id, vec![item.into()], deadline)
            .await?;
        to_value(&response)
    }

    /// Starts one execution per message, named after the message (so a redelivered message
    /// does not start a second one); failed messages are reported for redelivery.
    async fn sqs(&self, batch: SqsEvent, deadline: Option<Instant>) -> Result<Value, HandlerError> {
        let mut failures = Vec::new();
        for message in batch.records {
            let id = message.message_id.clone().unwrap_or_default();
            let queue = message
                .event_source_arn
                .as_deref()
                .and_then(|arn| arn.rsplit(':').next())
                .unwrap_or_default();
            let body = message.body.as_deref().map_or(Value::Null, |body| {
                serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
            });
            let workflow_id = body
                .get("workflow_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    self.trigger(&[format!("sqs:{queue}"), "sqs".to_owned()])
                        .cloned()
                });
            let outcome = match workflow_id {
                None => Err(format!("message {id}: no workflow for queue `{queue}`")),
                Some(workflow_id) => {
                    match self
                        .start(workflow_id, Some(id.clone()), vec![body.into()], deadline)
                        .await
                    {
                        Ok(response) if response.status == ExecutionStatus::Failed => Err(format!(
                            "message {id}: execution failed: {:?}",
                            response.error
                        )),
                        Ok(_) => Ok(()),
                        // A redelivered message whose execution already exists is done.
                        Err(EngineError::StateConflict(message))
                            if message.contains("already exists") =>
                        {
                            Ok(())
                        }
                        Err(error) => Err(format!("message {id}: {error}")),
                    }
                }
            };
            if let Err(error) = outcome {
                tracing::warn!("{error}");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failures.push(failure);
            }
        }
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failures;
        to_value(&response)
    }

    /// Starts an execution; when the trigger names it (an event id, a message id) and it was
    /// started before (a redelivery: EventBridge and SQS deliver at least once), continues it
    /// instead, so one event never starts two executions.
    async fn start(
        &self,
        workflow_id: String,
        execution_id: Option<String>,
        input: Vec<ItemData>,
        deadline: Option<Instant>,
    ) -> Result<Response, EngineError> {
        let request = Request::ExecuteWorkflow(ExecuteWorkflow {
            workflow_id: Some(workflow_id),
            workflow: None,
            execution_id,
            input_data: Some(input),
            metadata: Map::new(),
        });
        match self.engine.handle(request, deadline).await {
            Err(EngineError::ExecutionExists { execution_id, .. }) => {
                self.engine
                    .handle(Request::resume(execution_id), deadline)
                    .await
            }
            other => other,
        }
    }
}

/// What an HTTP request is answered with, whichever API it came through.
struct HttpAnswer {
    status: i64,
    headers: HeaderMap,
    body: Option<String>,
}

impl HttpAnswer {
    /// `body` as JSON.
    fn json(status: i64, body: &Value) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Self {
            status,
            headers,
            body: Some(body.to_string()),
        }
    }

    /// The answer to a request the engine could not carry out.
    fn error(error: &EngineError) -> Self {
        let status = match error {
            EngineError::WorkflowNotFound(_) => 404,
            EngineError::InvalidRequest(_) | EngineError::WorkflowInvalid(_) => 400,
            EngineError::StateConflict(_) => 409,
            EngineError::StoreUnavailable(_) => 503,
            _ => 500,
        };
        Self::json(
            status,
            &json!({ "error": error.to_string(), "error_type": error.error_type() }),
        )
    }

    /// The answer a workflow chose; an error names what cannot be sent.
    fn chosen(response: WebhookResponse) -> Result<Self, String> {
        let mut headers = response.http_headers()?;
        let body = match response.body {
            Value::Null => None,
            Value::String(text) if !is_json(&headers) => Some(text),
            json => Some(json.to_string()),
        };
        if body.is_some() && !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(Self {
            status: i64::from(response.status_code),
            headers,
            body,
        })
    }
}

/// Whether `headers` leave the body's type JSON: no `content-type`, or a JSON one.
fn is_json(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_TYPE).is_none_or(|value| {
        value
            .to_str()
            .is_ok_and(|value| value.to_ascii_lowercase().contains("json"))
    })
}

/// An HTTP request, whichever API it came through.
struct HttpRequest {
    method: String,
    path: String,
    path_parameters: std::collections::HashMap<String, String>,
    headers: Map<String, Value>,
    query: Map<String, Value>,
    body: Option<String>,
    base64: bool,
}

/// `orders` from `/workflows/orders` (after any stage prefix).
fn workflow_from_path(path: &str) -> Option<String> {
    let mut segments = path.split('/').filter(|segment| !segment.is_empty());
    segments.find(|segment| *segment == "workflows")?;
    segments.next().map(str::to_owned)
}

fn decode_body(body: Option<&str>, base64: bool) -> Result<Value, String> {
    let Some(body) = body else {
        return Ok(Value::Null);
    };
    let text = if base64 {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|error| format!("the body is not valid base64: {error}"))?;
        String::from_utf8(bytes).map_err(|_| "the body is not UTF-8 text".to_owned())?
    } else {
        body.to_owned()
    };
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn headers_json(headers: &HeaderMap) -> Map<String, Value> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|value| (name.as_str().to_owned(), Value::String(value.to_owned())))
        })
        .collect()
}

/// The deadline as an instant; `None` when it is unset or already past.
fn deadline_from_epoch_ms(deadline_ms: u64) -> Option<Instant> {
    let now_ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    deadline_ms
        .checked_sub(now_ms)
        .filter(|left| *left > 0)
        .map(|left| Instant::now() + Duration::from_millis(left))
}

/// Deserializes an event; the error names `what` and the JSON path of the problem.
fn parse<T: DeserializeOwned>(event: Value, what: &str) -> Result<T, HandlerError> {
    crate::json_path::deserialize(event)
        .map_err(|problem| HandlerError::InvalidRequest(format!("invalid {what}: {problem}")))
}

fn to_value(value: &impl serde::Serialize) -> Result<Value, HandlerError> {
    serde_json::to_value(value).map_err(|error| HandlerError::InvalidRequest(error.to_string()))
}
