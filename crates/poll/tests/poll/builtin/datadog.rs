//! Datadog: `GET /api/v2/events` with `DD-API-KEY` and `DD-APPLICATION-KEY`, `filter[query]`,
//! `filter[from]` in unix milliseconds (the last 15 minutes when absent), `sort=timestamp`
//! (oldest first), `page[limit]` and an opaque `page[cursor]` from `meta.page.after`, which is
//! present only while more events follow.

use std::sync::{Arc, Mutex};

use crate::support::check;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const API_KEY: &str = "dd-api-key";
const APP_KEY: &str = "dd-app-key";

/// An organisation's events, served as Datadog's v2 events list does at `now`.
#[derive(Clone)]
struct Datadog {
    events: Arc<Mutex<Vec<Value>>>,
    now: Arc<Mutex<DateTime<Utc>>>,
}

fn time(event: &Value) -> DateTime<Utc> {
    at(event["attributes"]["timestamp"].as_str().unwrap())
}

fn bad_request(message: &str) -> ResponseTemplate {
    error(400, json!({"errors": [message]}))
}

fn cursor(index: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({"startAt": index}).to_string())
}

impl Respond for Datadog {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = *self.now.lock().unwrap();
        let from = match param(request, "filter[from]").map(|f| f.parse::<i64>()) {
            None => now - TimeDelta::minutes(15),
            Some(Ok(ms)) => Utc.timestamp_millis_opt(ms).unwrap(),
            Some(Err(_)) => return bad_request("invalid filter[from]"),
        };
        let limit: usize = match param(request, "page[limit]").map(|l| l.parse::<usize>()) {
            None => 10,
            Some(Ok(n)) if (1..=1000).contains(&n) => n,
            _ => return bad_request("page[limit] must be between 1 and 1000"),
        };
        let start = match param(request, "page[cursor]") {
            None => 0,
            Some(c) => {
                let decoded = base64::engine::general_purpose::STANDARD.decode(c).ok();
                let start_at =
                    decoded.and_then(|d| serde_json::from_slice::<Value>(&d).ok()).and_then(|v| v["startAt"].as_u64());
                match start_at {
                    Some(n) => n as usize,
                    None => return bad_request("invalid page[cursor]"),
                }
            }
        };
        let mut matching: Vec<Value> =
            self.events.lock().unwrap().iter().filter(|e| time(e) >= from && time(e) <= now).cloned().collect();
        matching.sort_by_key(|e| (time(e), e["id"].as_str().unwrap().to_owned()));
        let data: Vec<Value> = matching.iter().skip(start).take(limit).cloned().collect();
        let mut page = json!({});
        let mut links = json!({});
        if start + data.len() < matching.len() {
            let after = cursor(start + data.len());
            page["after"] = json!(after);
            links["next"] = json!(format!("/api/v2/events?page[cursor]={after}&page[limit]={limit}"));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "data": data,
            "links": links,
            "meta": {"elapsed": 12, "page": page, "request_id": "req-1", "status": "done", "warnings": []}
        }))
    }
}

fn event_at(template: &Value, id: &str, at: DateTime<Utc>) -> Value {
    with(
        template,
        &[
            ("/id", json!(id)),
            ("/attributes/timestamp", json!(iso_millis(at))),
            ("/attributes/attributes/timestamp", json!(at.timestamp_millis())),
        ],
    )
}

/// The fixture's trigger, warning, deploy and recovery (09:02-09:20), 150 more warnings every
/// 2 s from 09:10:30, and one alert at 08:40, before the API's default window.
fn organisation(now: &str) -> Datadog {
    let mut events: Vec<Value> = fixture("datadog", "events.page1.json")["data"].as_array().unwrap().clone();
    let warning = events[1].clone();
    for i in 0..150i64 {
        events.push(event_at(&warning, &format!("gen-{i:03}"), at("2023-10-26T09:10:30Z") + TimeDelta::seconds(2 * i)));
    }
    events.push(event_at(&warning, "before-the-window", at("2023-10-26T08:40:00Z")));
    Datadog { events: Arc::new(Mutex::new(events)), now: Arc::new(Mutex::new(at(now))) }
}

