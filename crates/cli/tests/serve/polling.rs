//! The poller inside serve against a fake GitHub-issues-like API: signals appear, and a restart
//! resumes from the stored checkpoint without emitting old items again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{Api, Launch, eventually};

/// Forgets the instance's checkpoint, as if serve had crashed after enqueuing the items and
/// before advancing it (serve must be stopped).
fn lose_checkpoint(data_dir: &std::path::Path) {
    let db = rusqlite::Connection::open(data_dir.join("switchboard.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    let deleted = db.execute("DELETE FROM checkpoints", []).unwrap();
    assert_eq!(deleted, 1, "one instance had a checkpoint");
}

const WAIT: Duration = Duration::from_secs(20);
const PAGE_SIZE: usize = 2;

/// A GitHub-issues-like API: `GET /issues?since=&per_page=&page=` lists issues updated at or
/// after `since`, oldest first, with a `Link: <…>; rel="next"` header while pages remain.
#[derive(Clone)]
struct FakeIssues {
    /// The server's own address, for `Link` URLs.
    base: String,
    /// `(id, minute of 2024-05-01T00:MM:00Z)`.
    issues: Arc<Mutex<Vec<(u64, u32)>>>,
    /// The `since` of every request (`None` when absent).
    seen_since: Arc<Mutex<Vec<Option<String>>>>,
    /// The `page` of every request.
    seen_pages: Arc<Mutex<Vec<usize>>>,
    /// While set, pages after the first take a minute to answer.
    slow: Arc<AtomicBool>,
}

fn updated_at(minute: u32) -> String {
    format!("2024-05-01T00:{minute:02}:00Z")
}

impl FakeIssues {
    fn new(base: String) -> Self {
        Self {
            base,
            issues: Arc::default(),
            seen_since: Arc::default(),
            seen_pages: Arc::default(),
            slow: Arc::default(),
        }
    }

    fn add(&self, id: u64, minute: u32) {
        self.issues.lock().unwrap().push((id, minute));
    }

    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let since = param("since");
        self.seen_since.lock().unwrap().push(since.clone());
        let since: Option<DateTime<Utc>> = since.map(|s| s.parse().expect("since is RFC 3339"));
        let page: usize = param("page").map_or(1, |p| p.parse().unwrap());
        self.seen_pages.lock().unwrap().push(page);
        let per_page: usize = param("per_page").map_or(30, |p| p.parse().unwrap());

        let mut matching: Vec<(u64, u32)> = self.issues.lock().unwrap().clone();
        matching.retain(|(_, minute)| since.is_none_or(|s| updated_at(*minute).parse::<DateTime<Utc>>().unwrap() >= s));
        matching.sort_by_key(|(id, minute)| (*minute, *id));
        let items: Vec<Value> = matching
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .map(|(id, minute)| json!({"id": id, "title": format!("Issue {id}"), "updated_at": updated_at(*minute)}))
            .collect();
        let mut response = ResponseTemplate::new(200).set_body_json(items);
        if page > 1 && self.slow.load(Ordering::SeqCst) {
            response = response.set_delay(Duration::from_secs(60));
        }
        if page * per_page < matching.len() {
            let mut next = url::Url::parse(&format!("{}/issues", self.base)).unwrap();
            let kept: Vec<(String, String)> = query.into_iter().filter(|(k, _)| k != "page").collect();
            next.query_pairs_mut().clear().extend_pairs(kept).append_pair("page", &(page + 1).to_string());
            response = response.insert_header("Link", format!(r#"<{next}>; rel="next""#));
        }
        response
    }
}

/// A polling descriptor for the fake, due every second.
fn descriptor() -> Value {
    json!({
        "id": "fake-issues", "name": "Fake issues", "description": "Issues of a local fake API", "category": "code_and_devops",
        "icon": "github", "kind": "generic",
        "auth": {"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization",
            "credentialFields": [{"key": "token", "label": "Token", "type": "password", "required": true}]}},
        "configFields": [{"key": "baseUrl", "label": "API", "type": "url", "required": true}],
        "ingestion": {"mode": "polling", "method": "GET", "endpoint": "{{baseUrl}}/issues",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "rateLimitRpm": 6000, "intervalSeconds": 1,
            "pagination": {"type": "link_header", "pageSize": PAGE_SIZE, "pageSizeParam": "per_page"}},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.updated_at",
            "summaryTemplate": "{{title}}",
            "signalTypeRules": [{"when": "$.id", "operator": "exists", "then": "issue_updated"}]},
        "healthCheck": {"endpoint": "{{baseUrl}}/user", "method": "GET", "expectStatus": 200, "timeoutMs": 2000},
        "version": "1.0.0"
    })
}

/// External ids in the `--signals-out` file, one per signal line, in order.
fn written_ids(file: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["externalId"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| id.parse::<u64>().unwrap());
    ids
}

fn strings(ids: std::ops::RangeInclusive<u64>) -> Vec<String> {
    ids.map(|id| id.to_string()).collect()
}

/// Starts the fake with issues `1..=count` (issue `n` updated at minute `n`).
async fn fake_api(count: u64) -> (MockServer, FakeIssues) {
    let server = MockServer::start().await;
    let fake = FakeIssues::new(server.uri());
    for id in 1..=count {
        fake.add(id, u32::try_from(id).unwrap());
    }
    let responder = fake.clone();
    Mock::given(method("GET"))
        .and(path("/issues"))
        .respond_with(move |request: &Request| responder.respond(request))
        .mount(&server)
        .await;
    (server, fake)
}

/// Registers the fake's descriptor and connects it to project `acme`.
async fn connect(api: &Api, server: &MockServer) {
    let (status, body) = api.post("/connectors", &descriptor()).await;
    assert_eq!(status, 201, "{body}");
    let instance = json!({"config": {"baseUrl": server.uri()}, "credentials": {"token": "fake-token"}});
    let (status, body) = api.post("/projects/acme/connectors/fake-issues", &instance).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn polled_items_become_signals_and_a_restart_resumes_from_the_checkpoint() {
    let (server, fake) = fake_api(5).await;
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("signals.jsonl");
    let launch = Launch::new(data.path()).args(&["--signals-out", out.to_str().unwrap()]);
    let mut serve = launch.start().await;
    let api = serve.admin();
    connect(&api, &server).await;

    eventually("the five polled issues as signals", WAIT, || async {
        (api.signals("acme").await.len() == 5).then_some(())
    })
    .await;
    // Let the poller run again at least once on the unchanged API.
    let requests_so_far = fake.seen_since.lock().unwrap().len();
    eventually("another poll", WAIT, || async {
        (fake.seen_since.lock().unwrap().len() > requests_so_far).then_some(())
    })
    .await;
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());
    assert_eq!(sorted(written_ids(&out)), strings(1..=5));

    // While serve is down, three issues change; the restarted serve must fetch only from the checkpoint.
    for id in 6..=8 {
        fake.add(id, u32::try_from(id).unwrap());
    }
    let first_request_of_restart = fake.seen_since.lock().unwrap().len();
    let mut serve = launch.start().await;
    let api = serve.admin();
    eventually("the three newer issues as signals", WAIT, || async {
        (api.signals("acme").await.len() == 8).then_some(())
    })
    .await;
    eventually("the newer issues written out", WAIT, || async { (written_ids(&out).len() >= 8).then_some(()) }).await;
    let ids = api.external_ids("acme").await;
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());

    let since = fake.seen_since.lock().unwrap()[first_request_of_restart].clone();
    let since: DateTime<Utc> = since.expect("the restarted poll sends since").parse().unwrap();
    assert_eq!(since, updated_at(5).parse::<DateTime<Utc>>().unwrap(), "since is the newest item seen before");
    // Every item was emitted once over both runs, in the stream and in the API.
    assert_eq!(sorted(written_ids(&out)), strings(1..=8));
    assert_eq!(sorted(ids.keys().cloned().collect()), strings(1..=8));
    assert!(ids.values().all(|n| *n == 1), "an item appears twice in the API: {ids:?}");
}

