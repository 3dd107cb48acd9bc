//! Response rules, each action against a fake: `ignore`, `fail` (auth / config / transient),
//! `retry`, `refresh_token_then_retry`, and `reset_checkpoint` against a Google-Calendar-shaped
//! API whose sync tokens expire (410 Gone): every item exactly once, the right checkpoint, and a
//! second poll that returns only newer items.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, FailureClass, PollError, PollRequest, RunNote, StopReason};
use switchboard_poll::{Credentials, PollEngine};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

fn with_rules(rules: Value) -> Descriptor {
    descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/items",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "responseRules": rules
        }),
        "$.items",
    )
}

async fn poll_with(
    engine: &PollEngine,
    descriptor: &Descriptor,
    server: &MockServer,
    checkpoint: Option<&Checkpoint>,
) -> Result<Delta, PollError> {
    let config = config(server);
    let credentials = Credentials::new();
    let stored = checkpoint.map(|c| Checkpoint::parse(&c.to_string()).unwrap());
    fetch_delta(engine, descriptor, PollRequest { checkpoint: stored, ..PollRequest::new(&config, &credentials) }).await
}

/// Items newer than `since_id`; answers `status` with `body` instead while one is set.
#[derive(Clone, Default)]
struct Switchable {
    data: Dataset,
    answer: Arc<Mutex<Option<(u16, Value)>>>,
    calls: Arc<AtomicUsize>,
}

impl Switchable {
    fn answer(&self, status: u16, body: Value) {
        *self.answer.lock().unwrap() = Some((status, body));
    }

    fn heal(&self) {
        *self.answer.lock().unwrap() = None;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Respond for Switchable {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some((status, body)) = self.answer.lock().unwrap().clone() {
            return ResponseTemplate::new(status).set_body_json(body).insert_header("X-Error-Kind", "throttled");
        }
        let since: u64 = param(request, "since_id").map_or(0, |s| s.parse().unwrap());
        let items: Vec<Value> = self
            .data
            .all()
            .iter()
            .filter(|i| i.id > since)
            .map(|i| json!({"id": i.id, "title": format!("Item {}", i.id), "updated_at": i.updated.to_rfc3339()}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"ok": true, "items": items}))
    }
}

async fn serve(fake: &Switchable) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/items")).respond_with(fake.clone()).mount(&server).await;
    server
}

