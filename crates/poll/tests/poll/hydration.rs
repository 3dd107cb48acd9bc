//! Hydration against a Gmail-shaped fake: `GET /gmail/v1/users/me/history?startHistoryId=..`
//! lists history records whose `messagesAdded[].message` carry only `id` and `threadId`, with
//! the mailbox's current `historyId` and a `nextPageToken`; `GET /gmail/v1/users/me/messages/{id}`
//! answers the full message, or Google's 404 error once the message is deleted. (Shapes from the
//! Gmail API discovery document, `googleapiclient/discovery_cache/documents/gmail.v1.json` in
//! google-api-python-client 2.202.0: `ListHistoryResponse`, `History`, `HistoryMessageAdded`,
//! `Message`; `startHistoryId` is required.)
//!
//! Every message is hydrated exactly once, in history order; the checkpoint is the response's
//! `historyId`; a second poll returns only newer messages; a deleted message is dropped by an
//! `ignore` rule; detail requests are paced by `rateLimitRpm` (on the engine's manual clock),
//! spend the credential's rate budget, and never more than `concurrency` are in flight; a
//! failure mid-page leaves the checkpoint before that page.
//!
//! The in-flight count comes from a small fake on a raw socket: wiremock answers each request
//! synchronously on its own single thread, so it cannot hold requests open to count them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, FailureClass, PollError, PollRequest, RunNote, StopReason};
use switchboard_poll::{Credentials, ManualTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

const TOKEN: &str = "ya29.a0-fake-gmail-access-token";
const HISTORY: &str = "/gmail/v1/users/me/history";
const MESSAGES: &str = "/gmail/v1/users/me/messages/";

/// A mailbox: its history (one `messageAdded` record per message), the messages, and how often
/// each message was fetched.
#[derive(Clone)]
struct Mailbox(Arc<Mutex<MailboxState>>);

struct MailboxState {
    /// The mailbox's current history id.
    current: u64,
    /// `(history id, message id, thread id)`, oldest first.
    records: Vec<(u64, String, String)>,
    deleted: BTreeSet<String>,
    /// Messages answering 500.
    failing: BTreeSet<String>,
    gets: BTreeMap<String, usize>,
    /// Every request's path, in arrival order.
    requests: Vec<String>,
    /// Rate budget: requests allowed per hour (`None`: no budget headers).
    budget: Option<u64>,
    used: u64,
    violations: u64,
}

impl Mailbox {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(MailboxState {
            current: 1000,
            records: Vec::new(),
            deleted: BTreeSet::new(),
            failing: BTreeSet::new(),
            gets: BTreeMap::new(),
            requests: Vec::new(),
            budget: None,
            used: 0,
            violations: 0,
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, MailboxState> {
        self.0.lock().unwrap()
    }

    /// `n` new messages; their ids, oldest first. History ids grow with gaps, as Gmail's do.
    fn receive(&self, n: usize) -> Vec<String> {
        let mut state = self.state();
        (0..n)
            .map(|_| {
                state.current += 3;
                let id = format!("18f{:013x}", state.current * 7919);
                let thread = format!("18e{:013x}", state.current * 31);
                let history_id = state.current;
                state.records.push((history_id, id.clone(), thread));
                id
            })
            .collect()
    }

    fn current(&self) -> String {
        self.state().current.to_string()
    }

    fn gets(&self) -> BTreeMap<String, usize> {
        self.state().gets.clone()
    }

    fn detail_requests(&self) -> usize {
        self.state().requests.iter().filter(|p| p.starts_with(MESSAGES)).count()
    }

    /// The answer to `GET path?query`.
    fn answer(&self, path: &str, query: &[(String, String)]) -> (u16, Value, Vec<(String, String)>) {
        let mut state = self.state();
        state.requests.push(path.to_owned());
        let mut headers = Vec::new();
        if let Some(limit) = state.budget {
            state.used += 1;
            headers.push(("X-RateLimit-Limit".to_owned(), limit.to_string()));
            headers.push(("X-RateLimit-Remaining".to_owned(), limit.saturating_sub(state.used).to_string()));
            headers.push(("X-RateLimit-Reset".to_owned(), (t0() + TimeDelta::hours(1)).timestamp().to_string()));
            if state.used > limit {
                state.violations += 1;
                return (429, google_error(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED"), headers);
            }
        }
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if path == HISTORY {
            let Some(start) = get("startHistoryId").and_then(|s| s.parse::<u64>().ok()) else {
                return (400, google_error(400, "Invalid startHistoryId", "INVALID_ARGUMENT"), headers);
            };
            let max: usize = get("maxResults").map_or(100, |m| m.parse().unwrap());
            let offset: usize = get("pageToken").map_or(0, |t| t.trim_start_matches("page-").parse().unwrap());
            let newer: Vec<&(u64, String, String)> = state.records.iter().filter(|(h, _, _)| *h > start).collect();
            let history: Vec<Value> = newer
                .iter()
                .skip(offset)
                .take(max)
                .map(|(history_id, id, thread)| {
                    json!({
                        "id": history_id.to_string(),
                        "messages": [{"id": id, "threadId": thread}],
                        "messagesAdded": [{"message": {"id": id, "threadId": thread, "labelIds": ["UNREAD", "INBOX"]}}]
                    })
                })
                .collect();
            let mut body = json!({"historyId": state.current.to_string()});
            // Gmail leaves empty lists out.
            if !history.is_empty() {
                body["history"] = json!(history);
            }
            if offset + max < newer.len() {
                body["nextPageToken"] = json!(format!("page-{}", offset + max));
            }
            return (200, body, headers);
        }
        let Some(id) = path.strip_prefix(MESSAGES) else {
            return (404, google_error(404, "Not Found", "NOT_FOUND"), headers);
        };
        *state.gets.entry(id.to_owned()).or_default() += 1;
        if state.failing.contains(id) {
            return (500, google_error(500, "Backend Error", "INTERNAL"), headers);
        }
        let found = state.records.iter().find(|(_, m, _)| m == id).filter(|_| !state.deleted.contains(id));
        let Some((history_id, id, thread)) = found else {
            return (404, google_error(404, "Requested entity was not found.", "NOT_FOUND"), headers);
        };
        let internal_date = (t0() + TimeDelta::minutes(*history_id as i64 - 1000)).timestamp_millis();
        let body = json!({
            "id": id, "threadId": thread, "labelIds": ["UNREAD", "INBOX"],
            "snippet": format!("Message {history_id}"), "historyId": history_id.to_string(),
            "internalDate": internal_date.to_string(), "sizeEstimate": 2048,
            "payload": {"partId": "", "mimeType": "text/plain", "filename": "",
                "headers": [{"name": "Subject", "value": format!("Subject {history_id}")},
                            {"name": "From", "value": "Ada <ada@example.com>"}]}
        });
        (200, body, headers)
    }

    /// The answer to a wiremock request, refusing requests without the instance's token.
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let authorised = request.headers.get("authorization").and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {TOKEN}").as_str());
        if !authorised {
            return ResponseTemplate::new(401).set_body_json(google_error(
                401,
                "Invalid Credentials",
                "UNAUTHENTICATED",
            ));
        }
        let query: Vec<(String, String)> = request.url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
        let (status, body, headers) = self.answer(request.url.path(), &query);
        headers.into_iter().fold(ResponseTemplate::new(status).set_body_json(body), |r, (k, v)| r.insert_header(k, v))
    }
}

/// Google's JSON error envelope.
fn google_error(code: u16, message: &str, status: &str) -> Value {
    json!({"error": {"code": code, "message": message, "errors": [{"message": message, "domain": "global",
        "reason": "notFound"}], "status": status}})
}

/// A wiremock Gmail; every request's arrival time on `timer` goes into `arrivals`.
async fn gmail_server(mailbox: &Mailbox, timer: &ManualTimer, arrivals: &Arc<Mutex<Vec<Duration>>>) -> MockServer {
    let server = MockServer::start().await;
    let (mb, t, a) = (mailbox.clone(), timer.clone(), arrivals.clone());
    let responder = move |request: &Request| {
        a.lock().unwrap().push(t.elapsed());
        mb.respond(request)
    };
    Mock::given(path(HISTORY)).respond_with(responder.clone()).mount(&server).await;
    Mock::given(path_regex("^/gmail/v1/users/me/messages/[^/]+$")).respond_with(responder).mount(&server).await;
    server
}

/// The Gmail descriptor: history (delta token `historyId`, cursor pages of `page_size`), each
/// added message hydrated by `hydrate`; `polling` overrides the polling section's fields.
fn gmail_doc(hydrate: Value, page_size: u32, polling: Value) -> Value {
    let mut section = json!({
        "endpoint": "{{baseUrl}}/gmail/v1/users/me/history?historyTypes=messageAdded",
        "delta": {"type": "delta_token", "tokenPath": "$.historyId", "tokenParam": "startHistoryId"},
        "pagination": {"type": "cursor", "nextPath": "$.nextPageToken", "nextParam": "pageToken",
            "pageSize": page_size, "pageSizeParam": "maxResults"},
        "responseRules": [{"status": 404, "action": "reset_checkpoint", "message": "the start history id is too old"}],
        "hydrate": hydrate
    });
    for (k, v) in polling.as_object().unwrap() {
        section[k] = v.clone();
    }
    let mut doc = descriptor_doc(pat_auth(), section, "$.history[*].messagesAdded[*].message");
    doc["fieldMapping"]["timestampPath"] = json!("$.internalDate");
    doc
}

fn gmail(concurrency: u32, page_size: u32) -> Descriptor {
    compile(&gmail_doc(
        json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}?format=metadata",
            "concurrency": concurrency, "responseRules": [{"status": 404, "action": "ignore"}]}),
        page_size,
        json!({}),
    ))
}

fn credentials() -> Credentials {
    [("token", TOKEN)].into_iter().collect()
}

fn from<'a>(config: &'a BTreeMap<String, String>, credentials: &'a Credentials, position: &str) -> PollRequest<'a> {
    PollRequest { checkpoint: Some(Checkpoint::parse(position).unwrap()), ..PollRequest::new(config, credentials) }
}

fn message_ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_message_is_hydrated_once_and_the_checkpoint_is_the_history_id() {
    let mailbox = Mailbox::new();
    let first = mailbox.receive(7);
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());
    let descriptor = gmail(3, 3);

    let delta = fetch_delta(&engine, &descriptor, from(&config, &credentials, "1000")).await.unwrap();
    assert_eq!(message_ids(&delta.items), first, "every message, in history order");
    assert!(delta.items.iter().all(|m| m["snippet"].is_string() && m["payload"]["headers"].is_array()));
    assert!(mailbox.gets().values().all(|n| *n == 1) && mailbox.gets().len() == 7, "{:?}", mailbox.gets());
    assert_eq!(delta.pages, 3);
    assert_eq!(delta.stop, StopReason::Complete);
    assert_eq!(delta.new_checkpoint.position.as_deref(), Some(mailbox.current().as_str()));

    let newer = mailbox.receive(2);
    let again = fetch_delta(
        &engine,
        &descriptor,
        PollRequest { checkpoint: Some(delta.new_checkpoint.clone()), ..PollRequest::new(&config, &credentials) },
    )
    .await
    .unwrap();
    assert_eq!(message_ids(&again.items), newer, "only the newer messages");
    assert_eq!(mailbox.gets().len(), 9);
    assert!(mailbox.gets().values().all(|n| *n == 1), "nothing fetched twice: {:?}", mailbox.gets());
    assert_eq!(again.new_checkpoint.position.as_deref(), Some(mailbox.current().as_str()));
}

