//! The Lambda handler's entry, `Handler::handle`, on events of every shape it accepts, built
//! from structured fuzz input: API Gateway REST (payload 1.0), HTTP API and Function URL
//! (payload 2.0), EventBridge (custom and scheduled), SQS batches, and the direct requests
//! `execute_workflow`, `resume_execution` and `execute_node`, in sequences on one in-memory
//! store. The fuzzer chooses the fields; the shapes stay valid enough to reach routing, the
//! engine and the answers.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

/// JSON of limited depth and size.
#[derive(Debug)]
struct Json(Value);

impl Json {
    fn value(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
        let choice = if depth == 0 {
            u.int_in_range(0..=4)?
        } else {
            u.int_in_range(0..=6)?
        };
        Ok(match choice {
            0 => Value::Null,
            1 => Value::Bool(u.arbitrary()?),
            2 => json!(u.arbitrary::<i64>()?),
            3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
            4 => Value::String(Self::text(u)?),
            5 => {
                let len = u.int_in_range(0..=4)?;
                Value::Array(
                    (0..len)
                        .map(|_| Self::value(u, depth - 1))
                        .collect::<arbitrary::Result<_>>()?,
                )
            }
            _ => {
                let len = u.int_in_range(0..=4)?;
                let mut fields = Map::new();
                for _ in 0..len {
                    fields.insert(Self::text(u)?, Self::value(u, depth - 1)?);
                }
                Value::Object(fields)
            }
        })
    }

    /// Mostly names the workflows and nodes know, so that routing and fields match.
    fn text(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
        const WORDS: &[&str] = &[
            "json",
            "body",
            "answers",
            "email",
            "age",
            "consent",
            "detail",
            "order_id",
            "lines",
            "qty",
            "workflow",
            "echo",
            "pause",
            "signup-webhook",
            "order-events",
            "",
        ];
        Ok(if u.ratio(1, 3)? {
            u.arbitrary()?
        } else {
            (*u.choose(WORDS)?).to_owned()
        })
    }
}

impl<'a> Arbitrary<'a> for Json {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Self::value(u, 3).map(Self)
    }
}

/// One of a few names, or any text.
#[derive(Debug)]
struct Name(String);

impl<'a> Arbitrary<'a> for Name {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const NAMES: &[&str] = &[
            "e1",
            "e2",
            "echo",
            "pause",
            "signup-webhook",
            "order-events",
            "order-routing",
            "support-digest",
            "appointment-reminders",
            "missing",
            "Pause",
            "After",
            "Start",
            "Echo",
            "Form submitted",
            "Accepted",
        ];
        Ok(Self(if u.ratio(1, 4)? {
            u.arbitrary()?
        } else {
            (*u.choose(NAMES)?).to_owned()
        }))
    }
}

#[derive(Debug, Arbitrary)]
enum Body {
    None,
    Text(String),
    Json(Json),
    Base64(Vec<u8>),
    Base64Json(Json),
    /// Says base64, is not.
    BadBase64(String),
}

