//! Notion: `POST /v1/search` with a bearer secret and `Notion-Version`, a JSON body with the
//! sort and `page_size` (at most 100), `start_cursor` / `next_cursor` + `has_more` pagination,
//! and no time filter at all: results come newest edit first.

use std::sync::{Arc, Mutex};

use crate::support::check;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const SECRET: &str = "ntn_test_secret";

/// The pages and databases shared with an integration, served as Notion's search does.
#[derive(Clone)]
struct Notion(Arc<Mutex<Vec<Value>>>);

fn edited(result: &Value) -> DateTime<Utc> {
    at(result["last_edited_time"].as_str().unwrap())
}

fn validation_error(message: &str) -> ResponseTemplate {
    error(400, json!({"object": "error", "status": 400, "code": "validation_error", "message": message}))
}

impl Respond for Notion {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return validation_error("Error parsing JSON body.");
        };
        if body["sort"] != json!({"direction": "descending", "timestamp": "last_edited_time"}) {
            return validation_error("body.sort should be newest edit first in this fake");
        }
        let page_size = match &body["page_size"] {
            Value::Number(n) if n.as_u64().is_some_and(|n| (1..=100).contains(&n)) => n.as_u64().unwrap() as usize,
            Value::Null => 100,
            _ => return validation_error("body failed validation: body.page_size should be ≤ 100"),
        };
        let mut results = self.0.lock().unwrap().clone();
        results.sort_by_key(|r| std::cmp::Reverse((edited(r), r["id"].as_str().unwrap().to_owned())));
        let start = match body.get("start_cursor") {
            None => 0,
            Some(Value::String(cursor)) => match results.iter().position(|r| r["id"] == cursor.as_str()) {
                Some(at) => at,
                None => return validation_error("body failed validation: body.start_cursor should be a valid cursor"),
            },
            Some(other) => {
                return validation_error(&format!(
                    "body failed validation: body.start_cursor should be a string or `undefined`, instead was `{other}`."
                ));
            }
        };
        let page: Vec<Value> = results.iter().skip(start).take(page_size).cloned().collect();
        let next = results.get(start + page_size).map(|r| r["id"].clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "results": page,
            "next_cursor": next.clone().unwrap_or(Value::Null),
            "has_more": next.is_some(),
            "type": "page_or_database",
            "page_or_database": {},
            "request_id": "00000000-0000-4000-8000-000000000000"
        }))
    }
}

/// The fixture's page, database and archived page, and 150 older pages: two pages of 100.
fn workspace() -> Notion {
    let mut results: Vec<Value> = fixture("notion", "search.page1.json")["results"].as_array().unwrap().clone();
    let template = results[0].clone();
    for i in 0..150i64 {
        let time = at("2023-03-01T00:00:00Z") - TimeDelta::minutes(i);
        results.push(with(
            &template,
            &[
                ("/id", json!(format!("00000000-0000-4000-8000-{i:012}"))),
                ("/last_edited_time", json!(iso_millis(time))),
            ],
        ));
    }
    Notion(Arc::new(Mutex::new(results)))
}

async fn mount(server: &MockServer, fake: &Notion) {
    Mock::given(method("POST"))
        .and(path("/v1/search"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("notion-version", "2022-06-28"))
        .and(header("content-type", "application/json"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

#[tokio::test]
async fn notion_reads_every_page_then_stops_at_the_checkpoint() {
    let server = MockServer::start().await;
    let fake = workspace();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("notion");
    let (config, credentials) = (config(&[("baseUrl", &server.uri())]), credentials(&[("apiKey", SECRET)]));
    let all = ids(&descriptor, &fake.0.lock().unwrap());

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(request.url.query(), None, "Notion's search takes no query parameters");
    }
    // No `start_cursor` on the first page (Notion rejects an empty one), then `next_cursor`.
    assert_eq!(
        json_body(&sent[0]),
        json!({"sort": {"direction": "descending", "timestamp": "last_edited_time"}, "page_size": 100})
    );
    assert_eq!(json_body(&sent[1])["start_cursor"], all[100].as_str());
    assert_delivered(&descriptor, &first, 2, &all);
    assert_checkpoint(&first, "2023-03-09T08:03:00Z", &["59833787-2cf9-4fdf-8782-e53db20768a5"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..3]),
        [Some("page_updated"), Some("database_updated"), Some("page_updated")].map(|t| t.map(str::to_owned))
    );

    // The database is edited and a page is created; search still returns everything, newest
    // first, so the run must stop on its own at the first result it has seen.
    {
        let mut results = fake.0.lock().unwrap();
        let database = with(&results[1], &[("/last_edited_time", json!("2023-03-10T09:00:00.000Z"))]);
        results[1] = database;
        let new = with(
            &results[0],
            &[
                ("/id", json!("d5e0f7a2-0000-4000-8000-00000000000a")),
                ("/last_edited_time", json!("2023-03-10T09:30:00.000Z")),
            ],
        );
        results.push(new);
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1, "the first page already reaches the checkpoint");
    assert_delivered(
        &descriptor,
        &second,
        1,
        &["d5e0f7a2-0000-4000-8000-00000000000a".to_owned(), "a1d8501e-1ac1-43e9-a6bd-ea9fe6c8822b".to_owned()],
    );
    assert_eq!(
        signal_types(&descriptor, &second.items),
        [Some("page_updated"), Some("database_updated")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2023-03-10T09:30:00Z", &["d5e0f7a2-0000-4000-8000-00000000000a"]);

    // Nothing new: one request, nothing delivered, the checkpoint stays.
    let third = poll(&engine, &descriptor, &config, &credentials, Some(&second.new_checkpoint)).await;
    assert_delivered(&descriptor, &third, 1, &[]);
    assert_eq!(third.new_checkpoint, second.new_checkpoint);
}

#[tokio::test]
async fn notion_health_check_reads_the_bot_user_with_secret_and_version() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/users/me"))
        .and(header("authorization", format!("Bearer {SECRET}").as_str()))
        .and(header("notion-version", "2022-06-28"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"object": "user", "type": "bot", "id": "u1"})))
        .expect(1)
        .mount(&server)
        .await;
    let report =
        check(&descriptor("notion"), &config(&[("baseUrl", &server.uri())]), &credentials(&[("apiKey", SECRET)])).await;
    assert!(report.healthy, "{report:?}");
}