#[tokio::test]
async fn a_deleted_message_is_dropped_by_an_ignore_rule_and_the_run_goes_on() {
    let mailbox = Mailbox::new();
    let ids = mailbox.receive(5);
    mailbox.state().deleted.insert(ids[2].clone());
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());

    let delta = fetch_delta(&engine, &gmail(2, 2), from(&config, &credentials, "1000")).await.unwrap();
    let kept: Vec<String> = ids.iter().filter(|id| **id != ids[2]).cloned().collect();
    assert_eq!(message_ids(&delta.items), kept);
    assert_eq!(mailbox.gets()[&ids[2]], 1, "asked once; the 404 is not retried");
    assert_eq!(delta.stop, StopReason::Complete);
    assert_eq!(delta.new_checkpoint.position.as_deref(), Some(mailbox.current().as_str()));

    // Without rules of its own, a detail request answers by the section's: a 404 there resets the
    // checkpoint, which a detail request cannot do; the run fails and says why.
    let doc = gmail_doc(json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}"}), 2, json!({}));
    let err = fetch_delta(&engine, &compile(&doc), from(&config, &credentials, "1000")).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Config);
    assert!(err.to_string().contains("a detail request cannot reset the checkpoint"), "{err}");
}

#[tokio::test]
async fn detail_requests_are_paced_by_the_rate_limit() {
    let mailbox = Mailbox::new();
    let ids = mailbox.receive(6);
    let (engine, timer) = engine();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let server = gmail_server(&mailbox, &timer, &arrivals).await;
    let (config, credentials) = (config(&server), credentials());
    let hydrate = json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}", "concurrency": 4});
    let descriptor = compile(&gmail_doc(hydrate, 3, json!({"rateLimitRpm": 60})));

    let delta = fetch_delta(&engine, &descriptor, from(&config, &credentials, "1000")).await.unwrap();
    assert_eq!(message_ids(&delta.items), ids);
    let mut arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 8, "2 history pages and 6 messages");
    // At 60 requests a minute, the k-th request (list and detail alike) goes no earlier than
    // k seconds in, on the engine's clock.
    arrivals.sort();
    for (k, at) in arrivals.iter().enumerate() {
        assert!(*at >= Duration::from_secs(k as u64), "request {k} at {at:?}: {arrivals:?}");
    }
    assert!(timer.elapsed() >= Duration::from_secs(7));
}