#[tokio::test]
async fn an_ignored_404_yields_an_empty_last_page_not_an_error() {
    let fake = Switchable { data: Dataset::with(5), ..Switchable::default() };
    let server = serve(&fake).await;
    let descriptor = with_rules(json!([{"status": 404, "action": "ignore"}]));
    let (engine, _) = engine();

    let first = poll_with(&engine, &descriptor, &server, None).await.unwrap();
    assert_eq!(ids(&first.items), (1..=5).collect::<Vec<_>>());
    assert_eq!(first.new_checkpoint, Checkpoint::at("5"));

    fake.answer(404, json!({"message": "Not Found"}));
    let gone = poll_with(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await.unwrap();
    assert_eq!((gone.items.len(), gone.pages, gone.stop), (0, 1, StopReason::Complete));
    assert_eq!(gone.new_checkpoint, first.new_checkpoint, "nothing seen: the checkpoint stays");

    // Without the rule the same answer is a configuration error.
    let strict = with_rules(json!([]));
    let err = poll_with(&engine, &strict, &server, None).await.unwrap_err();
    assert!(matches!(err, PollError::Rejected { status: 404, .. }), "{err:?}");

    fake.heal();
    fake.data.add(2);
    let second = poll_with(&engine, &descriptor, &server, Some(&gone.new_checkpoint)).await.unwrap();
    assert_eq!(ids(&second.items), vec![6, 7]);
    assert_eq!(second.new_checkpoint, Checkpoint::at("7"));
}

#[tokio::test]
async fn fail_rules_classify_a_200_that_reports_an_error_in_its_body() {
    // Slack answers HTTP 200 with `{"ok": false, "error": "..."}`.
    let fake = Switchable { data: Dataset::with(3), ..Switchable::default() };
    let server = serve(&fake).await;
    let descriptor = with_rules(json!([
        {"body": {"when": "$.error", "operator": "in", "value": ["invalid_auth", "token_revoked"]},
         "action": "fail", "failAs": "auth", "message": "the token was revoked"},
        {"body": {"when": "$.error", "operator": "equals", "value": "channel_not_found"}, "action": "fail", "failAs": "config"},
        {"body": {"when": "$.ok", "operator": "equals", "value": false}, "action": "fail", "failAs": "transient"}
    ]));
    let (engine, _) = engine();
    for (error, class) in [
        ("token_revoked", FailureClass::Auth),
        ("channel_not_found", FailureClass::Config),
        ("internal_error", FailureClass::Transient),
    ] {
        fake.answer(200, json!({"ok": false, "error": error}));
        let err = poll_with(&engine, &descriptor, &server, None).await.unwrap_err();
        assert_eq!(err.class(), class, "{error}: {err}");
        assert!(matches!(err, PollError::Declared { status: 200, .. }), "{err:?}");
    }
    fake.answer(200, json!({"ok": false, "error": "invalid_auth"}));
    let err = poll_with(&engine, &descriptor, &server, None).await.unwrap_err();
    assert!(err.needs_reauth());
    assert!(err.to_string().contains("the token was revoked (responseRules[0])"), "{err}");

    fake.heal();
    let first = poll_with(&engine, &descriptor, &server, None).await.unwrap();
    assert_eq!(ids(&first.items), vec![1, 2, 3]);
    fake.data.add(1);
    let second = poll_with(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await.unwrap();
    assert_eq!((ids(&second.items), second.new_checkpoint), (vec![4], Checkpoint::at("4")));
}

/// Answers `status` `times` times, then serves the data.
#[derive(Clone)]
struct FailsFirst {
    inner: Switchable,
    left: Arc<AtomicUsize>,
    status: u16,
}

impl Respond for FailsFirst {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            self.inner.calls.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(self.status)
                .set_body_json(json!({"error": "index_not_ready"}))
                .insert_header("X-Error-Kind", "throttled");
        }
        self.inner.respond(request)
    }
}

#[tokio::test]
async fn retry_rules_back_off_and_give_up_after_their_attempts() {
    let inner = Switchable { data: Dataset::with(4), ..Switchable::default() };
    let fake = FailsFirst { inner: inner.clone(), left: Arc::new(AtomicUsize::new(2)), status: 409 };
    let server = MockServer::start().await;
    Mock::given(path("/items")).respond_with(fake.clone()).mount(&server).await;
    let descriptor = with_rules(json!([
        {"status": 409, "header": {"name": "x-error-kind", "value": "THROTTLED"}, "action": "retry", "maxAttempts": 3}
    ]));
    let (engine, timer) = engine();

    let first = poll_with(&engine, &descriptor, &server, None).await.unwrap();
    assert_eq!(ids(&first.items), vec![1, 2, 3, 4]);
    assert_eq!(inner.calls(), 3, "two refusals, then the page");
    assert_eq!(timer.sleeps().len(), 2, "a backoff before each retry: {:?}", timer.sleeps());

    fake.left.store(10, Ordering::SeqCst);
    let err = poll_with(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Transient);
    assert!(err.to_string().contains("after 3 attempt(s)"), "{err}");
    assert_eq!(inner.calls(), 6, "three attempts in all");

    fake.left.store(0, Ordering::SeqCst);
    inner.data.add(2);
    let second = poll_with(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await.unwrap();
    assert_eq!(ids(&second.items), vec![5, 6]);
}

#[tokio::test]
async fn refresh_token_then_retry_renews_the_token_through_the_refresher() {
    let server = MockServer::start().await;
    let oauth = OAuthFake::new();
    Mock::given(method("POST")).and(path("/oauth/token")).respond_with(oauth.clone()).mount(&server).await;
    // This API says an expired token with a 403 and an error code, not a 401.
    let state = oauth.state.clone();
    let data = Dataset::with(3);
    let served = data.clone();
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(move |request: &Request| {
            let expected = format!("Bearer {}", state.lock().unwrap().access);
            if request.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                return ResponseTemplate::new(403).set_body_json(json!({"error": {"code": "TokenExpired"}}));
            }
            let since: u64 = param(request, "since_id").map_or(0, |s| s.parse().unwrap());
            let items: Vec<Value> = served
                .all()
                .iter()
                .filter(|i| i.id > since)
                .map(|i| json!({"id": i.id, "title": "t", "updated_at": i.updated.to_rfc3339()}))
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"items": items}))
        })
        .mount(&server)
        .await;
    let polling = json!({
        "endpoint": "{{baseUrl}}/items",
        "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
        "responseRules": [{"status": 403, "body": {"when": "$.error.code", "operator": "equals", "value": "TokenExpired"},
            "action": "refresh_token_then_retry"}]
    });
    let descriptor = descriptor(oauth_auth(&server), polling.clone(), "$.items");
    let (engine, _) = engine();
    let config = config(&server);
    // The stored token looks valid for another hour, but the API has revoked it.
    let credentials = oauth_credentials("at-revoked", "rt-0", t0() + TimeDelta::hours(1));

    let first = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(ids(&first.items), vec![1, 2, 3]);
    assert_eq!(oauth.calls(), 1, "one refresh");
    let refreshed = first.refreshed_credentials.expect("the new tokens are handed back to persist");
    assert_eq!(switchboard_poll::credentials::expose(&refreshed, "accessToken"), Some("at-1"));

    data.add(1);
    let request =
        PollRequest { checkpoint: Some(first.new_checkpoint.clone()), ..PollRequest::new(&config, &refreshed) };
    let second = fetch_delta(&engine, &descriptor, request).await.unwrap();
    assert_eq!(ids(&second.items), vec![4]);
    assert_eq!(oauth.calls(), 1, "the new token is still good");

    // Without the rule a 403 is a rejection of the credentials, with no refresh.
    let mut plain = polling;
    plain.as_object_mut().unwrap().remove("responseRules");
    let descriptor = descriptor_from(oauth_auth(&server), plain);
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(matches!(err, PollError::Unauthorized { status: 403, .. }), "{err:?}");
}

