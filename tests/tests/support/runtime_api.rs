//! A Lambda Runtime API emulator on loopback HTTP, for driving a real function process as
//! Lambda would: `GET /runtime/invocation/next` hands out events with real deadline headers,
//! `POST .../response` and `.../error` complete them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The function's response.
    Response(Value),
    /// The function's error: `errorType`, `errorMessage`.
    Error { error_type: String, message: String },
}

/// The function's response; panics with the error it answered instead.
pub(crate) fn answer(outcome: Outcome) -> Value {
    match outcome {
        Outcome::Response(value) => value,
        Outcome::Error {
            error_type,
            message,
        } => panic!("{error_type}: {message}"),
    }
}

struct Pending {
    event: Value,
    deadline_ms: u64,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct Shared {
    queue: Arc<Mutex<mpsc::Receiver<Pending>>>,
    replies: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<Value>>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
    /// When the function first asked for an event: the end of its init.
    first_poll: Arc<std::sync::OnceLock<std::time::Instant>>,
}

/// A running emulator.
pub(crate) struct RuntimeApi {
    pub(crate) address: SocketAddr,
    sender: mpsc::Sender<Pending>,
    shared: Shared,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

impl RuntimeApi {
    /// Starts the emulator on 127.0.0.1 and a free port.
    pub(crate) async fn start() -> Self {
        let (sender, receiver) = mpsc::channel(16);
        let shared = Shared {
            queue: Arc::new(Mutex::new(receiver)),
            replies: Arc::new(Mutex::new(HashMap::new())),
            init_error: Arc::new(Mutex::new(None)),
            next_id: Arc::new(std::sync::atomic::AtomicU64::new(1)),
            first_poll: Arc::new(std::sync::OnceLock::new()),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            sender,
            shared,
        }
    }

    /// Invokes the function with `event` and a deadline `budget` from now.
    pub(crate) async fn invoke(&self, event: Value, budget: Duration) -> Outcome {
        let (reply, outcome) = oneshot::channel();
        let deadline_ms = now_ms() + u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
        self.sender
            .send(Pending {
                event,
                deadline_ms,
                reply,
            })
            .await
            .unwrap();
        tokio::time::timeout(budget + Duration::from_secs(30), outcome)
            .await
            .expect("the function answered")
            .expect("the emulator kept the invocation")
    }

    /// When the function first asked for an event (the end of its init), if it has.
    pub(crate) fn first_poll(&self) -> Option<std::time::Instant> {
        self.shared.first_poll.get().copied()
    }

    /// The init error the function reported, if any.
    pub(crate) async fn init_error(&self) -> Option<Value> {
        self.shared.init_error.lock().await.clone()
    }

    /// A command running `binary` as a Lambda function against this emulator.
    pub(crate) fn function(&self, binary: &str) -> Command {
        let mut command = Command::new(binary);
        command
            .env("AWS_LAMBDA_RUNTIME_API", self.address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "hetumind-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }
}

/// Kills a function process when dropped.
pub(crate) struct Function(pub(crate) Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn next(State(shared): State<Shared>) -> (HeaderMap, String) {
    shared.first_poll.get_or_init(std::time::Instant::now);
    let pending = shared.queue.lock().await.recv().await;
    let Some(pending) = pending else {
        // The emulator is shutting down: keep the function waiting.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let id = format!(
        "request-{}",
        shared
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    shared
        .replies
        .lock()
        .await
        .insert(id.clone(), pending.reply);
    let mut headers = HeaderMap::new();
    headers.insert(
        "Lambda-Runtime-Aws-Request-Id",
        HeaderValue::from_str(&id).unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Deadline-Ms",
        HeaderValue::from_str(&pending.deadline_ms.to_string()).unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:hetumind-test"),
    );
    headers.insert(
        "Lambda-Runtime-Trace-Id",
        HeaderValue::from_static("Root=1-0-0"),
    );
    (headers, pending.event.to_string())
}

async fn response(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    complete(&shared, &id, Outcome::Response(value)).await
}

async fn error(State(shared): State<Shared>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let outcome = Outcome::Error {
        error_type: value["errorType"].as_str().unwrap_or_default().to_owned(),
        message: value["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    complete(&shared, &id, outcome).await
}

async fn complete(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match shared.replies.lock().await.remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().await = serde_json::from_slice(&body).ok();
    StatusCode::ACCEPTED
}