#[tokio::test]
async fn detail_requests_spend_the_credentials_rate_budget() {
    let mailbox = Mailbox::new();
    let ids = mailbox.receive(6);
    mailbox.state().budget = Some(6);
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());
    let descriptor = compile(&gmail_doc(
        json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}", "concurrency": 3}),
        3,
        json!({"rateBudget": {"resetFormat": "epoch_seconds"}}),
    ));
    let request = PollRequest { time_budget: Some(Duration::from_secs(600)), ..from(&config, &credentials, "1000") };

    let mut run = engine.pages(&descriptor, request).unwrap();
    let mut items = Vec::new();
    let mut checkpoints = Vec::new();
    while let Some(page) = run.next_page().await.unwrap() {
        items.extend(page.items);
        checkpoints.push(page.checkpoint_after);
    }
    let summary = run.summary();
    // The list and the first page's three messages leave two requests: the second page is
    // listed, but its messages cannot all be fetched within the budget.
    assert_eq!(message_ids(&items), ids[..3]);
    assert_eq!(summary.stop, Some(StopReason::RateBudget));
    assert!(summary.notes.iter().any(|n| matches!(n, RunNote::RateBudgetSpent { .. })), "{:?}", summary.notes);
    assert_eq!(mailbox.state().violations, 0, "the engine never went past the budget");
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(summary.checkpoint, checkpoints[0], "the checkpoint stays before the unhydrated page");
}

