//! An isolated world per test: a temporary SQLite database with the GitHub issues connector
//! registered against a fake GitHub API, one instance of it, the ingest queue and a poller.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{
    Checkpoint, CheckpointStore, Credentials, InstanceHealth, InstanceKey, Lease, LeaseStore, NewInstance,
    QueueReceiver, ReceiveOptions, StoreError, Stores, lease_lost,
};
use switchboard_core::{Descriptor, NativeRegistry};
use switchboard_embedded::{Embedded, EmbeddedQueue};
use switchboard_poll::{PollEngine, PollOptions, RetryPolicy};
use switchboard_poller::{PollRunSummary, Poller, PollerSettings};
use tempfile::TempDir;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const PROJECT: &str = "p1";
pub const CONNECTOR: &str = "github-issues";
pub const GOOD_TOKEN: &str = "ghp_good_token_value";
const ISSUES_PATH: &str = "/repos/octo/hello/issues";

/// How a test world differs from the default.
#[derive(Default)]
pub struct Options {
    /// The first this many checkpoint advances fail, as if the poller crashed after enqueuing.
    pub failing_advances: u32,
    /// Every API response takes this long.
    pub delay: Duration,
    /// OAuth2 instead of a personal access token.
    pub oauth: Option<OAuthCredentials>,
    /// The instance's token (PAT auth); [`GOOD_TOKEN`] when unset.
    pub token: Option<&'static str>,
    /// The poller stops early once this becomes `true`.
    pub stop: Option<tokio::sync::watch::Receiver<bool>>,
    /// Changes the poller's settings.
    pub settings: Option<fn(&mut PollerSettings)>,
    /// Every lease renewal fails as if another poller had taken the lease over.
    pub lease_taken_over: bool,
}

/// The instance's OAuth2 tokens: an expired access token and this refresh token.
pub struct OAuthCredentials {
    pub refresh_token: &'static str,
}

pub struct World {
    _dir: TempDir,
    pub stores: Stores,
    pub ingest: EmbeddedQueue,
    pub poller: Poller,
    pub server: MockServer,
    pub api: FakeGitHub,
    pub key: InstanceKey,
}

