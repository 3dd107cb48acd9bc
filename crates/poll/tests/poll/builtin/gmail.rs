//! Gmail: `GET /gmail/v1/users/me/profile` gives the mailbox address and its current `historyId`;
//! `GET /gmail/v1/users/me/history?startHistoryId=…&historyTypes=messageAdded` lists the history
//! records after that id (404 when the id is older than Gmail keeps), `maxResults` (at most 500)
//! and an opaque `pageToken` from `nextPageToken`, every page carrying the mailbox's current
//! `historyId`, and no `history` member at all when nothing happened; each added message is then
//! read with `GET /gmail/v1/users/me/messages/{id}?format=metadata`. The OAuth2 access token goes
//! in `Authorization: Bearer`.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::TimeDelta;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;
use crate::support::{check, oauth_credentials};

const TOKEN: &str = "ya29.a0AfB_byC-gmail-access-token";

/// One mailbox: its history records (id, added message) and the oldest id Gmail still lists from.
#[derive(Default)]
struct State {
    current: u64,
    oldest: u64,
    records: Vec<(u64, Value)>,
}

#[derive(Clone)]
struct Mailbox(Arc<Mutex<State>>);

fn page_token(index: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("index:{index}"))
}

fn google_error(status: u16, message: &str, reason: &str) -> ResponseTemplate {
    error(
        status,
        json!({"error": {"code": status, "message": message, "errors": [{"domain": "global", "reason": reason, "message": message}]}}),
    )
}

struct Profile(Mailbox);

impl Respond for Profile {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let state = self.0.0.lock().unwrap();
        ResponseTemplate::new(200).set_body_json(json!({
            "emailAddress": "api@nango.dev", "messagesTotal": 782, "threadsTotal": 735,
            "historyId": state.current.to_string()
        }))
    }
}

struct History(Mailbox);

impl Respond for History {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = self.0.0.lock().unwrap();
        let Some(start) = param(request, "startHistoryId").and_then(|s| s.parse::<u64>().ok()) else {
            return google_error(400, "Invalid startHistoryId", "invalidArgument");
        };
        if start < state.oldest {
            return google_error(404, "Requested entity was not found.", "notFound");
        }
        let max: usize = match param(request, "maxResults").map(|m| m.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=500).contains(&n) => n,
            _ => return google_error(400, "Invalid maxResults", "invalidArgument"),
        };
        let from = match param(request, "pageToken") {
            None => 0,
            Some(token) => match base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|d| String::from_utf8(d).ok())
                .and_then(|s| s.strip_prefix("index:").and_then(|n| n.parse::<usize>().ok()))
            {
                Some(n) => n,
                None => return google_error(400, "Invalid pageToken", "invalidArgument"),
            },
        };
        let after: Vec<&(u64, Value)> = state.records.iter().filter(|(id, _)| *id > start).collect();
        let history: Vec<Value> = after
            .iter()
            .skip(from)
            .take(max)
            .map(|(id, message)| {
                let listed =
                    json!({"id": message["id"], "threadId": message["threadId"], "labelIds": message["labelIds"]});
                json!({
                    "id": id.to_string(),
                    "messages": [{"id": message["id"], "threadId": message["threadId"]}],
                    "messagesAdded": [{"message": listed}]
                })
            })
            .collect();
        let mut body = json!({"historyId": state.current.to_string()});
        if !history.is_empty() {
            body["history"] = json!(history);
        }
        if from + max < after.len() {
            body["nextPageToken"] = json!(page_token(from + max));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

struct Message(Mailbox);

impl Respond for Message {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = self.0.0.lock().unwrap();
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        match state.records.iter().find(|(_, m)| m["id"] == id) {
            Some((_, message)) => ResponseTemplate::new(200).set_body_json(message),
            None => google_error(404, "Requested entity was not found.", "notFound"),
        }
    }
}

/// The fixture's inbox message (`19dda5cc10eb51bb`) as the template of the messages added later.
fn template() -> Value {
    fixture("gmail", "history.page.hydrated.json")["history"][7]["messagesAdded"][0]["message"].clone()
}

fn message_id(n: u64) -> String {
    format!("{:016x}", 0x19e0_0000_0000_0000_u64 + n)
}

/// Message `n`, added as history record `history`: every tenth a draft, the others alternately
/// received and sent (a PROJ key in the subject of the received ones).
fn added(template: &Value, n: u64) -> Value {
    let labels = match n % 10 {
        0 => json!(["DRAFT"]),
        k if k % 2 == 1 => json!(["UNREAD", "INBOX"]),
        _ => json!(["SENT"]),
    };
    let time = at("2026-04-30T00:00:00Z") + TimeDelta::minutes(n as i64);
    let mut message = with(
        template,
        &[
            ("/id", json!(message_id(n))),
            ("/threadId", json!(message_id(n))),
            ("/labelIds", labels),
            ("/internalDate", json!(time.timestamp_millis().to_string())),
        ],
    );
    let headers = message["payload"]["headers"].as_array_mut().unwrap();
    for h in headers.iter_mut() {
        if h["name"] == "Subject" {
            h["value"] = json!(format!("Re: PROJ-{n} rollout"));
        }
    }
    message
}