async fn mount(server: &MockServer, fake: &Datadog) {
    Mock::given(method("GET"))
        .and(path("/api/v2/events"))
        .and(header("dd-api-key", API_KEY))
        .and(header("dd-application-key", APP_KEY))
        .and(query_param("filter[query]", "source:alert"))
        .and(query_param("sort", "timestamp"))
        .and(query_param("page[limit]", "100"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

#[tokio::test]
async fn datadog_pages_by_cursor_then_asks_from_the_checkpoint_in_milliseconds() {
    let server = MockServer::start().await;
    let fake = organisation("2023-10-26T09:16:00Z");
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("datadog");
    let config = config(&[("baseUrl", &server.uri())]);
    let credentials = credentials(&[("apiKey", API_KEY), ("applicationKey", APP_KEY)]);

    // The first run sends no `filter[from]`: Datadog's default window is the last 15 minutes.
    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(param(&sent[0], "filter[from]"), None);
    assert_eq!(param(&sent[0], "page[cursor]"), None);
    assert_eq!(param(&sent[1], "page[cursor]"), Some(cursor(100)));
    let fixture_ids = ids(&descriptor, &fake.events.lock().unwrap()[..3]);
    let generated: Vec<String> = (0..150).map(|i| format!("gen-{i:03}")).collect();
    let expected: Vec<String> = fixture_ids.iter().cloned().chain(generated).collect();
    assert_delivered(&descriptor, &first, 2, &expected);
    assert_checkpoint(&first, "2023-10-26T09:15:28Z", &["gen-149"]);
    let priorities: Vec<_> = first.items[..3]
        .iter()
        .map(|e| map(&descriptor, e).map(|s| (s.signal_type, s.priority.map(|p| format!("{p:?}")))))
        .collect();
    assert_eq!(
        priorities,
        [
            Some(("monitor_triggered".to_owned(), Some("Critical".to_owned()))),
            Some(("monitor_triggered".to_owned(), Some("Medium".to_owned()))),
            None
        ]
    );

    // Nine minutes later the P1 alert has recovered.
    *fake.now.lock().unwrap() = at("2023-10-26T09:25:00Z");
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    // 09:15:28 minus the 60 s lookback, in milliseconds.
    assert_eq!(param(&sent[0], "filter[from]"), Some(at("2023-10-26T09:14:28Z").timestamp_millis().to_string()));
    let (fresh, repeats) = split_repeats(&descriptor, &first, &second, TimeDelta::seconds(60));
    assert_eq!(ids(&descriptor, &fresh), ["AAAAAWgN8Xwl8HlKDQAAAABBV2dOOFh3bDhIbEtEUUFBQUFCRA"]);
    assert_eq!(repeats.len(), 30, "the warnings of the lookback minute, but the one at the checkpoint");
    let recovery = map(&descriptor, &fresh[0]).unwrap();
    assert_eq!(
        (recovery.signal_type.as_str(), recovery.priority.map(|p| format!("{p:?}"))),
        ("monitor_resolved", Some("Critical".to_owned()))
    );
    assert_checkpoint(&second, "2023-10-26T09:20:37.913Z", &["AAAAAWgN8Xwl8HlKDQAAAABBV2dOOFh3bDhIbEtEUUFBQUFCRA"]);
}

#[tokio::test]
async fn datadog_health_check_lists_events_with_both_keys() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/events"))
        .and(header("dd-api-key", API_KEY))
        .and(header("dd-application-key", APP_KEY))
        .and(query_param("filter[query]", "source:alert"))
        .and(query_param("page[limit]", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "meta": {"page": {}}})))
        .expect(1)
        .mount(&server)
        .await;
    let report = check(
        &descriptor("datadog"),
        &config(&[("baseUrl", &server.uri())]),
        &credentials(&[("apiKey", API_KEY), ("applicationKey", APP_KEY)]),
    )
    .await;
    assert!(report.healthy, "{report:?}");
}
