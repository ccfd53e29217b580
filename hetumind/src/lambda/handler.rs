//! The Lambda handler: direct requests, HTTP (API Gateway REST and HTTP APIs, Function URLs),
//! EventBridge schedules and events, and SQS batches.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::http::header::{ALLOW, CONTENT_TYPE};
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::hand_off::{HandedOff, StateMachine};
use crate::NodeRole;
use crate::config::{STATE_MACHINE_VAR, Triggers};
use crate::engine::{Drive, Engine, EngineError};
use crate::limits::json_len;
use crate::model::{
    AuthFailure, ExecuteWorkflow, ExecutionStatus, HttpRequest, HttpTriggerChecks,
    HttpTriggerOutput, ItemData, NextAction, Request, Response, ResumeExecution, WebhookAuth,
    WebhookResponse, Workflow,
};
use crate::store::ExecutionKeys;

/// The largest response a synchronous Lambda invocation returns (6 MB), which API Gateway and
/// Function URLs then pass on: the whole response object, its body escaped as a JSON string.
pub const MAX_HTTP_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

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
    triggers: Triggers,
    state_machine: Option<Arc<StateMachine>>,
    secret_env: SecretEnv,
}

/// Where the HTTP trigger reads the environment variables that `auth` secrets name: the
/// process environment, unless a test or an embedding program says otherwise.
#[derive(Clone)]
struct SecretEnv(Option<Arc<VarFn>>);

/// Reads an environment variable by name.
type VarFn = dyn Fn(&str) -> Option<String> + Send + Sync;

impl SecretEnv {
    fn var(&self, name: &str) -> Option<String> {
        match &self.0 {
            Some(var) => var(name),
            None => std::env::var(name).ok(),
        }
    }
}

impl std::fmt::Debug for SecretEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "SecretEnv(custom)"
        } else {
            "SecretEnv(process)"
        })
    }
}

impl Handler {
    /// A handler running workflows on `engine`, routing triggers and redacting headers as
    /// `triggers` says (see [`Config`](super::Config)).
    #[must_use]
    pub fn new(engine: Engine, triggers: Triggers) -> Self {
        Self {
            engine,
            triggers,
            state_machine: None,
            secret_env: SecretEnv(None),
        }
    }

    /// This handler, reading the environment variables that HTTP triggers' `auth` secrets
    /// name (`{"env": "NAME"}`, see [`WebhookAuth`]) with `var` instead of from the process
    /// environment: for tests, and programs that embed the handler.
    #[must_use]
    pub fn with_secret_env(
        mut self,
        var: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.secret_env = SecretEnv(Some(Arc::new(var)));
        self
    }

    /// This handler, handing the executions that triggers start and that do not finish within
    /// their invocation to `state_machine` (see [`StateMachine`]), and the error workflows and
    /// the sub-workflows started without waiting that executions start.
    #[must_use]
    pub fn with_state_machine(mut self, state_machine: StateMachine) -> Self {
        let state_machine = Arc::new(state_machine);
        // The sub-workflows nodes start without waiting for them go there too.
        self.engine = self
            .engine
            .with_launcher(Arc::clone(&state_machine) as Arc<dyn crate::engine::Launcher>);
        self.state_machine = Some(state_machine);
        self
    }

    /// What becomes of an execution a trigger started, once its invocation ends: nothing when
    /// it finished; else the state machine drives it on, or, without one, it waits for a
    /// driver (logged, so that an operator can `resume` it).
    async fn hand_off(&self, response: &Response) -> Driver {
        match response.next_action {
            NextAction::Complete => Driver::Finished,
            NextAction::Failed { .. } => match self.hand_off_error_workflow(response).await {
                failed @ Driver::Failed(_) => failed,
                _ => Driver::Finished,
            },
            _ => self.hand_off_execution(&response.execution_id).await,
        }
    }

    /// The drive of a trigger's execution within its invocation: until `deadline`, leaving
    /// the error workflow a failure starts to the state machine when there is one.
    fn drive(&self, deadline: Option<Instant>) -> Drive {
        let drive = Drive::until(deadline);
        if self.state_machine.is_some() {
            drive.leaving_error_workflow()
        } else {
            drive
        }
    }