impl World {
    pub async fn new() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
        let real = db.stores();
        let leases: Arc<dyn LeaseStore> =
            if options.lease_taken_over { Arc::new(TakenOver(real.leases.clone())) } else { real.leases.clone() };
        let stores = Stores {
            checkpoints: Arc::new(FailingAdvances {
                inner: real.checkpoints.clone(),
                failures: AtomicU32::new(options.failing_advances),
            }),
            leases,
            ..real
        };
        let server = MockServer::start().await;
        let api = FakeGitHub::new(&server.uri(), options.delay);
        Mock::given(method("GET")).and(path(ISSUES_PATH)).respond_with(api.clone()).mount(&server).await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(TokenEndpoint(api.clone()))
            .mount(&server)
            .await;

        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(repo_path("descriptors/github-issues.json")).unwrap())
                .unwrap();
        doc["ingestion"]["rateLimitRpm"] = json!(600_000);
        if options.oauth.is_some() {
            // The fake token endpoint is not one of GitHub's hosts.
            doc.as_object_mut().unwrap().remove("allowedHosts");
            doc["auth"] = json!({"method": "oauth2", "config": {
            "authoriseUrl": format!("{}/oauth/authorize", server.uri()),
            "tokenUrl": format!("{}/oauth/token", server.uri()),
            "scopes": ["repo"],
            "credentialFields": [
                {"key": "clientId", "label": "Client id", "type": "text", "required": true},
                {"key": "clientSecret", "label": "Client secret", "type": "password", "required": true}
            ]}});
        }
        let descriptor = Descriptor::from_value(&doc, "test").unwrap();
        stores.descriptors.register_descriptor(descriptor.model(), true).await.unwrap();

        let key = InstanceKey::new(PROJECT, CONNECTOR);
        let config = BTreeMap::from([
            ("baseUrl".to_owned(), server.uri()),
            ("owner".to_owned(), "octo".to_owned()),
            ("repo".to_owned(), "hello".to_owned()),
        ]);
        let credentials: Credentials = match &options.oauth {
            Some(oauth) => [
                ("clientId", "client"),
                ("clientSecret", "client-secret-value"),
                ("accessToken", "at-expired"),
                ("refreshToken", oauth.refresh_token),
                ("expiresAt", "2020-01-01T00:00:00Z"),
            ]
            .into_iter()
            .collect(),
            None => [("token", options.token.unwrap_or(GOOD_TOKEN))].into_iter().collect(),
        };
        stores.create_instance(&NewInstance { key: key.clone(), config, enabled: true }, &credentials).await.unwrap();

        let mut settings = PollerSettings { safety_margin: Duration::ZERO, ..PollerSettings::default() };
        if let Some(change) = options.settings {
            change(&mut settings);
        }
        let mut poller = poller(&stores, db.ingest_queue(), settings);
        if let Some(stop) = options.stop {
            poller = poller.with_stop(stop);
        }
        Self { _dir: dir, ingest: db.ingest_queue(), stores, poller, server, api, key }
    }

    /// Runs the poller as if it were `now`, with a minute to go.
    pub async fn run_at(&self, now: DateTime<Utc>) -> PollRunSummary {
        self.poller.run_due(now, Instant::now() + Duration::from_secs(60)).await.unwrap()
    }

    /// Adds six issues and runs the poller with 450 ms to go: with a 300 ms page delay the run
    /// stops part-way, leaving a resume point.
    pub async fn cut_short_first_run_of_six_issues(&self) -> PollRunSummary {
        self.api.add(&[
            (1, "2024-05-01T01:00:00Z"),
            (2, "2024-05-01T02:00:00Z"),
            (3, "2024-05-01T03:00:00Z"),
            (4, "2024-05-01T04:00:00Z"),
            (5, "2024-05-01T05:00:00Z"),
            (6, "2024-05-01T06:00:00Z"),
        ]);
        self.poller.run_due(Utc::now(), Instant::now() + Duration::from_millis(450)).await.unwrap()
    }

    /// Runs the poller now, with a minute to go.
    pub async fn run(&self) -> PollRunSummary {
        self.run_at(Utc::now()).await
    }

    /// Receives and acks every envelope on the ingest queue.
    pub async fn envelopes(&self) -> Vec<Envelope> {
        self.drain().await.into_iter().map(|m| Envelope::from_json(&m).unwrap()).collect()
    }

    /// Receives and acks every ingest-queue message (their bodies).
    pub async fn drain(&self) -> Vec<String> {
        let mut messages = Vec::new();
        loop {
            let received = self.ingest.receive(ReceiveOptions::default()).await.unwrap();
            if received.is_empty() {
                return messages;
            }
            for message in received {
                assert_eq!(message.message.attributes["connectorId"], CONNECTOR);
                assert_eq!(message.message.attributes["projectId"], PROJECT);
                messages.push(message.message.body);
                self.ingest.ack(&message.receipt).await.unwrap();
            }
        }
    }

    pub async fn checkpoint(&self) -> Option<Checkpoint> {
        self.stores.checkpoints.read_checkpoint(&self.key).await.unwrap()
    }

    pub async fn health(&self) -> InstanceHealth {
        self.stores.instances.get_instance(&self.key).await.unwrap().unwrap().health
    }

    /// Another instance of the connector, in `project`, with the same config.
    pub async fn add_instance(&self, project: &str, credentials: &Credentials) -> InstanceKey {
        let key = InstanceKey::new(project, CONNECTOR);
        let config = self.stores.instances.get_instance(&self.key).await.unwrap().unwrap().config;
        self.stores
            .create_instance(&NewInstance { key: key.clone(), config, enabled: true }, credentials)
            .await
            .unwrap();
        key
    }

    pub async fn credentials(&self) -> Credentials {
        self.stores.secrets.get_credentials(&self.key).await.unwrap().unwrap().current
    }

    /// Requests the issues endpoint received, oldest first.
    pub async fn issue_requests(&self) -> Vec<Request> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests.into_iter().filter(|r| r.url.path() == ISSUES_PATH).collect()
    }
}