fn descriptor_from(auth: Value, polling: Value) -> Descriptor {
    descriptor(auth, polling, "$.items")
}

// --- reset_checkpoint: a Google-Calendar-shaped API ------------------------------------------

/// Google Calendar `events.list` as documented: a full sync pages with `pageToken` /
/// `nextPageToken` (`maxResults` per page) and its last page carries `nextSyncToken`; a request
/// with `syncToken` returns only events changed since that token was issued; an expired sync
/// token answers `410 Gone` (`fullSyncRequired`), after which the client must sync in full.
#[derive(Clone, Default)]
pub struct CalendarFake {
    state: Arc<Mutex<CalendarState>>,
}

#[derive(Default)]
struct CalendarState {
    /// `(event id, change sequence, updated)`.
    events: Vec<(String, u64, DateTime<Utc>)>,
    sequence: u64,
    /// Sync tokens issued so far (a token is `sync-<sequence>.<issue number>`).
    issued: u64,
    /// Sync tokens with an issue number below this have expired.
    expired_before: u64,
    requests: Vec<(Option<String>, Option<String>)>,
}

impl CalendarFake {
    /// Creates or updates event `id` (a new version, changed now).
    pub fn touch(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        state.sequence += 1;
        let sequence = state.sequence;
        let updated = t0() + TimeDelta::minutes(i64::try_from(sequence).unwrap());
        state.events.retain(|(e, _, _)| e != id);
        state.events.push((id.to_owned(), sequence, updated));
    }

    /// Every sync token issued so far stops working.
    pub fn expire_tokens(&self) {
        let mut state = self.state.lock().unwrap();
        state.expired_before = state.issued + 1;
    }