    /// Hands the error workflow a failed execution started to the state machine, if there is
    /// one: without one, the trigger's own drive ran it.
    async fn hand_off_error_workflow(&self, response: &Response) -> Driver {
        match error_execution(response) {
            Some(execution_id) if self.state_machine.is_some() => {
                self.hand_off_execution(execution_id).await
            }
            _ => Driver::Finished,
        }
    }

    /// Hands execution `execution_id` to the state machine (see [`hand_off`](Self::hand_off)).
    async fn hand_off_execution(&self, execution_id: &str) -> Driver {
        let Some(state_machine) = &self.state_machine else {
            tracing::warn!(
                execution_id,
                "the execution waits for a driver: no state machine is configured ({STATE_MACHINE_VAR}); continue it with `resume {execution_id}`"
            );
            return Driver::Waiting;
        };
        match state_machine.start(execution_id).await {
            Ok(started) => {
                tracing::info!(
                    execution_id,
                    state_machine = state_machine.arn(),
                    again = started == HandedOff::AlreadyStarted,
                    "the state machine drives the execution on"
                );
                Driver::StateMachine(state_machine.arn().to_owned())
            }
            Err(error) => {
                tracing::error!(execution_id, "{error}");
                Driver::Failed(error)
            }
        }
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
            self.complete_task_tokens(&response).await;
            // The error workflow a failure started goes to the state machine (without one, it
            // waits for a driver, logged). A failed hand-off fails the invocation: the
            // orchestrator retries it, and the failed execution's answer names it again.
            if let Some(execution_id) = error_execution(&response)
                && let Driver::Failed(error) = self.hand_off_execution(execution_id).await
            {
                return Err(HandlerError::Engine(EngineError::StoreUnavailable(error)));
            }
            return to_value(&response);
        }
        if fields.contains_key("requestContext") {
            // The two API Gateway payload versions (a Function URL sends version 2.0) carry
            // the same request under different names, and take responses of the same shape.
            macro_rules! serve {
                ($request:ty, $response:ty, $what:literal, |$r:ident| $method:expr, $path:expr) => {{
                    let $r: $request = parse(event, $what)?;
                    let http = IncomingHttp {
                        method: $method,
                        path: $path,
                        headers: self.headers_json(&$r.headers),
                        raw_headers: $r.headers,
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
                    let response = |answer: HttpAnswer| {
                        let mut response = <$response>::default();
                        response.status_code = answer.status;
                        response.headers = answer.headers;
                        response.body = answer.body.map(Body::Text);
                        to_value(&response)
                    };
                    let execution_id = answer.execution_id.clone();
                    let value = response(answer)?;
                    match json_len(&value) {
                        bytes if bytes > MAX_HTTP_RESPONSE_BYTES => {
                            response(HttpAnswer::too_large(bytes, execution_id.as_deref()))
                        }
                        _ => Ok(value),
                    }
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

    /// The workflow a trigger starts: the one a caller `named` when
    /// `HETUMIND_CALLER_WORKFLOWS` allows it, else the one `HETUMIND_TRIGGERS` maps the first
    /// of `names` to (a caller's other choice is ignored then), else none.
    fn workflow_for(&self, named: Option<String>, names: &[String]) -> Result<String, Unrouted> {
        if let Some(named) = named.as_ref()
            && self.triggers.caller_workflows.allows(named)
        {
            return Ok(named.clone());
        }
        if let Some(mapped) = names
            .iter()
            .find_map(|name| self.triggers.workflows.get(name))
        {
            if let Some(named) = named.filter(|named| named != mapped) {
                tracing::warn!(
                    "ignoring workflow `{named}` named by the caller (not in HETUMIND_CALLER_WORKFLOWS): starting `{mapped}`, mapped by HETUMIND_TRIGGERS"
                );
            }
            return Ok(mapped.clone());
        }
        let names = names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ");
        Err(match named {
            Some(named) => Unrouted::NotAllowed { named, names },
            None => Unrouted::Unmapped { names },
        })
    }

    /// The request's headers by lowercase name, the sensitive ones redacted.
    fn headers_json(&self, headers: &HeaderMap) -> Map<String, Value> {
        headers
            .iter()
            .filter_map(|(name, value)| {
                let value = if self.triggers.redacted_headers.contains(name.as_str()) {
                    Triggers::REDACTED
                } else {
                    value.to_str().ok()?
                };
                Some((name.as_str().to_owned(), Value::String(value.to_owned())))
            })
            .collect()
    }

    /// Starts the workflow an HTTP request names, with the request as the input item; answers
    /// with the response a node of role `http_response` chose when one ran, else with the
    /// output items when the execution completes within the invocation, else 202.
    async fn http(&self, request: IncomingHttp, deadline: Option<Instant>) -> HttpAnswer {
        // Measured as received (base64 text is longer than what it decodes to), before
        // anything else is read or decoded.
        let received = request.body.as_ref().map_or(0, String::len);
        if let Err(problem) = self.engine.options().limits.check_body(received) {
            tracing::warn!("HTTP request refused (413): {problem}");
            return HttpAnswer::json(
                413,
                &json!({ "error": problem, "error_type": "Hetumind.TooLarge" }),
            );
        }
        if is_resume_path(&request.path) {
            return self.http_resume(request, deadline).await;
        }
        let named = request
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
            });
        let workflow_id = match self.workflow_for(named, &["http".to_owned()]) {
            Ok(workflow_id) => workflow_id,
            Err(unrouted) => return HttpAnswer::unrouted(&unrouted),
        };
        // Read here rather than by the engine, to check the request against the workflow's
        // trigger, and to store no more of it than the trigger passes on.
        let workflow = match self.engine.stored_workflow(&workflow_id).await {
            Ok(workflow) => workflow,
            Err(error) => return HttpAnswer::error(&error, None),
        };
        // Refused here, before any execution starts or anything is stored.
        let checks = match trigger_checks(&workflow) {
            Ok(checks) => checks,
            Err(problem) => return HttpAnswer::misconfigured(&workflow_id, &problem),
        };
        if let Some(refusing) = checks
            .iter()
            .find(|checks| !checks.methods.accepts(&request.method))
        {
            return HttpAnswer::method_not_allowed(&request.method, refusing);
        }
        let raw_body = match raw_body(request.body, request.base64) {
            Ok(raw_body) => raw_body,
            Err(error) => return HttpAnswer::json(400, &json!({ "error": error })),
        };
        let now = chrono::Utc::now().timestamp();
        let var = |name: &str| self.secret_env.var(name);
        for trigger in &checks {
            let checked = trigger.authenticate(
                &request.raw_headers,
                raw_body.as_deref().unwrap_or_default(),
                now,
                &var,
            );
            if let Err(failure) = checked {
                return HttpAnswer::refused(&workflow_id, failure);
            }
        }
        let body = match body_value(raw_body) {
            Ok(body) => body,
            Err(error) => return HttpAnswer::json(400, &json!({ "error": error })),
        };
        let mut item = HttpRequest {
            method: request.method,
            path: request.path,
            headers: request.headers,
            query: request.query,
            body,
        };
        // An API key is a secret whatever HETUMIND_REDACT_HEADERS lists.
        for trigger in &checks {
            if let Some(WebhookAuth::ApiKey(api_key)) = &trigger.auth
                && let Some(value) = item.headers.get_mut(&api_key.header)
            {
                *value = Value::String(Triggers::REDACTED.to_owned());
            }
        }
        if passes_on_body_only(&workflow) {
            item.headers.clear();
            item.query.clear();
        }
        let item = match serde_json::to_value(item) {
            Ok(item) => item,
            Err(error) => return HttpAnswer::json(500, &json!({ "error": error.to_string() })),
        };
        let responders: Vec<String> = workflow
            .nodes
            .iter()
            .filter(|node| {
                self.engine
                    .registry()
                    .resolve(&node.kind, node.version)
                    .is_some_and(|registration| registration.role == NodeRole::HttpResponse)
            })
            .map(|node| node.name.clone())
            .collect();
        // Named here, so that every answer, errors included, can carry it.
        let execution_id = uuid::Uuid::now_v7().to_string();
        let start = execute(
            None,
            Some(workflow),
            execution_id.clone(),
            vec![item.into()],
            "http",
        );
        let response = match self.engine.drive(start, &self.drive(deadline)).await {
            Ok(driven) => driven.response,
            Err(error) => return HttpAnswer::error(&error, Some(&execution_id)),
        };
        match self.chosen_answer(&execution_id, &responders).await {
            Ok(Some(answer)) => return answer.of(&execution_id),
            Ok(None) => {}
            Err(error) => return HttpAnswer::error(&error, Some(&execution_id)),
        }
        match &response.next_action {
            NextAction::Complete => {
                let items = match response.output_data {
                    Some(items) => items,
                    // Too big to inline in the engine's response (see `output_ref`), not
                    // necessarily in an HTTP one: the limit is checked on the whole answer.
                    None => match self.engine.final_output(&execution_id).await {
                        Ok(items) => items,
                        Err(error) => return HttpAnswer::error(&error, Some(&execution_id)),
                    },
                };
                let items = items.into_iter().map(|item| item.json).collect();
                HttpAnswer::json(200, &Value::Array(items)).of(&execution_id)
            }
            NextAction::Failed { error } => {
                // Logged when it fails: the caller cannot send the request again for it.
                self.hand_off(&response).await;
                HttpAnswer::json(
                    500,
                    &json!({ "execution_id": response.execution_id, "error": error }),
                )
                .of(&execution_id)
            }
            _ => {
                let mut body =
                    json!({ "execution_id": response.execution_id, "status": response.status });
                say_driver(&mut body, self.hand_off(&response).await, &execution_id);
                HttpAnswer::json(202, &body).of(&execution_id)
            }
        }
    }

    /// Delivers a signal through a resume address (see [`crate::resume`]): checks its token,
    /// then resumes the node it names with the request's items (its JSON body: an object is one
    /// item, an array one item per element; without a body, one item of the query parameters
    /// besides the address's own), as far as the invocation goes. Answers 200 with where the
    /// execution stands; 403 for a token that is not the node's; 400 when the node does not
    /// wait.
    async fn http_resume(&self, request: IncomingHttp, deadline: Option<Instant>) -> HttpAnswer {
        if !matches!(request.method.as_str(), "GET" | "POST") {
            let mut answer = HttpAnswer::json(
                405,
                &json!({
                    "error": format!("method `{}` is not allowed: a resume address accepts GET and POST", request.method),
                    "error_type": "Hetumind.MethodNotAllowed",
                }),
            );
            answer
                .headers
                .insert(ALLOW, HeaderValue::from_static("GET, POST"));
            return answer;
        }
        let mut query = request.query;
        let mut take = |name: &str| match query.remove(name) {
            Some(Value::String(value)) if !value.is_empty() => Ok(value),
            _ => Err(name.to_owned()),
        };
        let (execution_id, node, token) = match (take("execution_id"), take("node"), take("token"))
        {
            (Ok(execution_id), Ok(node), Ok(token)) => (execution_id, node, token),
            (Err(missing), ..) | (_, Err(missing), _) | (.., Err(missing)) => {
                return HttpAnswer::json(
                    400,
                    &json!({
                        "error": format!("a resume address needs the query parameter `{missing}`"),
                        "error_type": "Hetumind.InvalidRequest",
                    }),
                );
            }
        };
        match self
            .engine
            .verify_resume_token(&execution_id, &node, &token)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    execution_id,
                    node,
                    "resume refused (403): the token is not the node's"
                );
                return HttpAnswer::json(
                    403,
                    &json!({
                        "error": format!("this is not a resume address of node `{node}` of execution `{execution_id}`: the token does not match"),
                        "error_type": "Hetumind.Forbidden",
                    }),
                );
            }
            Err(error) => return HttpAnswer::error(&error, Some(&execution_id)),
        }
        let items = match raw_body(request.body, request.base64).and_then(body_value) {
            Ok(Value::Null) => vec![ItemData::new(Value::Object(query))],
            Ok(Value::Array(values)) => values.into_iter().map(ItemData::new).collect(),
            Ok(value) => vec![ItemData::new(value)],
            Err(error) => return HttpAnswer::json(400, &json!({ "error": error })),
        };
        let signal = Request::ResumeExecution(ResumeExecution {
            execution_id: execution_id.clone(),
            node_name: Some(node),
            input_data: Some(items),
            task_token: None,
            metadata: Map::new(),
        });
        // A node that does not wait (any more: the signal came twice, or too late) is a 400
        // naming it.
        let response = match self.engine.handle(signal, deadline).await {
            Ok(response) => response,
            Err(error) => return HttpAnswer::error(&error, Some(&execution_id)),
        };
        let mut body = json!({ "execution_id": response.execution_id, "status": response.status });
        // A state machine run paused until this signal drives the execution on; else one is
        // started for it, as for a trigger's execution.
        let driven = self.complete_task_tokens(&response).await;
        if response.status == ExecutionStatus::Failed {
            // Logged when it fails, as for a trigger's execution.
            self.hand_off(&response).await;
        } else if !driven && !response.status.is_finished() {
            say_driver(&mut body, self.hand_off(&response).await, &execution_id);
        }
        HttpAnswer::json(200, &body).of(&execution_id)
    }

