//! A fresh world per test: a temporary SQLite database with the built-in GitHub (PRs, issues),
//! Slack, Sentry and PagerDuty descriptors, helpers to add instances, sign deliveries and read the ingest queue, and port
//! decorators that count secret reads or fail the queue.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use hmac::{Hmac, Mac};
use http_body_util::BodyExt as _;
use serde_json::Value;
use sha2::Sha256;
use switchboard_core::catalog::{ConnectorCatalog, DEFAULT_CACHE_TTL};
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{
    CredentialVersion, CredentialVersions, Credentials, DedupOutcome, EntryFailure, InstanceKey, NewInstance,
    QueueMessage, QueueReceiver as _, QueueSender, ReceiveOptions, SecretStore, SendOnce, StoreError,
    StoredCredentials, Stores,
};
use switchboard_core::{Descriptor, NativeRegistry};
use switchboard_embedded::Embedded;
use switchboard_webhook_gateway::{GatewaySettings, GatewayState, SourceAddress, router};
use tempfile::TempDir;
use tower::ServiceExt as _;

/// The secret every GitHub instance in these tests is configured with.
pub const GITHUB_SECRET: &str = "It's a Secret to Everybody";
/// The Slack signing secret of the Slack instances.
pub const SLACK_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// One isolated gateway: its own database, ingest queue and counters.
pub struct World {
    _dir: TempDir,
    pub embedded: Embedded,
    pub stores: Stores,
    pub secret_reads: Arc<AtomicUsize>,
    pub state: GatewayState,
}

impl World {
    pub async fn new() -> Self {
        Self::with_settings(GatewaySettings::default()).await
    }

    pub async fn with_settings(settings: GatewaySettings) -> Self {
        let dir = TempDir::new().unwrap();
        let embedded = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
        let stores = embedded.stores();
        for id in ["github-prs", "github-issues", "slack", "sentry", "pagerduty"] {
            let descriptor = Descriptor::from_file(&descriptor_path(id)).unwrap();
            stores.descriptors.register_descriptor(descriptor.model(), true).await.unwrap();
        }
        let secret_reads = Arc::new(AtomicUsize::new(0));
        let counting = CountingSecrets { inner: stores.secrets.clone(), reads: secret_reads.clone() };
        let catalog =
            Arc::new(ConnectorCatalog::new(stores.descriptors.clone(), NativeRegistry::new(), DEFAULT_CACHE_TTL));
        let mut state = GatewayState::new(catalog, &stores, Arc::new(embedded.ingest_queue()), settings);
        state.secrets = Arc::new(counting);
        Self { _dir: dir, embedded, stores, secret_reads, state }
    }

    /// Adds an instance with `credentials`.
    pub async fn add_instance(&self, connector: &str, project: &str, credentials: &[(&str, &str)], enabled: bool) {
        let new = NewInstance { key: InstanceKey::new(project, connector), config: Default::default(), enabled };
        let credentials: Credentials = credentials.iter().copied().collect();
        self.stores.create_instance(&new, &credentials).await.unwrap();
    }

    /// Adds an enabled GitHub instance in project `p1` with [`GITHUB_SECRET`].
    pub async fn with_github(self) -> Self {
        self.add_instance("github-prs", "p1", &[("token", "ghp_x"), ("webhookSecret", GITHUB_SECRET)], true).await;
        self
    }

    /// This world, its gateway enqueueing deliveries with an id through the embedded queue's
    /// atomic send (as `switchboard serve` does) instead of the claim protocol.
    pub fn sending_once(mut self) -> Self {
        self.state = self.state.with_send_once(Arc::new(self.embedded.ingest_queue()));
        self
    }

    /// Sends one request through a fresh router over this world's state.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        Answer::read(router(self.state.clone()).oneshot(request).await.unwrap()).await
    }

    /// Every envelope waiting on the ingest queue.
    pub async fn ingested(&self) -> Vec<(Envelope, QueueMessage)> {
        let queue = self.embedded.ingest_queue();
        let mut all = Vec::new();
        loop {
            let batch = queue.receive(ReceiveOptions::default()).await.unwrap();
            if batch.is_empty() {
                return all;
            }
            for received in batch {
                all.push((Envelope::from_json(&received.message.body).unwrap(), received.message));
            }
        }
    }

    pub fn secrets_read(&self) -> usize {
        self.secret_reads.load(Ordering::SeqCst)
    }
}