#[tokio::test]
async fn a_failure_mid_page_keeps_the_checkpoint_before_that_page() {
    let mailbox = Mailbox::new();
    let ids = mailbox.receive(6);
    mailbox.state().failing.insert(ids[4].clone());
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());
    let descriptor = gmail(3, 3);

    let mut run = engine.pages(&descriptor, from(&config, &credentials, "1000")).unwrap();
    let first = run.next_page().await.unwrap().unwrap();
    assert_eq!(message_ids(&first.items), ids[..3]);
    let err = run.next_page().await.unwrap_err();
    assert!(matches!(err, PollError::Server { status: 500, .. }), "{err:?}");
    let stored = run.summary().checkpoint;
    assert_eq!(stored, first.checkpoint_after, "not past the messages that were not hydrated");
    drop(run);

    mailbox.state().failing.clear();
    let rest = fetch_delta(
        &engine,
        &descriptor,
        PollRequest { checkpoint: Some(stored), ..PollRequest::new(&config, &credentials) },
    )
    .await
    .unwrap();
    assert_eq!(message_ids(&rest.items), ids[3..], "the next run hydrates the whole page again");
    assert_eq!(rest.new_checkpoint.position.as_deref(), Some(mailbox.current().as_str()));
}

#[tokio::test]
async fn merged_details_keep_the_listed_item_and_foreign_hosts_are_refused() {
    let mailbox = Mailbox::new();
    let ids = mailbox.receive(2);
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());
    let merged = compile(&gmail_doc(
        json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}", "mergeUnder": "full",
            "detailPath": "$.payload"}),
        10,
        json!({}),
    ));
    let delta = fetch_delta(&engine, &merged, from(&config, &credentials, "1000")).await.unwrap();
    assert_eq!(message_ids(&delta.items), ids);
    assert_eq!(delta.items[0]["labelIds"], json!(["UNREAD", "INBOX"]), "the listed message is kept");
    assert_eq!(delta.items[0]["full"]["mimeType"], "text/plain", "the detail's payload under `full`");

    // A URL taken from the item must stay on the API's origin: the token never goes elsewhere.
    let foreign = compile(&gmail_doc(json!({"endpoint": "{{item.threadId}}"}), 10, json!({})));
    let before = mailbox.detail_requests();
    let err = fetch_delta(&engine, &foreign, from(&config, &credentials, "1000")).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Config);
    assert!(err.to_string().contains("is not a valid URL"), "{err}");
    mailbox.state().records[0].2 = "https://attacker.example/steal".to_owned();
    let err = fetch_delta(&engine, &foreign, from(&config, &credentials, "1000")).await.unwrap_err();
    assert!(err.to_string().contains("host_not_allowed"), "{err}");
    assert!(!err.to_string().contains(TOKEN));
    assert_eq!(mailbox.detail_requests(), before, "nothing was sent");
}