    /// Completes the task tokens `response` hands back (see [`Response::task_tokens`]) with
    /// it, through the state machine; answers whether there were any to complete.
    async fn complete_task_tokens(&self, response: &Response) -> bool {
        if response.task_tokens.is_empty() {
            return false;
        }
        let execution_id = &response.execution_id;
        let Some(state_machine) = &self.state_machine else {
            tracing::error!(
                execution_id,
                "a state machine run paused until a signal cannot be completed: no state machine is configured ({STATE_MACHINE_VAR})"
            );
            return false;
        };
        let problems = state_machine.complete_all(response).await;
        if problems.is_empty() {
            tracing::info!(
                execution_id,
                "a state machine run paused until a signal goes on"
            );
        }
        for problem in problems {
            tracing::error!(execution_id, "{problem}");
        }
        true
    }

    /// The response the first of the execution's `responders` (its nodes of role `http_response`
    /// nodes, in workflow order) that has run chose, whatever the execution did after it.
    async fn chosen_answer(
        &self,
        execution_id: &str,
        responders: &[String],
    ) -> Result<Option<HttpAnswer>, EngineError> {
        let keys = ExecutionKeys::new(execution_id);
        for node in responders {
            // The execution exists (it was just started): no state read per responder.
            let Some(outputs) = self.engine.stored_output(&keys, node).await? else {
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
                        &json!({ "error": format!("node `{node}` chose no valid response: {error}") }),
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
        let trigger = if scheduled { "schedule" } else { "event" };
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
        let named = event
            .detail
            .get("workflow_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let workflow_id = self
            .workflow_for(named, &names)
            .map_err(|unrouted| HandlerError::InvalidRequest(unrouted.to_string()))?;
        let execution_id = event.id.clone();
        let item = serde_json::to_value(&event)
            .map_err(|error| HandlerError::InvalidRequest(error.to_string()))?;
        let input = vec![item.into()];
        let response = match execution_id {
            Some(execution_id) => {
                self.start_or_continue(workflow_id, execution_id, input, trigger, deadline)
                    .await?
            }
            None => {
                let execution_id = uuid::Uuid::now_v7().to_string();
                let start = execute(Some(workflow_id), None, execution_id, input, trigger);
                self.engine
                    .drive(start, &self.drive(deadline))
                    .await?
                    .response
            }
        };
        // A failed hand-off fails the invocation: the event is delivered again, and the
        // execution goes on (and is handed off) then.
        if let Driver::Failed(error) = self.hand_off(&response).await {
            return Err(HandlerError::Engine(EngineError::StoreUnavailable(error)));
        }
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
            let named = body
                .get("workflow_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let names = [format!("sqs:{queue}"), "sqs".to_owned()];
            let outcome = match self.workflow_for(named, &names) {
                Err(unrouted) => Err(format!("message {id}: {unrouted}")),
                Ok(workflow_id) => {
                    match self
                        .start_or_continue(
                            workflow_id,
                            id.clone(),
                            vec![body.into()],
                            "sqs",
                            deadline,
                        )
                        .await
                    {
                        Ok(response) if response.status == ExecutionStatus::Failed => {
                            self.hand_off(&response).await;
                            Err(format!(
                                "message {id}: execution failed: {:?}",
                                response.error
                            ))
                        }
                        Ok(response) => match self.hand_off(&response).await {
                            Driver::Failed(error) => Err(format!("message {id}: {error}")),
                            _ => Ok(()),
                        },
                        // Redelivered while the state machine it was handed to drives it.
                        Err(EngineError::StateConflict(_)) if self.state_machine.is_some() => {
                            match self.hand_off_execution(&id).await {
                                Driver::Failed(error) => Err(format!("message {id}: {error}")),
                                _ => Ok(()),
                            }
                        }
                        // A live lease elsewhere (`StateConflict`) included: the message comes
                        // back once the other invocation is done or gone.
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

    /// Runs the execution a trigger names (an event id, a message id): continues it when it
    /// exists, with the definition it started with (EventBridge and SQS deliver at least once,
    /// and the stored workflow may have changed since the first delivery), else starts it.
    /// Resuming first costs a read that misses on a first delivery, and never mistakes a
    /// redelivery for a conflict whatever the engine answers a repeated start with. Then it
    /// drives the execution on until the deadline.
    async fn start_or_continue(
        &self,
        workflow_id: String,
        execution_id: String,
        input: Vec<ItemData>,
        trigger: &str,
        deadline: Option<Instant>,
    ) -> Result<Response, EngineError> {
        let first = self
            .first_invocation(workflow_id, execution_id, input, trigger, deadline)
            .await?;
        let driven = self.engine.drive_on(first, &self.drive(deadline)).await?;
        Ok(driven.response)
    }

    /// The first invocation of [`start_or_continue`](Self::start_or_continue).
    async fn first_invocation(
        &self,
        workflow_id: String,
        execution_id: String,
        input: Vec<ItemData>,
        trigger: &str,
        deadline: Option<Instant>,
    ) -> Result<Response, EngineError> {
        let resume = || Request::resume(execution_id.clone());
        match self.engine.handle(resume(), deadline).await {
            Err(EngineError::ExecutionNotFound(_)) => {}
            other => return other,
        }
        let start = execute(
            Some(workflow_id),
            None,
            execution_id.clone(),
            input.clone(),
            trigger,
        );
        match self.engine.handle(start, deadline).await {
            // Another delivery started it in between, or an earlier one stopped after writing
            // the execution's definition.
            Err(EngineError::ExecutionExists { .. } | EngineError::StateConflict(_)) => {}
            other => return other,
        }
        match self.engine.handle(resume(), deadline).await {
            // An earlier start stopped before writing the state: start again with the
            // definition it wrote.
            Err(EngineError::ExecutionNotFound(_)) => {
                let workflow = self.engine.execution_workflow(&execution_id).await?;
                let start = execute(None, Some(workflow), execution_id, input, trigger);
                self.engine.handle(start, deadline).await
            }
            other => other,
        }
    }
}

/// The execution of the error workflow a failed execution started, if any.
fn error_execution(response: &Response) -> Option<&str> {
    response
        .error_workflow
        .as_ref()
        .and_then(|started| started.execution_id.as_deref())
}

/// Who drives an execution that a trigger started on, once the trigger's invocation ends.
#[derive(Debug)]
enum Driver {
    /// Nobody needs to: it finished.
    Finished,
    /// The state machine of this ARN.
    StateMachine(String),
    /// Nobody yet: no state machine is configured.
    Waiting,
    /// Starting the state machine failed, for this reason.
    Failed(String),
}

/// An `execute_workflow` request: the stored workflow `workflow_id`, or `workflow` inline,
/// started by `trigger`.
fn execute(
    workflow_id: Option<String>,
    workflow: Option<Workflow>,
    execution_id: String,
    input: Vec<ItemData>,
    trigger: &str,
) -> Request {
    Request::ExecuteWorkflow(ExecuteWorkflow {
        workflow_id,
        workflow: workflow.map(Box::new),
        execution_id: Some(execution_id),
        input_data: Some(input),
        trigger: Some(trigger.to_owned()),
        metadata: Map::new(),
    })
}

/// Whether every start node (those receiving the request) is an HTTP trigger passing the body
/// on only: then no node can read the headers or the query, and they are not stored.
fn passes_on_body_only(workflow: &Workflow) -> bool {
    let targets: HashSet<&str> = workflow
        .connections
        .values()
        .flat_map(|ports| ports.values().flatten().flatten())
        .map(|connection| connection.node.as_str())
        .collect();
    let mut starts = workflow
        .nodes
        .iter()
        .filter(|node| !targets.contains(node.name.as_str()))
        .peekable();
    starts.peek().is_some()
        && starts.all(|node| {
            node.kind == HttpRequest::TRIGGER_KIND
                && HttpTriggerOutput::of(&node.parameters) == HttpTriggerOutput::Body
        })
}

/// What the workflow's HTTP trigger nodes (of kind [`HttpRequest::TRIGGER_KIND`]) require of a
/// request: a request must satisfy every one of them (a workflow without one accepts any).
fn trigger_checks(workflow: &Workflow) -> Result<Vec<HttpTriggerChecks>, String> {
    workflow
        .nodes
        .iter()
        .filter(|node| node.kind == HttpRequest::TRIGGER_KIND)
        .map(|node| HttpTriggerChecks::of(&node.name, &node.parameters))
        .collect()
}

/// Why a trigger starts no workflow.
#[derive(Debug, thiserror::Error)]
enum Unrouted {
    /// The caller named a workflow it may not choose, and the trigger is not mapped.
    #[error(
        "a caller may not choose workflow `{named}`: list it in HETUMIND_CALLER_WORKFLOWS, or map one of {names} in HETUMIND_TRIGGERS"
    )]
    NotAllowed { named: String, names: String },
    /// Nothing names a workflow.
    #[error("no workflow for this trigger: map one of {names} in HETUMIND_TRIGGERS")]
    Unmapped { names: String },
}

/// What an HTTP request is answered with, whichever API it came through.
struct HttpAnswer {
    status: i64,
    headers: HeaderMap,
    body: Option<String>,
    /// The execution the request started, once it has an id.
    execution_id: Option<String>,
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
            execution_id: None,
        }
    }

    /// This answer, to a request that started `execution_id`.
    fn of(mut self, execution_id: &str) -> Self {
        self.execution_id = Some(execution_id.to_owned());
        self
    }

    /// The answer to a request whose method the workflow's trigger does not accept: 405, with
    /// the methods it accepts in `Allow`.
    fn method_not_allowed(method: &str, checks: &HttpTriggerChecks) -> Self {
        let allowed = checks.methods.to_string();
        tracing::warn!("HTTP request refused: method `{method}` is not allowed ({allowed})");
        let mut answer = Self::json(
            405,
            &json!({
                "error": format!("method `{method}` is not allowed: the workflow's trigger accepts {allowed}"),
                "error_type": "Hetumind.MethodNotAllowed",
            }),
        );
        if let Ok(value) = HeaderValue::try_from(allowed) {
            answer.headers.insert(ALLOW, value);
        }
        answer
    }

    /// The answer to a request whose credentials `failure` refuses: 401 without one, 403 with
    /// a wrong one, 500 when the function cannot check them. The message names headers and
    /// variables, never a secret.
    fn refused(workflow_id: &str, failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Missing(problem) => {
                tracing::warn!(workflow_id, "HTTP request refused (401): {problem}");
                Self::json(
                    401,
                    &json!({ "error": problem, "error_type": "Hetumind.Unauthenticated" }),
                )
            }
            AuthFailure::Invalid(problem) => {
                tracing::warn!(workflow_id, "HTTP request refused (403): {problem}");
                Self::json(
                    403,
                    &json!({ "error": problem, "error_type": "Hetumind.Forbidden" }),
                )
            }
            AuthFailure::Misconfigured(problem) => Self::misconfigured(workflow_id, &problem),
        }
    }

    /// The answer when workflow `workflow_id`'s trigger cannot check requests (malformed
    /// parameters, a missing secret): 500, naming the problem; no request is accepted then.
    fn misconfigured(workflow_id: &str, problem: &str) -> Self {
        tracing::error!(workflow_id, "HTTP trigger misconfigured: {problem}");
        Self::json(
            500,
            &json!({
                "error": format!("the HTTP trigger of workflow `{workflow_id}` is misconfigured: {problem}"),
                "error_type": "Hetumind.TriggerMisconfigured",
            }),
        )
    }

    /// The answer to a request that names no workflow it may start.
    fn unrouted(unrouted: &Unrouted) -> Self {
        let status = match unrouted {
            Unrouted::NotAllowed { .. } => 403,
            Unrouted::Unmapped { .. } => 400,
        };
        Self::json(
            status,
            &json!({ "error": unrouted.to_string(), "error_type": "Hetumind.InvalidRequest" }),
        )
    }

    /// The answer to a request the engine could not carry out: a short message with the
    /// error's type; the error itself, which may hold store locations and SDK details, goes
    /// to the log only.
    fn error(error: &EngineError, execution_id: Option<&str>) -> Self {
        let (status, message) = match error {
            EngineError::WorkflowNotFound(_) | EngineError::InvalidRequest(_) => {
                tracing::warn!(execution_id, "HTTP request refused: {error}");
                let status = if matches!(error, EngineError::WorkflowNotFound(_)) {
                    404
                } else {
                    400
                };
                return Self::json(
                    status,
                    &json!({ "error": error.to_string(), "error_type": error.error_type() }),
                );
            }
            EngineError::WorkflowInvalid(_) => (500, "the workflow is invalid"),
            EngineError::StateConflict(_) | EngineError::ExecutionExists { .. } => {
                (409, "another invocation holds the execution: retry later")
            }
            EngineError::StoreUnavailable(_) => {
                (503, "the state store is unavailable: retry later")
            }
            _ => (500, "the state store failed"),
        };
        tracing::error!(execution_id, "HTTP request failed: {error}");
        let mut body = json!({ "error": message, "error_type": error.error_type() });
        if let Some(execution_id) = execution_id {
            body["execution_id"] = json!(execution_id);
        }
        Self::json(status, &body)
    }

    /// The answer in place of one of `bytes` that a Lambda response cannot carry.
    fn too_large(bytes: usize, execution_id: Option<&str>) -> Self {
        Self::json(
            500,
            &json!({
                "error": format!(
                    "the response is {bytes} bytes, over the {MAX_HTTP_RESPONSE_BYTES}-byte limit of a Lambda response: the execution's output stays in the state store"
                ),
                "error_type": "Hetumind.OutputTooLarge",
                "bytes": bytes,
                "limit": MAX_HTTP_RESPONSE_BYTES,
                "execution_id": execution_id,
            }),
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
            execution_id: None,
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
struct IncomingHttp {
    method: String,
    path: String,
    path_parameters: std::collections::HashMap<String, String>,
    headers: Map<String, Value>,
    /// The headers as received, unredacted: for the trigger's credentials only, never stored.
    raw_headers: HeaderMap,
    query: Map<String, Value>,
    body: Option<String>,
    base64: bool,
}

/// Says in an HTTP answer's `body` what drives execution `execution_id` on after `driver`.
fn say_driver(body: &mut Value, driver: Driver, execution_id: &str) {
    match driver {
        Driver::StateMachine(arn) => body["continued_by"] = json!(arn),
        Driver::Waiting => {
            body["waits_for_driver"] = json!(format!(
                "no state machine is configured ({STATE_MACHINE_VAR}): continue it with `resume {execution_id}`"
            ));
        }
        Driver::Failed(error) => body["hand_off_error"] = json!(error),
        Driver::Finished => {}
    }
}

/// Whether `path` is a resume address's (see [`crate::resume::PATH`]): its last segment is
/// `resume`, after any stage prefix, and it does not name a workflow (`/workflows/resume`).
fn is_resume_path(path: &str) -> bool {
    let mut segments = path.rsplit('/').filter(|segment| !segment.is_empty());
    segments.next() == Some(crate::resume::PATH.trim_start_matches('/'))
        && segments.next() != Some("workflows")
}

/// `orders` from `/workflows/orders` (after any stage prefix).
fn workflow_from_path(path: &str) -> Option<String> {
    let mut segments = path.split('/').filter(|segment| !segment.is_empty());
    segments.find(|segment| *segment == "workflows")?;
    segments.next().map(str::to_owned)
}

/// The body's bytes as the caller sent them (API Gateway's base64 decoded); `None` without a
/// body.
fn raw_body(body: Option<String>, base64: bool) -> Result<Option<Vec<u8>>, String> {
    let Some(body) = body else {
        return Ok(None);
    };
    if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(Some)
            .map_err(|error| format!("the body is not valid base64: {error}"))
    } else {
        Ok(Some(body.into_bytes()))
    }
}

/// The body as the trigger passes it on: parsed JSON, else the text; `null` without a body.
fn body_value(raw: Option<Vec<u8>>) -> Result<Value, String> {
    let Some(bytes) = raw else {
        return Ok(Value::Null);
    };
    let text = String::from_utf8(bytes).map_err(|_| "the body is not UTF-8 text".to_owned())?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
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
    crate::json_path::from_value(event)
        .map_err(|problem| HandlerError::InvalidRequest(format!("invalid {what}: {problem}")))
}

fn to_value(value: &impl serde::Serialize) -> Result<Value, HandlerError> {
    serde_json::to_value(value).map_err(|error| HandlerError::InvalidRequest(error.to_string()))
}
