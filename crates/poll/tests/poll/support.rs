//! Test support: descriptors, an engine on a manual clock, and wiremock fakes that behave like
//! the real APIs (GitHub Link headers and `since`, a cursor feed, an offset API with totals, a
//! Microsoft Graph-style delta API, an OAuth token endpoint that rotates refresh tokens).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, GuardTrip, HealthReport, PollError, PollRequest, StopReason};
use switchboard_poll::{Credentials, EgressAllow, ManualTimer, PollEngine, PollOptions, RetryPolicy};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

/// A fixed wall-clock start for manual timers.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T00:00:00Z").unwrap().with_timezone(&Utc)
}

/// The egress exception the fakes need: they listen on 127.0.0.1, which the guard refuses
/// unless told otherwise.
pub fn loopback_fakes() -> EgressAllow {
    EgressAllow::parse("127.0.0.1").unwrap()
}

/// An engine on a manual clock (waits are recorded, not slept).
pub fn engine() -> (PollEngine, ManualTimer) {
    engine_with(|_| {})
}

/// An engine on a manual clock with adjusted options.
pub fn engine_with(adjust: impl FnOnce(&mut PollOptions)) -> (PollEngine, ManualTimer) {
    let timer = ManualTimer::new(t0());
    let mut options = PollOptions {
        timer: Arc::new(timer.clone()),
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy { max_attempts: 4, ..RetryPolicy::default() },
        egress: loopback_fakes(),
        ..PollOptions::default()
    };
    adjust(&mut options);
    (PollEngine::new(options).unwrap(), timer)
}

/// `baseUrl` pointing at a fake.
pub fn config(server: &MockServer) -> BTreeMap<String, String> {
    BTreeMap::from([("baseUrl".to_owned(), server.uri())])
}

/// Auth `none`.
pub fn no_auth() -> Value {
    json!({"method": "none"})
}

/// A PAT sent as a bearer token from credential `token`.
pub fn pat_auth() -> Value {
    json!({"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization",
        "credentialFields": [{"key": "token", "label": "Token", "type": "password", "required": true}]}})
}

/// OAuth2 against the fake token endpoint.
pub fn oauth_auth(server: &MockServer) -> Value {
    json!({"method": "oauth2", "config": {
    "authoriseUrl": format!("{}/oauth/authorize", server.uri()),
    "tokenUrl": format!("{}/oauth/token", server.uri()),
    "scopes": ["read"],
    "credentialFields": [
        {"key": "clientId", "label": "Client id", "type": "text", "required": true},
        {"key": "clientSecret", "label": "Client secret", "type": "password", "required": true}
    ]}})
}

/// A polling descriptor: `polling` is merged into `{"mode": "polling", ...}`.
pub fn descriptor(auth: Value, polling: Value, items_path: &str) -> Descriptor {
    compile(&descriptor_doc(auth, polling, items_path))
}

/// Compiles a descriptor document, panicking with its problems.
pub fn compile(doc: &Value) -> Descriptor {
    Descriptor::from_value(doc, "test").unwrap_or_else(|e| panic!("{e}"))
}

/// The JSON of [`descriptor`], to adjust before compiling.
pub fn descriptor_doc(auth: Value, polling: Value, items_path: &str) -> Value {
    let mut ingestion = json!({"mode": "polling", "method": "GET", "rateLimitRpm": 600000});
    for (k, v) in polling.as_object().unwrap() {
        ingestion[k] = v.clone();
    }
    json!({
        "id": "test-api", "name": "Test API", "description": "A fake API", "category": "custom",
        "icon": "box", "kind": "generic", "auth": auth,
        "configFields": [{"key": "baseUrl", "label": "Base URL", "type": "url", "required": true}],
        "ingestion": ingestion,
        "fieldMapping": {
            "itemsPath": items_path, "idPath": "$.id", "timestampPath": "$.updated_at",
            "summaryTemplate": "{{title}}",
            "signalTypeRules": [{"when": "$.id", "operator": "exists", "then": "item_changed"}]
        },
        "healthCheck": {"endpoint": "{{baseUrl}}/health", "method": "GET", "expectStatus": 200, "timeoutMs": 1000},
        "version": "1.0.0"
    })
}

/// The ids of items, in order.
pub fn ids(items: &[Value]) -> Vec<u64> {
    items.iter().map(|i| i["id"].as_u64().unwrap()).collect()
}