async fn mount(server: &MockServer, fake: &Mailbox) {
    let bearer = format!("Bearer {TOKEN}");
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(Profile(fake.clone()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/history"))
        .and(header("authorization", bearer.as_str()))
        .and(query_param("historyTypes", "messageAdded"))
        .respond_with(History(fake.clone()))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/gmail/v1/users/me/messages/[0-9a-f]+$"))
        .and(header("authorization", bearer.as_str()))
        .and(query_param("format", "metadata"))
        .respond_with(Message(fake.clone()))
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri())])
}

fn tokens() -> switchboard_poll::credentials::Credentials {
    oauth_credentials(TOKEN, "1//refresh-token", at("2030-01-01T00:00:00Z"))
}

fn position(delta: &crate::support::Delta) -> Option<String> {
    delta.new_checkpoint.partitions.get("api@nango.dev").and_then(|c| c.position.clone())
}

#[tokio::test]
async fn gmail_starts_at_the_mailbox_position_then_lists_and_hydrates_the_messages_added_since() {
    let server = MockServer::start().await;
    let fake = Mailbox(Arc::new(Mutex::new(State { current: 5000, oldest: 1000, records: Vec::new() })));
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("gmail");
    let config = instance(&server);
    let credentials = tokens();

    // First run: the profile's history id, and nothing after it.
    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(
        sent.iter().map(|r| r.url.path()).collect::<Vec<_>>(),
        ["/gmail/v1/users/me/profile", "/gmail/v1/users/me/history"]
    );
    assert_eq!(param(&sent[1], "startHistoryId").as_deref(), Some("5000"));
    assert!(first.items.is_empty());
    assert_eq!(position(&first).as_deref(), Some("5000"));

    // 150 messages arrive (history 5001 to 5150), 15 of them drafts.
    {
        let template = template();
        let mut state = fake.0.lock().unwrap();
        for n in 1..=150u64 {
            state.records.push((5000 + n, added(&template, n)));
        }
        state.current = 5150;
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    let lists: Vec<&Request> = sent.iter().filter(|r| r.url.path() == "/gmail/v1/users/me/history").collect();
    assert_eq!(lists.len(), 2);
    // The stored position, not the profile's newer one.
    assert!(lists.iter().all(|r| param(r, "startHistoryId").as_deref() == Some("5000")));
    assert_eq!(param(lists[0], "maxResults").as_deref(), Some("100"));
    assert_eq!(param(lists[0], "pageToken"), None);
    assert_eq!(param(lists[1], "pageToken"), Some(page_token(100)));
    let details: Vec<&Request> =
        sent.iter().filter(|r| r.url.path().starts_with("/gmail/v1/users/me/messages/")).collect();
    assert_eq!(details.len(), 135, "drafts are dropped before their detail is fetched");
    let expected: Vec<String> = (1..=150u64).filter(|n| n % 10 != 0).map(message_id).collect();
    assert_delivered(&descriptor, &second, 2, &expected);
    assert_eq!(position(&second).as_deref(), Some("5150"));
    assert_eq!(
        signal_types(&descriptor, &second.items[..3]),
        [Some("email_received"), Some("email_sent"), Some("email_received")].map(|t| t.map(str::to_owned))
    );
    let signal = map(&descriptor, &second.items[0]).unwrap();
    assert_eq!(signal.related_items, [message_id(1), "PROJ-1".to_owned()]);
    assert_eq!(at(&signal.timestamp), at("2026-04-30T00:01:00Z"));

    // A week later Gmail no longer lists from 5150: a 404, and the run starts again from the
    // mailbox's current position.
    {
        let mut state = fake.0.lock().unwrap();
        state.oldest = 6000;
        state.current = 7000;
    }
    let before = request_count(&server).await;
    let third = poll(&engine, &descriptor, &config, &credentials, Some(&second.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    let starts: Vec<Option<String>> = sent
        .iter()
        .filter(|r| r.url.path() == "/gmail/v1/users/me/history")
        .map(|r| param(r, "startHistoryId"))
        .collect();
    assert_eq!(starts, [Some("5150".to_owned()), Some("7000".to_owned())]);
    assert!(third.items.is_empty());
    assert_eq!(position(&third).as_deref(), Some("7000"));
}

#[tokio::test]
async fn gmail_health_check_reads_the_profile_with_the_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/gmail/v1/users/me/profile"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"emailAddress": "api@nango.dev", "messagesTotal": 782, "threadsTotal": 735, "historyId": "88035"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("gmail"), &instance(&server), &tokens()).await;
    assert!(report.healthy, "{report:?}");
}
