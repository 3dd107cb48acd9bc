//! A Lambda Runtime API emulator: the endpoints a custom runtime (`lambda_runtime`) calls, so a
//! real function binary receives events the way it does in Lambda.
//!
//! The function long-polls `GET /2018-06-01/runtime/invocation/next`; [`RuntimeApi::invoke`]
//! hands it one event and waits for the `.../response` or `.../error` it posts back.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function posted back for one event.
#[derive(Debug)]
pub enum Reply {
    /// `POST .../invocation/{id}/response`: the handler's result.
    Response(Value),
    /// `POST .../invocation/{id}/error`: the handler failed.
    Error(Value),
}

struct Invocation {
    id: String,
    event: Value,
    deadline: SystemTime,
}

struct Shared {
    next: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    pending: Mutex<HashMap<String, oneshot::Sender<Reply>>>,
    init_error: Mutex<Option<String>>,
}

/// One emulated runtime API, serving one function process.
pub struct RuntimeApi {
    address: SocketAddr,
    queue: mpsc::Sender<Invocation>,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let (queue, next) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            next: tokio::sync::Mutex::new(next),
            pending: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route(&format!("{PREFIX}/invocation/next"), get(next_invocation))
            .route(&format!("{PREFIX}/invocation/{{id}}/response"), post(response))
            .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(error))
            .route(&format!("{PREFIX}/init/error"), post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { address, queue, shared, server }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// What the function reported through `/init/error`, if it failed to start.
    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Hands `event` to the function with `timeout` until its deadline and waits for the reply.
    pub async fn invoke(&self, event: Value, timeout: Duration) -> Reply {
        let id = uuid::Uuid::new_v4().to_string();
        let (reply, replied) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id.clone(), reply);
        let deadline = SystemTime::now() + timeout;
        self.queue.send(Invocation { id, event, deadline }).await.unwrap();
        replied.await.unwrap()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let Some(invocation) = shared.next.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), Vec::new());
    };
    let deadline_ms = invocation.deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", invocation.id);
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:e2e".to_owned());
    set("lambda-runtime-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".to_owned());
    set("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, serde_json::to_vec(&invocation.event).unwrap())
}

async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    deliver(&shared, &id, Reply::Response(parse(&body)))
}

async fn error(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    deliver(&shared, &id, Reply::Error(parse(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    StatusCode::ACCEPTED
}

fn deliver(shared: &Shared, id: &str, reply: Reply) -> StatusCode {
    match shared.pending.lock().unwrap().remove(id) {
        Some(waiter) => {
            let _ = waiter.send(reply);
            StatusCode::ACCEPTED
        }
        None => StatusCode::NOT_FOUND,
    }
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}