/// Counts detail requests in flight and holds each until `concurrency` are (or no more can
/// come), and a moment longer, so a bound that is not kept, or requests that never overlap,
/// show in `max`.
struct Gate {
    concurrency: usize,
    total: usize,
    in_flight: AtomicUsize,
    done: AtomicUsize,
    max: AtomicUsize,
}

impl Gate {
    async fn pass(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        // Bounded: a fake that waited for ever would hang the test instead of failing it.
        for _ in 0..400 {
            let remaining = self.total - self.done.load(Ordering::SeqCst);
            if self.in_flight.load(Ordering::SeqCst) >= self.concurrency.min(remaining) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Held a little longer, so that requests past the bound, sent at once, are caught in
        // flight too (a bound that holds is counted exactly either way).
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    fn leave(&self) {
        self.done.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The mailbox on a raw socket (one request per connection), its message answers held by `gate`.
async fn gated_gmail(mailbox: Mailbox, gate: Arc<Gate>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (mailbox, gate) = (mailbox.clone(), gate.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_owned();
                let target = line.split(' ').nth(1).unwrap_or("/");
                let url = url::Url::parse(&format!("http://fake{target}")).unwrap();
                let query: Vec<(String, String)> = url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
                let is_detail = url.path().starts_with(MESSAGES);
                if is_detail {
                    gate.pass().await;
                }
                let (status, body, _) = mailbox.answer(url.path(), &query);
                if is_detail {
                    gate.leave();
                }
                let body = body.to_string();
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_concurrency_detail_requests_are_in_flight() {
    for concurrency in [1, 3] {
        let mailbox = Mailbox::new();
        let ids = mailbox.receive(8);
        let gate = Arc::new(Gate { concurrency, total: 8, in_flight: 0.into(), done: 0.into(), max: 0.into() });
        let base = gated_gmail(mailbox.clone(), gate.clone()).await;
        let (engine, _) = engine();
        let config = BTreeMap::from([("baseUrl".to_owned(), base)]);
        let credentials = credentials();
        let descriptor = gmail(concurrency as u32, 10);

        let delta = fetch_delta(&engine, &descriptor, from(&config, &credentials, "1000")).await.unwrap();
        assert_eq!(message_ids(&delta.items), ids, "in history order, whatever order the answers came in");
        assert!(mailbox.gets().values().all(|n| *n == 1) && mailbox.gets().len() == 8);
        assert_eq!(
            gate.max.load(Ordering::SeqCst),
            concurrency,
            "at most (and, with enough items, exactly) {concurrency} in flight"
        );
    }
}

#[tokio::test]
async fn concurrent_detail_requests_never_overshoot_the_rate_budget() {
    for concurrency in [2, 3, 5] {
        let mailbox = Mailbox::new();
        mailbox.receive(12);
        mailbox.state().budget = Some(9);
        let (engine, timer) = engine();
        let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
        let (config, credentials) = (config(&server), credentials());
        let descriptor = compile(&gmail_doc(
            json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}", "concurrency": concurrency}),
            20,
            json!({"rateBudget": {"resetFormat": "epoch_seconds"}}),
        ));
        let request =
            PollRequest { time_budget: Some(Duration::from_secs(600)), ..from(&config, &credentials, "1000") };
        let delta = fetch_delta(&engine, &descriptor, request).await.unwrap();
        assert_eq!(mailbox.state().violations, 0, "concurrency {concurrency}: the engine went past the budget");
        assert!(delta.items.is_empty(), "the page could not be hydrated whole");
        assert_eq!(delta.stop, StopReason::RateBudget);
        assert_eq!(delta.new_checkpoint, Checkpoint::at("1000"), "the checkpoint did not move");
    }
}

#[tokio::test]
async fn item_values_stay_one_path_segment_or_one_query_value() {
    let server = MockServer::start().await;
    let listed = Arc::new(Mutex::new(json!({"items": [{"n": 1, "id": "group/sub project", "ref": "a&b=c#d"}]})));
    let list = listed.clone();
    Mock::given(path("/list"))
        .respond_with(move |_: &Request| ResponseTemplate::new(200).set_body_json(list.lock().unwrap().clone()))
        .mount(&server)
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    Mock::given(path_regex("^/projects/"))
        .respond_with(move |request: &Request| {
            log.lock().unwrap().push(request.url.as_str().split_once("/projects/").unwrap().1.to_owned());
            ResponseTemplate::new(200).set_body_json(json!({"name": "detail"}))
        })
        .mount(&server)
        .await;
    let descriptor = descriptor(
        no_auth(),
        json!({"endpoint": "{{baseUrl}}/list", "delta": {"type": "since_id", "idPath": "$.n", "idParam": "since"},
            "hydrate": {"endpoint": "{{baseUrl}}/projects/{{item.id}}/files?ref={{item.ref}}"}}),
        "$.items",
    );
    let (engine, _) = engine();
    let (config, credentials) = (config(&server), Credentials::new());
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(delta.items, [json!({"name": "detail"})]);
    assert_eq!(*seen.lock().unwrap(), ["group%2Fsub%20project/files?ref=a%26b%3Dc%23d"]);

    *listed.lock().unwrap() = json!({"items": [{"n": 2, "id": "..", "ref": "x"}]});
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(err.to_string().contains("cannot be a path segment"), "{err}");
    *listed.lock().unwrap() = json!({"items": [{"n": 3, "ref": "x"}]});
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(err.to_string().contains("item 0 of the page cannot fill the detail request"), "{err}");
    assert!(err.to_string().contains("no value for {{item.id}}"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1, "nothing was sent for those items");
}

#[tokio::test]
async fn a_time_budget_spent_mid_page_keeps_the_checkpoint_before_that_page() {
    let mailbox = Mailbox::new();
    let ids = mailbox.receive(6);
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());
    let hydrate = json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}", "concurrency": 2});
    let descriptor = compile(&gmail_doc(hydrate, 3, json!({"rateLimitRpm": 60})));
    // One request a second: the first page (list and three messages) takes until 3 s, the second
    // list goes at 4 s and its first message at 5 s; the next would pass the 5.5 s budget.
    let request = PollRequest { time_budget: Some(Duration::from_millis(5500)), ..from(&config, &credentials, "1000") };

    let mut run = engine.pages(&descriptor, request).unwrap();
    let first = run.next_page().await.unwrap().unwrap();
    assert_eq!(message_ids(&first.items), ids[..3]);
    assert!(run.next_page().await.unwrap().is_none(), "the half-hydrated page is not delivered");
    let summary = run.summary();
    assert_eq!(summary.stop, Some(StopReason::TimeBudget));
    assert_eq!(summary.checkpoint, first.checkpoint_after);
    assert_eq!(summary.pages, 1);
    assert_eq!(mailbox.detail_requests(), 4, "it stopped inside the second page");
}

#[tokio::test]
async fn a_history_answer_without_changes_is_an_empty_page_when_items_are_optional() {
    let mailbox = Mailbox::new();
    mailbox.receive(2);
    let (engine, timer) = engine();
    let server = gmail_server(&mailbox, &timer, &Arc::default()).await;
    let (config, credentials) = (config(&server), credentials());
    let current = mailbox.current();

    // Gmail leaves `history` out when nothing changed since the start id.
    let strict = gmail(3, 3);
    let error = fetch_delta(&engine, &strict, from(&config, &credentials, &current)).await.expect_err("no items");
    assert!(error.to_string().contains("matched nothing"), "{error}");

    let mut doc = gmail_doc(
        json!({"endpoint": "{{baseUrl}}/gmail/v1/users/me/messages/{{item.id}}?format=metadata"}),
        3,
        json!({}),
    );
    doc["fieldMapping"]["itemsOptional"] = json!(true);
    let optional = compile(&doc);
    let delta = fetch_delta(&engine, &optional, from(&config, &credentials, &current)).await.unwrap();
    assert!(delta.items.is_empty());
    assert_eq!(delta.stop, StopReason::Complete);
    assert_eq!(delta.new_checkpoint.position.as_deref(), Some(current.as_str()), "the history id stays");
}