/// A query parameter of a fake's request.
pub fn param(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The request's URL as the client sent it (wiremock reports `localhost`; the Host header
/// has the real address).
pub fn requested_url(request: &Request) -> url::Url {
    let host = request.headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let mut url = request.url.clone();
    url.set_host(Some(host.split(':').next().unwrap())).unwrap();
    if let Some(port) = host.split(':').nth(1) {
        url.set_port(Some(port.parse().unwrap())).unwrap();
    }
    url
}

/// Items an API serves: id, title, update time and a change version, all increasing.
#[derive(Clone, Default)]
pub struct Dataset(Arc<Mutex<Vec<Item>>>);

/// One item of a [`Dataset`].
#[derive(Clone, Debug)]
pub struct Item {
    pub id: u64,
    pub updated: DateTime<Utc>,
}

impl Dataset {
    /// `n` items, one minute apart, starting at [`t0`].
    pub fn with(n: u64) -> Self {
        let data = Self::default();
        data.add(n);
        data
    }

    /// Appends `n` items, newer than all existing ones.
    pub fn add(&self, n: u64) {
        let mut items = self.0.lock().unwrap();
        let start = items.len() as u64;
        for i in start..start + n {
            items.push(Item { id: i + 1, updated: t0() + TimeDelta::minutes(i as i64) });
        }
    }

    /// All items.
    pub fn all(&self) -> Vec<Item> {
        self.0.lock().unwrap().clone()
    }
}

fn item_json(item: &Item) -> Value {
    json!({"id": item.id, "title": format!("Item {}", item.id), "updated_at": item.updated.to_rfc3339()})
}

/// GitHub issues: `since` (at or after), `per_page`, `page`, RFC 8288 Link headers, a bare array.
pub struct GitHubFake(pub Dataset);

impl Respond for GitHubFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let since = param(request, "since").map(|s| DateTime::parse_from_rfc3339(&s).unwrap().with_timezone(&Utc));
        let per_page: usize = param(request, "per_page").map_or(30, |p| p.parse().unwrap());
        let page: usize = param(request, "page").map_or(1, |p| p.parse().unwrap());
        let matching: Vec<Item> = self.0.all().into_iter().filter(|i| since.is_none_or(|s| i.updated >= s)).collect();
        let body: Vec<Value> = matching.iter().skip((page - 1) * per_page).take(per_page).map(item_json).collect();
        let mut response = ResponseTemplate::new(200).set_body_json(body);
        let pages = matching.len().div_ceil(per_page);
        if page < pages {
            let mut next = requested_url(request);
            let kept: Vec<(String, String)> =
                next.query_pairs().filter(|(k, _)| k != "page").map(|(k, v)| (k.into(), v.into())).collect();
            next.query_pairs_mut().clear().extend_pairs(kept).append_pair("page", &(page + 1).to_string());
            let mut last = next.clone();
            last.query_pairs_mut().append_pair("last", "1");
            response = response.insert_header("Link", format!(r#"<{next}>; rel="next", <{last}>; rel="last""#));
        }
        response
    }
}

/// An event feed: `after` (an event token), `limit`; answers `next` while more pages follow and
/// always `resume`, the token of the newest event returned so far.
pub struct CursorFake(pub Dataset);

impl Respond for CursorFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let after: u64 = param(request, "after").map_or(0, |a| a.trim_start_matches('e').parse().unwrap());
        let limit: usize = param(request, "limit").map_or(10, |l| l.parse().unwrap());
        let newer: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > after).collect();
        let page: Vec<&Item> = newer.iter().take(limit).collect();
        let resume = page.last().map_or(format!("e{after}"), |i| format!("e{}", i.id));
        let next = (newer.len() > limit).then(|| resume.clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "events": page.into_iter().map(item_json).collect::<Vec<_>>(),
            "next": next,
            "resume": resume,
        }))
    }
}

/// Tickets by increasing id: `since_id` (greater than), `offset`, `limit`, and a `total`.
pub struct OffsetFake(pub Dataset);

impl Respond for OffsetFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let since: u64 = param(request, "since_id").map_or(0, |s| s.parse().unwrap());
        let offset: usize = param(request, "offset").map_or(0, |o| o.parse().unwrap());
        let limit: usize = param(request, "limit").map_or(10, |l| l.parse().unwrap());
        let matching: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > since).collect();
        let page: Vec<Value> = matching.iter().skip(offset).take(limit).map(item_json).collect();
        ResponseTemplate::new(200).set_body_json(json!({"result": {"tickets": page, "total": matching.len()}}))
    }
}

/// Microsoft Graph delta: `$skiptoken` pages with `@odata.nextLink`, a final `@odata.deltaLink`
/// whose `$deltatoken` returns only items changed after it.
pub struct GraphFake(pub Dataset);