impl Body {
    /// The body and `isBase64Encoded`.
    fn encode(self) -> (Value, bool) {
        let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        match self {
            Self::None => (Value::Null, false),
            Self::Text(text) => (Value::String(text), false),
            Self::Json(Json(value)) => (Value::String(value.to_string()), false),
            Self::Base64(bytes) => (Value::String(b64(&bytes)), true),
            Self::Base64Json(Json(value)) => {
                (Value::String(b64(value.to_string().as_bytes())), true)
            }
            Self::BadBase64(text) => (Value::String(text), true),
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Http {
    method: u8,
    /// `/workflows/{id}` when set, else any path.
    path_workflow: Option<Name>,
    path: String,
    query_workflow: Option<Name>,
    path_parameter_workflow: Option<Name>,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Http {
    fn method(&self) -> &'static str {
        const METHODS: &[&str] = &["POST", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
        METHODS[usize::from(self.method) % METHODS.len()]
    }

    fn path(&self) -> String {
        self.path_workflow
            .as_ref()
            .map_or_else(|| self.path.clone(), |Name(id)| format!("/workflows/{id}"))
    }

    fn headers(&self) -> Map<String, Value> {
        let mut headers = Map::new();
        headers.insert("content-type".to_owned(), json!("application/json"));
        for (name, value) in &self.headers {
            headers.insert(name.clone(), Value::String(value.clone()));
        }
        headers
    }

    fn query(&self) -> Value {
        self.query_workflow
            .as_ref()
            .map_or(Value::Null, |Name(id)| json!({ "workflow": id }))
    }

    fn path_parameters(&self) -> Value {
        self.path_parameter_workflow
            .as_ref()
            .map_or(Value::Null, |Name(id)| json!({ "workflow_id": id }))
    }

    fn rest(self) -> Value {
        let method = self.method();
        let (path, headers, query, path_parameters) = (
            self.path(),
            self.headers(),
            self.query(),
            self.path_parameters(),
        );
        let (body, base64) = self.body.encode();
        json!({
            "resource": "/{proxy+}", "path": path, "httpMethod": method,
            "headers": headers, "multiValueHeaders": {},
            "queryStringParameters": query, "multiValueQueryStringParameters": null,
            "pathParameters": path_parameters, "stageVariables": null,
            "requestContext": { "accountId": "1", "resourceId": "r", "stage": "prod",
                "requestId": "req", "identity": {}, "resourcePath": "/{proxy+}",
                "httpMethod": method, "apiId": "a" },
            "body": body, "isBase64Encoded": base64
        })
    }

    fn v2(self) -> Value {
        let method = self.method();
        let (path, headers, query, path_parameters) = (
            self.path(),
            self.headers(),
            self.query(),
            self.path_parameters(),
        );
        let (body, base64) = self.body.encode();
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
            "headers": headers, "queryStringParameters": query,
            "pathParameters": path_parameters,
            "requestContext": { "accountId": "anonymous", "apiId": "a", "domainName": "d",
                "domainPrefix": "d", "http": { "method": method, "path": path,
                "protocol": "HTTP/1.1", "sourceIp": "198.51.100.7", "userAgent": "fuzz" },
                "requestId": "r", "routeKey": "$default", "stage": "$default",
                "time": "28/Nov/2026:12:00:01 +0000", "timeEpoch": 1_795_867_201_000_u64 },
            "body": body, "isBase64Encoded": base64
        })
    }
}

#[derive(Debug, Arbitrary)]
enum Event {
    Rest(Http),
    HttpApi(Http),
    EventBridge {
        id: Name,
        scheduled: bool,
        source: Name,
        detail_type: String,
        rule: Name,
        detail: Json,
    },
    Sqs(Vec<(Name, Name, Body)>),
    Execute {
        workflow_id: Option<Name>,
        /// An inline workflow instead: one of the stored ones, by index, or any JSON.
        inline: Option<Result<u8, Json>>,
        execution_id: Option<Name>,
        input_data: Option<Vec<Json>>,
        metadata: Option<Json>,
    },
    Resume {
        execution_id: Name,
        node_name: Option<Name>,
        input_data: Option<Vec<Json>>,
    },
    ExecuteNode {
        execution_id: Name,
        node_name: Name,
        extra: Option<(String, Json)>,
    },
}

fn items(values: Vec<Json>) -> Value {
    Value::Array(
        values
            .into_iter()
            .map(|Json(json)| json!({ "json": json }))
            .collect(),
    )
}

impl Event {
    fn into_json(self) -> Value {
        match self {
            Self::Rest(http) => http.rest(),
            Self::HttpApi(http) => http.v2(),
            Self::EventBridge {
                id,
                scheduled,
                source,
                detail_type,
                rule,
                detail,
            } => {
                let (source, detail_type, resources) = if scheduled {
                    (
                        "aws.events".to_owned(),
                        "Scheduled Event".to_owned(),
                        json!([format!(
                            "arn:aws:events:us-east-1:123456789012:rule/{}",
                            rule.0
                        )]),
                    )
                } else {
                    (source.0, detail_type, json!([]))
                };
                json!({ "version": "0", "id": id.0, "detail-type": detail_type, "source": source,
                    "account": "1", "time": "2026-12-02T00:00:00Z", "region": "us-east-1",
                    "resources": resources, "detail": detail.0 })
            }
            Self::Sqs(records) => {
                let records: Vec<Value> = records
                    .into_iter()
                    .take(8)
                    .map(|(id, queue, body)| {
                        let (body, _) = body.encode();
                        json!({ "messageId": id.0, "receiptHandle": "r", "body": body,
                            "attributes": {}, "messageAttributes": {}, "md5OfBody": "",
                            "eventSource": "aws:sqs",
                            "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{}", queue.0),
                            "awsRegion": "us-east-1" })
                    })
                    .collect();
                json!({ "Records": records })
            }
            Self::Execute {
                workflow_id,
                inline,
                execution_id,
                input_data,
                metadata,
            } => {
                let mut request = json!({ "request_type": "execute_workflow" });
                if let Some(Name(id)) = workflow_id {
                    request["workflow_id"] = json!(id);
                }
                match inline {
                    Some(Ok(index)) => {
                        let stored = hetumind_fuzz::STORED;
                        let text = stored[usize::from(index) % stored.len()];
                        request["workflow"] = serde_json::from_str(text).expect("stored workflow");
                    }
                    Some(Err(Json(workflow))) => request["workflow"] = workflow,
                    None => {}
                }
                if let Some(Name(id)) = execution_id {
                    request["execution_id"] = json!(id);
                }
                if let Some(input) = input_data {
                    request["input_data"] = items(input);
                }
                if let Some(Json(metadata)) = metadata {
                    request["metadata"] = metadata;
                }
                request
            }
            Self::Resume {
                execution_id,
                node_name,
                input_data,
            } => {
                let mut request = json!({ "request_type": "resume_execution",
                    "execution_id": execution_id.0 });
                if let Some(Name(node)) = node_name {
                    request["node_name"] = json!(node);
                }
                if let Some(input) = input_data {
                    request["input_data"] = items(input);
                }
                request
            }
            Self::ExecuteNode {
                execution_id,
                node_name,
                extra,
            } => {
                let mut request = json!({ "request_type": "execute_node",
                    "execution_id": execution_id.0, "node_name": node_name.0 });
                if let Some((field, Json(value))) = extra {
                    request[field] = value;
                }
                request
            }
        }
    }
}

fuzz_target!(|events: Vec<Event>| {
    let events: Vec<Value> = events.into_iter().take(4).map(Event::into_json).collect();
    if !events.is_empty() {
        hetumind_fuzz::handle_all(events);
    }
});
