//! Google Calendar: `GET /calendar/v3/calendars/{calendarId}/events` with the OAuth2 access token
//! as `Authorization: Bearer`, `orderBy=updated`, `showDeleted=true`, `updatedMin` (RFC 3339:
//! events modified at or after it, cancelled ones included), `maxResults` (at most 2500) and an
//! opaque `pageToken` from `nextPageToken`; the last page has no `nextPageToken` and carries a
//! `nextSyncToken` instead. Events come oldest modification first.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;
use crate::support::{check, oauth_credentials};

const TOKEN: &str = "ya29.a0AfB_byC-calendar-access-token";

/// A calendar's events, served as `events.list` does.
#[derive(Clone)]
struct Calendar(Arc<Mutex<Vec<Value>>>);

fn updated(event: &Value) -> DateTime<Utc> {
    at(event["updated"].as_str().unwrap())
}

fn page_token(index: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("index:{index}"))
}

fn bad_request(message: &str) -> ResponseTemplate {
    error(
        400,
        json!({"error": {"code": 400, "message": message, "errors": [{"domain": "global", "reason": "invalid", "message": message}]}}),
    )
}

impl Respond for Calendar {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let max: usize = match param(request, "maxResults").map(|m| m.parse::<usize>()) {
            None => 250,
            Some(Ok(n)) if (1..=2500).contains(&n) => n,
            _ => return bad_request("Invalid value for maxResults"),
        };
        let since = match param(request, "updatedMin").map(|s| DateTime::parse_from_rfc3339(&s)) {
            None => None,
            Some(Ok(t)) => Some(t.with_timezone(&Utc)),
            Some(Err(_)) => return bad_request("Invalid value for updatedMin"),
        };
        let start = match param(request, "pageToken") {
            None => 0,
            Some(token) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok();
                match decoded
                    .and_then(|d| String::from_utf8(d).ok())
                    .and_then(|s| s.strip_prefix("index:").and_then(|n| n.parse::<usize>().ok()))
                {
                    Some(n) => n,
                    None => return bad_request("Invalid page token value"),
                }
            }
        };
        let mut events: Vec<Value> =
            self.0.lock().unwrap().iter().filter(|e| since.is_none_or(|s| updated(e) >= s)).cloned().collect();
        events.sort_by_key(updated);
        let items: Vec<Value> = events.iter().skip(start).take(max).cloned().collect();
        let mut body = json!({
            "kind": "calendar#events",
            "etag": "\"p32ns78katmcp60o\"",
            "summary": "Updated Test Calendar",
            "timeZone": "America/Sao_Paulo",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": items,
        });
        if start + max < events.len() {
            body["nextPageToken"] = json!(page_token(start + max));
        } else {
            body["nextSyncToken"] = json!("CP_VtY3tmZMDGAUgkty-owMokty-owM=");
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// An event like the fixture's, modified at `time`, cancelled when `cancelled`.
fn event(template: &Value, id: &str, time: DateTime<Utc>, cancelled: bool) -> Value {
    with(
        template,
        &[
            ("/id", json!(id)),
            ("/updated", json!(iso_millis(time))),
            ("/status", json!(if cancelled { "cancelled" } else { "confirmed" })),
            ("/summary", json!(format!("Planning OPS-{}", id.trim_start_matches("ev")))),
        ],
    )
}

/// The fixture's "Sample Event" (modified 2025-04-16 08:49:05.933) and 300 more, modified every
/// minute from 2025-04-17 00:00; every seventh is cancelled.
fn calendar() -> Calendar {
    let template = fixture("google-calendar", "events.items.json")["items"][1].clone();
    let mut events = vec![template.clone()];
    for i in 0..300usize {
        let time = at("2025-04-17T00:00:00Z") + TimeDelta::minutes(i as i64);
        events.push(event(&template, &format!("ev{i:04}"), time, i % 7 == 3));
    }
    Calendar(Arc::new(Mutex::new(events)))
}

async fn mount(server: &MockServer, fake: &Calendar) {
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary/events"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("orderBy", "updated"))
        .and(query_param("showDeleted", "true"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("calendarId", "primary"), ("startDate", "2025-04-01")])
}

fn tokens() -> switchboard_poll::credentials::Credentials {
    oauth_credentials(TOKEN, "1//refresh-token", at("2030-01-01T00:00:00Z"))
}

#[tokio::test]
async fn google_calendar_pages_by_token_then_asks_for_events_updated_since_the_checkpoint() {
    let server = MockServer::start().await;
    let fake = calendar();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("google-calendar");
    let config = instance(&server);
    let credentials = tokens();

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // 250, then 51 with a nextSyncToken.
    assert_eq!(sent.len(), 2);
    assert_eq!(param(&sent[0], "updatedMin").as_deref(), Some("2025-03-31T23:59:00Z"));
    assert_eq!(param(&sent[0], "maxResults").as_deref(), Some("250"));
    assert_eq!(param(&sent[0], "pageToken"), None);
    assert_eq!(param(&sent[1], "pageToken"), Some(page_token(250)));
    let expected: Vec<String> =
        std::iter::once("15r7aoi4nub7be4slg452ep3g3".to_owned()).chain((0..300).map(|i| format!("ev{i:04}"))).collect();
    assert_delivered(&descriptor, &first, 2, &expected);
    assert_checkpoint(&first, "2025-04-17T04:59:00Z", &["ev0299"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..5]),
        [
            Some("meeting_updated"),
            Some("meeting_updated"),
            Some("meeting_updated"),
            Some("meeting_updated"),
            Some("meeting_cancelled")
        ]
        .map(|t| t.map(str::to_owned))
    );
    let signal = map(&descriptor, &first.items[1]).unwrap();
    assert_eq!(signal.related_items, ["OPS-0000"]);

    // After the run: a new event at 05:30, and ev0010 cancelled at 05:40.
    {
        let mut events = fake.0.lock().unwrap();
        let template = events[0].clone();
        events.push(event(&template, "ev9001", at("2025-04-17T05:30:00Z"), false));
        let gone = events.iter_mut().find(|e| e["id"] == "ev0010").unwrap();
        *gone = event(&gone.clone(), "ev0010", at("2025-04-17T05:40:00Z"), true);
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(param(&sent[0], "updatedMin").as_deref(), Some("2025-04-17T04:58:00Z"));
    // ev0298 (04:58) comes again within the lookback as a signal already produced; ev0299, at the
    // checkpoint, is dropped as seen.
    let (fresh, repeats) = split_repeats(&descriptor, &first, &second, TimeDelta::seconds(60));
    assert_eq!(ids(&descriptor, &repeats), ["ev0298"]);
    assert_eq!(ids(&descriptor, &fresh), ["ev9001", "ev0010"]);
    assert_eq!(
        signal_types(&descriptor, &fresh),
        [Some("meeting_updated"), Some("meeting_cancelled")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2025-04-17T05:40:00Z", &["ev0010"]);
}

#[tokio::test]
async fn google_calendar_health_check_reads_the_calendar_with_the_access_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/calendar/v3/calendars/primary"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "kind": "calendar#calendar", "etag": "\"p32np7eksg74920o\"", "id": "api@nango.dev",
            "summary": "Updated Test Calendar", "timeZone": "America/Sao_Paulo"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("google-calendar"), &instance(&server), &tokens()).await;
    assert!(report.healthy, "{report:?}");
}