impl Respond for GraphFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        const PAGE: usize = 4;
        let (from, skip): (u64, usize) = match (param(request, "$deltatoken"), param(request, "$skiptoken")) {
            (_, Some(skip)) => {
                let (from, skip) = skip.split_once('-').unwrap();
                (from.parse().unwrap(), skip.parse().unwrap())
            }
            (Some(delta), None) => (delta.parse().unwrap(), 0),
            (None, None) => (0, 0),
        };
        let changed: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > from).collect();
        let page: Vec<Value> = changed.iter().skip(skip).take(PAGE).map(item_json).collect();
        let url = requested_url(request);
        let base = format!("{}://{}{}", url.scheme(), url.authority(), url.path());
        let mut body = json!({"@odata.context": "users", "value": page});
        if skip + PAGE < changed.len() {
            body["@odata.nextLink"] = json!(format!("{base}?$skiptoken={from}-{}", skip + PAGE));
        } else {
            let newest = changed.last().map_or(from, |i| i.id);
            body["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={newest}"));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// An OAuth2 token endpoint that rotates refresh tokens (an old one gets `invalid_grant`) and
/// counts its calls, and the API behind it that accepts only the newest access token.
#[derive(Clone)]
pub struct OAuthFake {
    pub state: Arc<Mutex<OAuthState>>,
    pub calls: Arc<AtomicUsize>,
}

/// The tokens currently valid.
pub struct OAuthState {
    pub generation: usize,
    pub access: String,
    pub refresh: String,
}

impl OAuthFake {
    /// Valid tokens `at-0` / `rt-0`.
    pub fn new() -> Self {
        Self {
            state: Arc::new(Mutex::new(OAuthState { generation: 0, access: "at-0".into(), refresh: "rt-0".into() })),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Calls to the token endpoint so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The API: 401 unless the bearer is the current access token.
    pub fn api(&self) -> impl Respond + use<> {
        let state = self.state.clone();
        move |request: &Request| {
            let expected = format!("Bearer {}", state.lock().unwrap().access);
            match request.headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some(got) if got == expected => ResponseTemplate::new(200)
                    .set_body_json(json!({"items": [item_json(&Item { id: 1, updated: t0() })]})),
                _ => ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})),
            }
        }
    }
}

impl Respond for OAuthFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&request.body).into_owned().collect();
        if form.get("client_id").map(String::as_str) != Some("client") {
            return ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"}));
        }
        let mut state = self.state.lock().unwrap();
        let grant_ok = match form.get("grant_type").map(String::as_str) {
            Some("refresh_token") => form.get("refresh_token") == Some(&state.refresh),
            Some("authorization_code") => form.get("code").map(String::as_str) == Some("good-code"),
            _ => false,
        };
        if !grant_ok {
            return ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "refresh token revoked"}));
        }
        state.generation += 1;
        state.access = format!("at-{}", state.generation);
        state.refresh = format!("rt-{}", state.generation);
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": state.access, "refresh_token": state.refresh,
                "token_type": "Bearer", "expires_in": 3600}))
            // Slow enough that concurrent callers overlap.
            .set_delay(Duration::from_millis(50))
    }
}

/// OAuth2 credentials for [`OAuthFake`] with the given tokens and expiry.
pub fn oauth_credentials(access: &str, refresh: &str, expires_at: DateTime<Utc>) -> Credentials {
    [
        ("clientId", "client".to_owned()),
        ("clientSecret", "client-secret-value".to_owned()),
        ("accessToken", access.to_owned()),
        ("refreshToken", refresh.to_owned()),
        ("expiresAt", expires_at.to_rfc3339()),
    ]
    .into_iter()
    .collect::<Credentials>()
}

/// A whole run collected from [`PollEngine::pages`] (what the spec calls `fetchDelta`).
#[derive(Debug, Clone)]
pub struct Delta {
    /// Every item of every page, in order.
    pub items: Vec<Value>,
    /// The checkpoint to store.
    pub new_checkpoint: Checkpoint,
    /// Pages fetched.
    pub pages: u32,
    /// Refreshed credentials to persist.
    pub refreshed_credentials: Option<Credentials>,
    /// The guard that tripped, if any.
    pub guard: Option<GuardTrip>,
    /// Why the run ended.
    pub stop: StopReason,
}

/// Runs `descriptor` until the API has no more pages, a guard trips or the time budget runs
/// out, and collects the run.
pub async fn fetch_delta(
    engine: &PollEngine,
    descriptor: &Descriptor,
    request: PollRequest<'_>,
) -> Result<Delta, PollError> {
    let mut stream = engine.pages(descriptor, request)?;
    let mut items = Vec::new();
    while let Some(page) = stream.next_page().await? {
        items.extend(page.items);
    }
    let summary = stream.summary();
    Ok(Delta {
        items,
        new_checkpoint: summary.checkpoint,
        pages: summary.pages,
        refreshed_credentials: summary.refreshed_credentials,
        guard: summary.guard,
        stop: summary.stop.unwrap_or(StopReason::Complete),
    })
}

/// Runs a descriptor's health check with a one-off engine that may reach the loopback fakes.
pub async fn check(
    descriptor: &Descriptor,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> HealthReport {
    let options = PollOptions { egress: loopback_fakes(), ..PollOptions::default() };
    PollEngine::new(options).unwrap().check(descriptor, config, credentials).await
}