pub fn poller(stores: &Stores, ingest: EmbeddedQueue, settings: PollerSettings) -> Poller {
    let options = PollOptions {
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy { max_attempts: 2, base_delay: Duration::from_millis(10), ..RetryPolicy::default() },
        // The fake API listens on 127.0.0.1, which the egress guard refuses unless allowed.
        egress: switchboard_poll::EgressAllow::parse("127.0.0.1").unwrap(),
        ..PollOptions::default()
    };
    let engine = PollEngine::with_default_client(options).unwrap();
    let catalog = ConnectorCatalog::new(stores.descriptors.clone(), NativeRegistry::new(), Duration::from_secs(60))
        .with_poll_driver(Arc::new(engine));
    Poller::new(stores.clone(), Arc::new(catalog), Arc::new(ingest), settings)
}

/// A file of the repository.
pub fn repo_path(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

/// An hour later than now (past any polling interval).
pub fn hours_later(hours: i64) -> DateTime<Utc> {
    Utc::now() + TimeDelta::hours(hours)
}

/// Issue numbers of envelopes, in order.
pub fn numbers(envelopes: &[Envelope]) -> Vec<u64> {
    envelopes.iter().map(|e| e.payload["number"].as_u64().unwrap()).collect()
}

/// A query parameter of a request.
pub fn param(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The fake GitHub issues API: issues sorted by `updated_at`, filtered by `since` (at or after),
/// two per page with a `Link: rel="next"` header, behind a bearer token; and the token endpoint
/// that rotates that token.
#[derive(Clone)]
pub struct FakeGitHub {
    state: Arc<Mutex<ApiState>>,
    base: String,
    delay: Duration,
}

struct ApiState {
    issues: Vec<Value>,
    access_token: String,
    refresh_token: String,
    generation: u32,
    fail_with: Option<u16>,
}

impl FakeGitHub {
    fn new(base: &str, delay: Duration) -> Self {
        let state = ApiState {
            issues: Vec::new(),
            access_token: GOOD_TOKEN.to_owned(),
            refresh_token: "rt-0".to_owned(),
            generation: 0,
            fail_with: None,
        };
        Self { state: Arc::new(Mutex::new(state)), base: base.to_owned(), delay }
    }

    /// Makes every issues request answer `status` (or work again with `None`).
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_with = status;
    }

    /// Adds issues `(number, updated_at)`.
    pub fn add(&self, issues: &[(u64, &str)]) {
        for (number, updated_at) in issues {
            self.add_issue(issue(*number, updated_at));
        }
    }

    /// Adds one issue as given (see [`issue`]).
    pub fn add_issue(&self, issue: Value) {
        let mut state = self.state.lock().unwrap();
        state.issues.push(issue);
        state.issues.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
    }
}

/// An issue as the fake API lists it (id `5000 + number`).
pub fn issue(number: u64, updated_at: &str) -> Value {
    json!({
        "id": 5000 + number, "number": number, "title": format!("Issue {number}"), "state": "open",
        "comments": 0, "user": {"login": "octocat"}, "labels": [], "assignees": [],
        "html_url": format!("https://github.com/octo/hello/issues/{number}"),
        "created_at": "2024-01-01T00:00:00Z", "updated_at": updated_at, "closed_at": null
    })
}

/// A refresh token the fake token endpoint never answers for.
pub const HANGING_REFRESH_TOKEN: &str = "rt-hang";

const PAGE_SIZE: usize = 2;

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = self.state.lock().unwrap();
        if let Some(status) = state.fail_with {
            return ResponseTemplate::new(status);
        }
        let bearer = request.headers.get("authorization").and_then(|v| v.to_str().ok());
        if bearer != Some(format!("Bearer {}", state.access_token).as_str()) {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"}));
        }
        let since: Option<DateTime<Utc>> = param(request, "since").map(|s| s.parse().unwrap());
        let matching: Vec<&Value> = state
            .issues
            .iter()
            .filter(|i| {
                since.is_none_or(|since| i["updated_at"].as_str().unwrap().parse::<DateTime<Utc>>().unwrap() >= since)
            })
            .collect();
        let page: usize = param(request, "page").map_or(1, |p| p.parse().unwrap());
        let body: Vec<&Value> = matching.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).copied().collect();
        let mut response = ResponseTemplate::new(200).set_body_json(body).set_delay(self.delay);
        if matching.len() > page * PAGE_SIZE {
            let mut next = url::Url::parse(&format!("{}{ISSUES_PATH}", self.base)).unwrap();
            let pairs: Vec<(String, String)> = request
                .url
                .query_pairs()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            next.query_pairs_mut().extend_pairs(pairs).append_pair("page", &(page + 1).to_string());
            response = response.insert_header("link", format!("<{next}>; rel=\"next\""));
        }
        response
    }
}

