//! A pass-through proxy in front of moto that holds the first checkpoint write forever, so a
//! test can kill the poller exactly between enqueueing a page and recording its checkpoint.
//!
//! Point a function's `AWS_ENDPOINT_URL` at [`CheckpointTrap::endpoint`]: every request is
//! forwarded unchanged (moto does not check signatures), except a DynamoDB `PutItem` of a
//! `CHECKPOINT#…` item (`crates/aws/src/dynamo/checkpoints.rs`), which never gets an answer.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::Response;
use tokio::sync::watch;

struct Trap {
    upstream: String,
    client: reqwest::Client,
    tripped: watch::Sender<bool>,
}

/// The running proxy.
pub struct CheckpointTrap {
    endpoint: String,
    tripped: watch::Receiver<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl CheckpointTrap {
    /// Forwards to `upstream` (moto's URL) from a free port of 127.0.0.1.
    pub async fn start(upstream: &str) -> Self {
        let (tripped_tx, tripped) = watch::channel(false);
        let trap = Arc::new(Trap {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            tripped: tripped_tx,
        });
        let app = Router::new().fallback(forward).with_state(trap);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { endpoint, tripped, server }
    }

    /// The URL to use as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// Waits until a checkpoint write has arrived (and is being held).
    pub async fn tripped(&self) {
        let mut tripped = self.tripped.clone();
        tripped.wait_for(|t| *t).await.unwrap();
    }
}

impl Drop for CheckpointTrap {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State(trap): State<Arc<Trap>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, usize::MAX).await.unwrap();
    let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if target.ends_with(".PutItem") && body.windows(12).any(|w| w == b"\"CHECKPOINT#") {
        trap.tripped.send_replace(true);
        std::future::pending::<()>().await;
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let hop_by_hop = [header::HOST, header::CONTENT_LENGTH, header::TRANSFER_ENCODING, header::CONNECTION];
    let mut outgoing = trap.client.request(parts.method, format!("{}{path}", trap.upstream)).body(body);
    for (name, value) in parts.headers.iter().filter(|(name, _)| !hop_by_hop.contains(name)) {
        outgoing = outgoing.header(name, value);
    }
    let answer = outgoing.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers().iter().filter(|(name, _)| !hop_by_hop.contains(*name)) {
        response = response.header(HeaderName::from(name), value);
    }
    let bytes = answer.bytes().await.unwrap();
    response
        .body(Body::from(bytes))
        .unwrap_or_else(|_| Response::builder().status(StatusCode::BAD_GATEWAY).body(Body::empty()).unwrap())
}