/// A response, read to its end.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    async fn read(response: axum::response::Response) -> Self {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        Self { status: parts.status, headers: parts.headers, text: String::from_utf8(bytes.to_vec()).unwrap() }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `code` of a DESIGN §6 error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn descriptor_path(id: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../descriptors").join(format!("{id}.json"))
}

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures").join(path)).unwrap()
}

pub fn hmac_hex(secret: &str, content: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(content);
    hex::encode(mac.finalize().into_bytes())
}

/// A GitHub delivery of `event` signed with `secret`.
pub fn github_delivery(project: &str, event: &str, body: &[u8], secret: &str, delivery: &str) -> Request<Body> {
    Request::post(format!("/webhooks/github-prs/{project}"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header("x-hub-signature-256", format!("sha256={}", hmac_hex(secret, body)))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// The PR-opened fixture, signed with [`GITHUB_SECRET`], to project `p1`.
pub fn signed_pr_opened(delivery: &str) -> Request<Body> {
    github_delivery("p1", "pull_request", &fixture("github-prs/pull_request.opened.json"), GITHUB_SECRET, delivery)
}

/// `request` as coming from `ip` (what the Lambda edge says of an API Gateway request).
pub fn from_source(mut request: Request<Body>, ip: &str) -> Request<Body> {
    request.extensions_mut().insert(SourceAddress(ip.parse().unwrap()));
    request
}

/// A Slack delivery signed now with `secret`.
pub fn slack_delivery(project: &str, body: &[u8], secret: &str) -> Request<Body> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let mut content = format!("v0:{timestamp}:").into_bytes();
    content.extend_from_slice(body);
    Request::post(format!("/webhooks/slack/{project}"))
        .header("content-type", "application/json")
        .header("x-slack-request-timestamp", &timestamp)
        .header("x-slack-signature", format!("v0={}", hmac_hex(secret, &content)))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// A Sentry integration-platform delivery of `resource`, signed with `secret`.
pub fn sentry_delivery(project: &str, resource: &str, body: &[u8], secret: &str, request_id: &str) -> Request<Body> {
    Request::post(format!("/webhooks/sentry/{project}"))
        .header("content-type", "application/json")
        .header("request-id", request_id)
        .header("sentry-hook-resource", resource)
        .header("sentry-hook-timestamp", chrono::Utc::now().timestamp().to_string())
        .header("sentry-hook-signature", hmac_hex(secret, body))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// A PagerDuty v3 delivery signed with `secret` (`X-PagerDuty-Signature: v1=<hex>`).
pub fn pagerduty_delivery(project: &str, body: &[u8], secret: &str) -> Request<Body> {
    Request::post(format!("/webhooks/pagerduty/{project}"))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-pagerduty-signature", format!("v1={}", hmac_hex(secret, body)))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

/// Counts reads of the real secret store.
struct CountingSecrets {
    inner: Arc<dyn SecretStore>,
    reads: Arc<AtomicUsize>,
}

#[async_trait]
impl SecretStore for CountingSecrets {
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get_credentials(key).await
    }

    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError> {
        self.inner.put_credentials(key, credentials).await
    }

    async fn read_latest_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_latest_credentials(key).await
    }

    async fn put_credentials_if(
        &self,
        key: &InstanceKey,
        expected: Option<&CredentialVersion>,
        credentials: &Credentials,
    ) -> Result<StoredCredentials, StoreError> {
        self.inner.put_credentials_if(key, expected, credentials).await
    }

    async fn delete_credentials(&self, key: &InstanceKey) -> Result<(), StoreError> {
        self.inner.delete_credentials(key).await
    }
}

/// An ingest queue whose every send fails, as SQS does when it is unreachable.
pub struct BrokenQueue;

#[async_trait]
impl QueueSender for BrokenQueue {
    async fn send_entries(&self, _: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        Err(StoreError::backend("sending to the ingest queue", "connection refused"))
    }
}

#[async_trait]
impl SendOnce for BrokenQueue {
    async fn send_once(&self, _: &str, _: Duration, _: &QueueMessage) -> Result<DedupOutcome, StoreError> {
        Err(StoreError::backend("sending to the ingest queue", "connection refused"))
    }
}

/// An ingest queue that holds every send until released, to catch a delivery mid-enqueue.
pub struct GatedQueue {
    pub inner: Arc<dyn QueueSender>,
    /// Notified when a send is waiting.
    pub entered: Arc<tokio::sync::Notify>,
    /// Lets one waiting send through.
    pub release: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl QueueSender for GatedQueue {
    async fn send_entries(&self, messages: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        self.entered.notify_one();
        self.release.notified().await;
        self.inner.send_entries(messages).await
    }
}