/// The OAuth2 token endpoint: a refresh with the current refresh token rotates both tokens;
/// any other gets `invalid_grant`.
struct TokenEndpoint(FakeGitHub);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        if form.get("refresh_token").map(String::as_str) == Some(HANGING_REFRESH_TOKEN) {
            return ResponseTemplate::new(200).set_delay(Duration::from_secs(600));
        }
        let mut state = self.0.state.lock().unwrap();
        if form.get("refresh_token") != Some(&state.refresh_token) {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "The refresh token is revoked"}));
        }
        state.generation += 1;
        state.access_token = format!("at-{}", state.generation);
        state.refresh_token = format!("rt-{}", state.generation);
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": state.access_token, "refresh_token": state.refresh_token,
            "token_type": "bearer", "expires_in": 3600
        }))
    }
}

/// The real lease store, except that no renewal succeeds: another poller took the lease over.
struct TakenOver(Arc<dyn LeaseStore>);

#[async_trait]
impl LeaseStore for TakenOver {
    async fn acquire_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError> {
        self.0.acquire_lease(key, holder, ttl).await
    }

    async fn renew_lease(&self, key: &InstanceKey, holder: &str, _ttl: Duration) -> Result<Lease, StoreError> {
        Err(lease_lost(key, holder))
    }

    async fn release_lease(&self, key: &InstanceKey, holder: &str) -> Result<(), StoreError> {
        self.0.release_lease(key, holder).await
    }
}

/// The real checkpoint store, except that its first advances fail as if the process died
/// between enqueuing a page and checkpointing it.
struct FailingAdvances {
    inner: Arc<dyn CheckpointStore>,
    failures: AtomicU32,
}

#[async_trait]
impl CheckpointStore for FailingAdvances {
    async fn read_checkpoint(&self, key: &InstanceKey) -> Result<Option<Checkpoint>, StoreError> {
        self.inner.read_checkpoint(key).await
    }

    async fn advance_checkpoint(
        &self,
        key: &InstanceKey,
        expected: u64,
        value: &str,
    ) -> Result<Checkpoint, StoreError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::backend("advancing the checkpoint", "simulated crash"));
        }
        self.inner.advance_checkpoint(key, expected, value).await
    }

    async fn delete_checkpoint(&self, key: &InstanceKey) -> Result<(), StoreError> {
        self.inner.delete_checkpoint(key).await
    }
}

/// Everything logged (JSON, debug level) by every test of this binary from the first call on.
/// (A subscriber scoped to one test thread loses events once other threads have cached their
/// callsites as uninteresting, so the capture is global.)
pub fn capture_logs() -> CapturedLogs {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_current_span(true)
            .with_writer(move || LogWriter(writer.clone()))
            .init();
        buffer
    });
    CapturedLogs { buffer: buffer.clone() }
}

/// Logs captured by [`capture_logs`].
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
