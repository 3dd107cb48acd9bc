//! Stripe: `GET /v1/events` with a bearer key, the event `types[]` asked for, `created[gte]`
//! (unix seconds), `limit` (at most 100), newest first; `starting_after` (an event id: the events
//! after it in the list, i.e. older ones) pages back, and `has_more` says whether more follow.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::support::check;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const KEY: &str = "rk_test_51MhUZrE0b6fckueS";

/// The event types the connector asks for.
const TYPES: [&str; 8] = [
    "invoice.payment_failed",
    "charge.failed",
    "payment_intent.payment_failed",
    "charge.dispute.created",
    "radar.early_fraud_warning.created",
    "payout.failed",
    "customer.subscription.deleted",
    "customer.subscription.created",
];

/// An account's events, served as Stripe's events list does.
#[derive(Clone)]
struct Stripe(Arc<Mutex<Vec<Value>>>);

fn created(event: &Value) -> i64 {
    event["created"].as_i64().unwrap()
}

fn invalid_request(message: &str) -> ResponseTemplate {
    error(400, json!({"error": {"type": "invalid_request_error", "message": message}}))
}

impl Respond for Stripe {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let types: BTreeSet<String> =
            request.url.query_pairs().filter(|(k, _)| k == "types[]").map(|(_, v)| v.into_owned()).collect();
        if types != TYPES.iter().map(|t| (*t).to_owned()).collect() {
            return invalid_request("this fake expects the connector's eight event types in types[]");
        }
        let limit: usize = match param(request, "limit").map(|l| l.parse::<usize>()) {
            None => 10,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            _ => return invalid_request("Invalid integer: limit must be between 1 and 100"),
        };
        let since = match param(request, "created[gte]").map(|c| c.parse::<i64>()) {
            None => None,
            Some(Ok(unix)) => Some(unix),
            Some(Err(_)) => return invalid_request("Invalid integer: created[gte]"),
        };
        if param(request, "created[gt]").is_some() || param(request, "ending_before").is_some() {
            return invalid_request("this fake expects created[gte] and starting_after only");
        }
        let mut events: Vec<Value> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| types.contains(e["type"].as_str().unwrap()))
            .filter(|e| since.is_none_or(|s| created(e) >= s))
            .cloned()
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse((created(e), e["id"].as_str().unwrap().to_owned())));
        let start = match param(request, "starting_after") {
            None => 0,
            Some(id) => match events.iter().position(|e| e["id"] == id.as_str()) {
                Some(at) => at + 1,
                None => return invalid_request(&format!("No such event: '{id}'")),
            },
        };
        let data: Vec<Value> = events.iter().skip(start).take(limit).cloned().collect();
        let has_more = start + data.len() < events.len();
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": data,
            "has_more": has_more,
            "url": "/v1/events"
        }))
    }
}

fn event_at(template: &Value, id: &str, time: DateTime<Utc>) -> Value {
    with(template, &[("/id", json!(id)), ("/created", json!(time.timestamp()))])
}

/// The fixture page's subscription (2023-03-03 09:07) and dispute (2009), a checkout session
/// the connector does not ask for, and 150 disputes and failed invoices from 2023-03-02, a
/// minute apart: two pages of up to 100 from a start date of 2023-03-01.
fn account() -> Stripe {
    let page = fixture("stripe", "events.page1.json");
    let mut events: Vec<Value> = page["data"].as_array().unwrap().clone();
    events.push(fixture("stripe", "checkout.session.completed.json"));
    let dispute = fixture("stripe", "charge.dispute.created.json");
    let invoice = fixture("stripe", "invoice.payment_failed.json");
    for i in 0..150i64 {
        let time = at("2023-03-02T00:00:00Z") + TimeDelta::minutes(i);
        let template = if i % 2 == 0 { &dispute } else { &invoice };
        events.push(event_at(template, &format!("evt_gen{i:03}"), time));
    }
    Stripe(Arc::new(Mutex::new(events)))
}

async fn mount(server: &MockServer, fake: &Stripe) {
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(query_param("limit", "100"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

#[tokio::test]
async fn stripe_pages_back_with_starting_after_then_asks_from_the_checkpoint_second() {
    let server = MockServer::start().await;
    let fake = account();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("stripe");
    let config = config(&[("baseUrl", &server.uri()), ("startDate", "2023-03-01")]);
    let credentials = credentials(&[("apiKey", KEY)]);

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // 100, then 51 with `has_more: false`: no third request.
    assert_eq!(sent.len(), 2);
    let start = at("2023-03-01T00:00:00Z").timestamp().to_string();
    assert_eq!(param(&sent[0], "created[gte]"), Some(start.clone()), "the first sync starts at the start date");
    assert_eq!(param(&sent[0], "starting_after"), None);
    assert_eq!(param(&sent[1], "created[gte]"), Some(start));
    let generated: Vec<String> = (0..150).rev().map(|i| format!("evt_gen{i:03}")).collect();
    let expected: Vec<String> = ["evt_1MhUZtE0b6fckueSDaOf1oJ8".to_owned()].into_iter().chain(generated).collect();
    assert_eq!(param(&sent[1], "starting_after"), Some(expected[99].clone()));
    assert_delivered(&descriptor, &first, 2, &expected);
    assert_checkpoint(&first, "2023-03-03T09:07:00Z", &["evt_1MhUZtE0b6fckueSDaOf1oJ8"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..3]),
        [Some("subscription_created"), Some("payment_failed"), Some("dispute_opened")].map(|t| t.map(str::to_owned))
    );

    // A dispute in the same second as the checkpoint and a failed payment an hour later.
    let dispute = fixture("stripe", "charge.dispute.created.json");
    let invoice = fixture("stripe", "invoice.payment_failed.json");
    fake.0.lock().unwrap().extend([
        event_at(&dispute, "evt_same_second", at("2023-03-03T09:07:00Z")),
        event_at(&invoice, "evt_an_hour_later", at("2023-03-03T10:07:00Z")),
    ]);
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    // `created[gte]` of the checkpoint's second: the subscription event comes again and is
    // dropped as already seen there, the other event of that second is not lost.
    assert_eq!(param(&sent[0], "created[gte]"), Some(at("2023-03-03T09:07:00Z").timestamp().to_string()));
    assert_delivered(&descriptor, &second, 1, &["evt_an_hour_later".to_owned(), "evt_same_second".to_owned()]);
    assert_eq!(
        signal_types(&descriptor, &second.items),
        [Some("payment_failed"), Some("dispute_opened")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2023-03-03T10:07:00Z", &["evt_an_hour_later"]);
}

#[tokio::test]
async fn stripe_first_sync_without_a_start_date_reads_the_last_three_days() {
    let server = MockServer::start().await;
    let fake = Stripe(Arc::new(Mutex::new(Vec::new())));
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let config = config(&[("baseUrl", &server.uri())]);
    let first = poll(&engine, &descriptor("stripe"), &config, &credentials(&[("apiKey", KEY)]), None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(sent.len(), 1);
    // The engine's clock starts at 2024-01-01T00:00:00Z.
    assert_eq!(param(&sent[0], "created[gte]"), Some(at("2023-12-29T00:00:00Z").timestamp().to_string()));
    assert!(first.items.is_empty());
}

#[tokio::test]
async fn stripe_health_check_lists_one_event_with_the_bearer_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(query_param("limit", "1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"object": "list", "data": [], "has_more": false, "url": "/v1/events"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report =
        check(&descriptor("stripe"), &config(&[("baseUrl", &server.uri())]), &credentials(&[("apiKey", KEY)])).await;
    assert!(report.healthy, "{report:?}");
}