#[tokio::test]
async fn sigterm_during_a_slow_page_exits_at_once_and_the_restart_continues_with_that_page() {
    let (server, fake) = fake_api(6).await;
    fake.slow.store(true, Ordering::SeqCst);
    let data = tempfile::tempdir().unwrap();
    let launch = Launch::new(data.path());
    let mut serve = launch.start().await;
    let api = serve.admin();
    connect(&api, &server).await;

    // Page 1 is enqueued and checkpointed; page 2 hangs.
    eventually("page 1 as signals", WAIT, || async { (api.signals("acme").await.len() == 2).then_some(()) }).await;
    eventually("a request for page 2", WAIT, || async { fake.seen_pages.lock().unwrap().contains(&2).then_some(()) })
        .await;
    let asked = Instant::now();
    serve.signal("TERM");
    let status = serve.wait_exit(WAIT).await;
    assert!(status.success(), "{status}\n{}", serve.stderr());
    assert!(asked.elapsed() < Duration::from_secs(10), "serve waited {:?} for the slow page", asked.elapsed());

    fake.slow.store(false, Ordering::SeqCst);
    let first_request_of_restart = fake.seen_pages.lock().unwrap().len();
    let serve = launch.start().await;
    let api = serve.admin();
    eventually("all six issues as signals", WAIT, || async { (api.signals("acme").await.len() == 6).then_some(()) })
        .await;
    assert_eq!(fake.seen_pages.lock().unwrap()[first_request_of_restart], 2, "the restart continues with page 2");
    let ids = api.external_ids("acme").await;
    assert_eq!(sorted(ids.keys().cloned().collect()), strings(1..=6));
    assert!(ids.values().all(|n| *n == 1), "an item appears twice: {ids:?}");
}