    /// `(syncToken, pageToken)` of every request.
    pub fn requests(&self) -> Vec<(Option<String>, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Respond for CalendarFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.state.lock().unwrap();
        let sync = param(request, "syncToken");
        let page = param(request, "pageToken");
        state.requests.push((sync.clone(), page.clone()));
        let from = match &sync {
            None => 0,
            Some(token) => {
                let (sequence, issue) = token.trim_start_matches("sync-").split_once('.').unwrap();
                if issue.parse::<u64>().unwrap() < state.expired_before {
                    return ResponseTemplate::new(410).set_body_json(json!({"error": {
                        "errors": [{"domain": "calendar", "reason": "fullSyncRequired",
                            "message": "Sync token is no longer valid, a full sync is required."}],
                        "code": 410, "message": "Sync token is no longer valid, a full sync is required."}}));
                }
                sequence.parse().unwrap()
            }
        };
        let size: usize = param(request, "maxResults").map_or(250, |m| m.parse().unwrap());
        let skip: usize = page.map_or(0, |p| p.trim_start_matches("page-").parse().unwrap());
        let mut changed: Vec<(String, u64, DateTime<Utc>)> =
            state.events.iter().filter(|(_, s, _)| *s > from).cloned().collect();
        changed.sort_by_key(|(_, s, _)| *s);
        let items: Vec<Value> = changed
            .iter()
            .skip(skip)
            .take(size)
            .map(|(id, _, updated)| {
                json!({"kind": "calendar#event", "id": id, "status": "confirmed", "summary": format!("Meeting {id}"),
                    "updated": updated.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})
            })
            .collect();
        let mut body = json!({"kind": "calendar#events", "summary": "primary", "items": items});
        if skip + size < changed.len() {
            body["nextPageToken"] = json!(format!("page-{}", skip + size));
        } else {
            state.issued += 1;
            body["nextSyncToken"] = json!(format!("sync-{}.{}", state.sequence, state.issued));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// The calendar connector: a sync token as the delta, pages of 3, and the 410 rule.
pub fn calendar_descriptor() -> Value {
    let mut doc = descriptor_doc(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/calendar/v3/calendars/primary/events?singleEvents=true",
            "delta": {"type": "delta_token", "tokenPath": "$.nextSyncToken", "tokenParam": "syncToken"},
            "pagination": {"type": "cursor", "nextPath": "$.nextPageToken", "nextParam": "pageToken", "pageSize": 3, "pageSizeParam": "maxResults"},
            "responseRules": [{"status": 410, "action": "reset_checkpoint", "message": "the sync token expired"}]
        }),
        "$.items",
    );
    doc["fieldMapping"] = json!({
        "itemsPath": "$.items", "idPath": "$.id", "timestampPath": "$.updated",
        "summaryTemplate": "{{summary}}",
        "signalTypeRules": [{"when": "$.status", "operator": "equals", "value": "confirmed", "then": "event_updated"}]
    });
    doc
}

/// The deterministic signal ids of polled calendar events, as the normaliser computes them.
fn signal_ids(descriptor: &Descriptor, items: &[Value]) -> Vec<String> {
    crate::builtin::support::signal_ids(descriptor, items).into_iter().collect()
}

#[tokio::test]
async fn an_expired_sync_token_resets_the_checkpoint_and_resyncs_without_new_signals() {
    let fake = CalendarFake::default();
    for id in ["a", "b", "c", "d", "e", "f", "g"] {
        fake.touch(id);
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    let descriptor = compile(&calendar_descriptor());
    let (engine, _) = engine();

    // Full sync: three pages, every event once, the sync token as the checkpoint.
    let first = poll_with(&engine, &descriptor, &server, None).await.unwrap();
    assert_eq!(first.items.len(), 7);
    assert_eq!(first.pages, 3);
    assert_eq!(first.new_checkpoint, Checkpoint::at("sync-7.1"));
    let mut seen = signal_ids(&descriptor, &first.items);
    assert_eq!(seen.len(), 7);

    // Incremental: only what changed.
    fake.touch("b");
    fake.touch("h");
    let second = poll_with(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await.unwrap();
    let changed: Vec<&str> = second.items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(changed, ["b", "h"]);
    assert_eq!(second.new_checkpoint, Checkpoint::at("sync-9.2"));
    seen.extend(signal_ids(&descriptor, &second.items));

    // The token expires: 410, the run starts over from no checkpoint and syncs in full.
    fake.expire_tokens();
    let third = poll_with(&engine, &descriptor, &server, Some(&second.new_checkpoint)).await.unwrap();
    assert_eq!(third.items.len(), 8, "every event again");
    assert_eq!(third.new_checkpoint, Checkpoint::at("sync-9.3"));
    assert_eq!(third.stop, StopReason::Complete);
    let requests = fake.requests();
    assert_eq!(requests[requests.len() - 4], (Some("sync-9.2".into()), None), "the expired token");
    assert_eq!(requests[requests.len() - 3], (None, None), "then a full sync");
    // Nothing in the resync is new: every signal id was emitted before, so the normaliser's
    // dedup drops them all.
    let resynced = signal_ids(&descriptor, &third.items);
    assert!(resynced.iter().all(|id| seen.contains(id)), "a resync produced a new signal id");

    // The next poll is incremental again, from the fresh token.
    fake.touch("i");
    let fourth = poll_with(&engine, &descriptor, &server, Some(&third.new_checkpoint)).await.unwrap();
    let ids: Vec<&str> = fourth.items.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["i"]);
}

#[tokio::test]
async fn the_reset_is_reported_and_happens_once_per_run() {
    let fake = CalendarFake::default();
    fake.touch("a");
    let server = MockServer::start().await;
    Mock::given(path("/calendar/v3/calendars/primary/events")).respond_with(fake.clone()).mount(&server).await;
    let descriptor = compile(&calendar_descriptor());
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = Credentials::new();
    fake.expire_tokens();
    let mut run = engine
        .pages(
            &descriptor,
            PollRequest { checkpoint: Some(Checkpoint::at("sync-0.0")), ..PollRequest::new(&config, &credentials) },
        )
        .unwrap();
    while run.next_page().await.unwrap().is_some() {}
    let notes = run.summary().notes;
    assert_eq!(
        notes,
        [RunNote::CheckpointReset { status: 410, rule: "the sync token expired (responseRules[0])".into() }]
    );
    assert!(notes[0].to_string().contains("resynced from the start"), "{}", notes[0]);

    // An API that refuses even a fresh start fails the run instead of looping.
    let always = MockServer::start().await;
    Mock::given(path("/calendar/v3/calendars/primary/events"))
        .respond_with(ResponseTemplate::new(410))
        .mount(&always)
        .await;
    let err = poll_with(&engine, &descriptor, &always, Some(&Checkpoint::at("sync-1.1"))).await.unwrap_err();
    assert!(err.to_string().contains("refused the fresh start too"), "{err}");
    assert_eq!(always.received_requests().await.unwrap().len(), 2);
    let err = poll_with(&engine, &descriptor, &always, None).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Config);
    assert!(err.to_string().contains("nothing to reset"), "{err}");
}

#[tokio::test]
async fn a_graph_sync_state_not_found_body_resets_the_delta_link() {
    let data = Dataset::with(6);
    let server = MockServer::start().await;
    let expired = Arc::new(Mutex::new(false));
    let gate = expired.clone();
    let graph = GraphFake(data.clone());
    Mock::given(path("/v1.0/users/delta"))
        .respond_with(move |request: &Request| {
            if *gate.lock().unwrap() && param(request, "$deltatoken").is_some() {
                return ResponseTemplate::new(410).set_body_json(
                    json!({"error": {"code": "syncStateNotFound", "message": "The sync state is gone."}}),
                );
            }
            graph.respond(request)
        })
        .mount(&server)
        .await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/v1.0/users/delta",
            "delta": {"type": "delta_token", "tokenPath": "$['@odata.deltaLink']", "tokenParam": "$deltatoken"},
            "pagination": {"type": "cursor", "nextPath": "$['@odata.nextLink']", "nextParam": "$skiptoken", "pageSize": 4},
            "responseRules": [{"body": {"when": "$.error.code", "operator": "in", "value": ["syncStateNotFound", "resyncRequired"]},
                "action": "reset_checkpoint"}]
        }),
        "$.value",
    );
    let (engine, _) = engine();
    let first = poll_with(&engine, &descriptor, &server, None).await.unwrap();
    assert_eq!(ids(&first.items), (1..=6).collect::<Vec<_>>());
    *expired.lock().unwrap() = true;
    data.add(1);
    let resync = poll_with(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await.unwrap();
    assert_eq!(ids(&resync.items), (1..=7).collect::<Vec<_>>());
    assert_eq!(resync.new_checkpoint, Checkpoint::at(format!("{}/v1.0/users/delta?$deltatoken=7", server.uri())));
    *expired.lock().unwrap() = false;
    data.add(1);
    let second = poll_with(&engine, &descriptor, &server, Some(&resync.new_checkpoint)).await.unwrap();
    assert_eq!(ids(&second.items), vec![8]);
}