#[tokio::test]
async fn items_enqueued_again_after_a_crash_before_the_checkpoint_are_signals_once() {
    let (server, fake) = fake_api(3).await;
    let data = tempfile::tempdir().unwrap();
    let out = data.path().join("signals.jsonl");
    let launch = Launch::new(data.path()).args(&["--signals-out", out.to_str().unwrap()]);
    let mut serve = launch.start().await;
    let api = serve.admin();
    connect(&api, &server).await;
    eventually("the three polled issues as signals", WAIT, || async {
        (api.signals("acme").await.len() == 3).then_some(())
    })
    .await;
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());
    lose_checkpoint(data.path());

    let first_request_of_restart = fake.seen_since.lock().unwrap().len();
    let mut serve = launch.start().await;
    let api = serve.admin();
    // The poller sends every item again; the normaliser drops each repeat as a duplicate.
    let counts = eventually("the three repeats counted as duplicates", WAIT, || async {
        let counts = api.counts("acme", "fake-issues").await;
        (counts["duplicates"] == 3).then_some(counts)
    })
    .await;
    assert_eq!(fake.seen_since.lock().unwrap()[first_request_of_restart], None, "the restart polls from the start");
    assert_eq!(counts["signals"], 3, "{counts}");
    let ids = api.external_ids("acme").await;
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());
    assert_eq!(sorted(ids.keys().cloned().collect()), strings(1..=3));
    assert!(ids.values().all(|n| *n == 1), "an item appears twice in the API: {ids:?}");
    assert_eq!(sorted(written_ids(&out)), strings(1..=3), "each item reached the signals queue once");
}

#[tokio::test]
async fn without_an_egress_allowance_a_loopback_api_is_refused_in_test_and_in_the_sync_log() {
    let (server, _fake) = fake_api(2).await;
    let data = tempfile::tempdir().unwrap();
    let mut serve = Launch::new(data.path()).without_egress_allowance().start().await;
    let api = serve.admin();
    connect(&api, &server).await;

    let (status, body) = api.post("/projects/acme/connectors/fake-issues/test", &json!({})).await;
    assert!(status < 500, "{status} {body}");
    let shown = body.to_string();
    assert!(shown.contains("egress_denied: 127.0.0.1") && shown.contains("config"), "{shown}");
    assert!(!shown.to_lowercase().contains("connection refused"), "{shown}");

    let health = eventually("a failed sync in the log", WAIT, || async {
        let (_, body) = api.get("/projects/acme/connectors/fake-issues/health").await;
        body.to_string().contains("egress_denied: 127.0.0.1").then_some(body)
    })
    .await;
    assert!(!health.to_string().contains("fake-token"), "{health}");
    assert!(serve.stop().await.success(), "{}", serve.stderr());
    assert!(server.received_requests().await.unwrap().is_empty(), "the fake API was contacted");
}

#[tokio::test]
async fn a_new_instance_is_polled_at_once_and_shows_its_sync_state_even_with_an_hourly_tick() {
    let (server, _fake) = fake_api(5).await;
    let data = tempfile::tempdir().unwrap();
    // The scheduled run happens at start, before the instance exists, and then only in an hour.
    let launch = Launch::new(data.path()).poll_tick(3600);
    let serve = launch.start().await;
    let api = serve.admin();
    connect(&api, &server).await;

    eventually("the five polled issues as signals", WAIT, || async {
        (api.signals("acme").await.len() == 5).then_some(())
    })
    .await;
    let instance = eventually("the run recorded on the instance", WAIT, || async {
        let (status, instance) = api.get("/projects/acme/connectors/fake-issues").await;
        assert_eq!(status, 200, "{instance}");
        (instance["sync"]["changeCount"] == 5).then_some(instance)
    })
    .await;
    let sync = &instance["sync"];
    assert_eq!(sync["pollingIntervalSeconds"], 1, "{sync}");
    assert_eq!(sync["errorCount"], 0, "{sync}");
    assert!(sync["backfill"].is_null(), "a complete first run ends the backfill: {sync}");
    let polled: DateTime<Utc> = sync["lastPolledAt"].as_str().expect("lastPolledAt").parse().unwrap();
    let next: DateTime<Utc> = sync["nextPollAt"].as_str().expect("nextPollAt").parse().unwrap();
    assert!(next > polled, "{sync}");
    assert_eq!(instance["reauthNeeded"], false);

    // The interval can be changed within the connector's bounds, and nowhere else.
    let (status, body) =
        api.patch("/projects/acme/connectors/fake-issues", &json!({"pollingIntervalSeconds": 120})).await;
    assert_eq!((status, body["sync"]["pollingIntervalSeconds"].clone()), (200, json!(120)), "{body}");
    let (status, body) =
        api.patch("/projects/acme/connectors/fake-issues", &json!({"pollingIntervalSeconds": 90_000})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"][0]["pointer"], "/pollingIntervalSeconds", "{body}");
}
