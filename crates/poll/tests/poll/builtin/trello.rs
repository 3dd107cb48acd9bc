//! Trello: `GET /1/boards/{id}/actions` with `key` and `token` query parameters, the action
//! `filter`, `limit` (at most 1000), newest first; `since` (a date: actions at or after it) and
//! `before` (an action id: actions older than it) page back through the board's history.

use std::sync::{Arc, Mutex};

use crate::support::check;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const KEY: &str = "trello-key";
const TOKEN: &str = "trello-token";
const BOARD: &str = "5abbe4b7ddc1b351ef961414";

/// A board's actions, served as Trello does.
#[derive(Clone)]
struct Trello(Arc<Mutex<Vec<Value>>>);

fn date(action: &Value) -> DateTime<Utc> {
    at(action["date"].as_str().unwrap())
}

impl Respond for Trello {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let limit: usize = match param(request, "limit").map(|l| l.parse::<usize>()) {
            Some(Ok(n)) if (1..=1000).contains(&n) => n,
            None => 50,
            _ => return ResponseTemplate::new(400).set_body_string("invalid value for limit"),
        };
        let since = match param(request, "since").map(|s| DateTime::parse_from_rfc3339(&s)) {
            None => None,
            Some(Ok(t)) => Some(t.with_timezone(&Utc)),
            Some(Err(_)) => return ResponseTemplate::new(400).set_body_string("invalid value for since"),
        };
        let mut actions: Vec<Value> =
            self.0.lock().unwrap().iter().filter(|a| since.is_none_or(|s| date(a) >= s)).cloned().collect();
        actions.sort_by_key(|a| std::cmp::Reverse((date(a), a["id"].as_str().unwrap().to_owned())));
        let start = match param(request, "before") {
            None => 0,
            Some(id) => match self.0.lock().unwrap().iter().find(|a| a["id"] == id.as_str()) {
                Some(before) => {
                    let cut = date(before);
                    actions.iter().position(|a| date(a) < cut).unwrap_or(actions.len())
                }
                None => return ResponseTemplate::new(400).set_body_string("invalid value for before"),
            },
        };
        let page: Vec<Value> = actions.into_iter().skip(start).take(limit).collect();
        ResponseTemplate::new(200).set_body_json(page)
    }
}

/// An action id as Trello makes them: the creation time in the first 8 hex digits.
fn action_id(time: DateTime<Utc>, n: u64) -> String {
    format!("{:08x}{:016x}", time.timestamp(), n)
}

/// The fixture's four actions and 1100 older ones, 30 s apart: two pages of up to 1000.
fn board() -> Trello {
    let mut actions: Vec<Value> = fixture("trello", "board_actions.page1.json").as_array().unwrap().clone();
    let templates = actions.clone();
    for i in 0..1100u64 {
        let time = at("2020-03-09T18:00:00Z") - TimeDelta::seconds(30 * i as i64);
        let template = &templates[i as usize % templates.len()];
        actions.push(with(template, &[("/id", json!(action_id(time, i))), ("/date", json!(iso_millis(time)))]));
    }
    Trello(Arc::new(Mutex::new(actions)))
}

async fn mount(server: &MockServer, fake: &Trello) {
    Mock::given(method("GET"))
        .and(path(format!("/1/boards/{BOARD}/actions")))
        .and(query_param("key", KEY))
        .and(query_param("token", TOKEN))
        .and(query_param("filter", "createCard,commentCard,updateCard:idList"))
        .and(query_param("limit", "1000"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("boardId", BOARD)])
}

#[tokio::test]
async fn trello_pages_back_with_before_then_asks_only_for_actions_since() {
    let server = MockServer::start().await;
    let fake = board();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("trello");
    let credentials = credentials(&[("apiKey", KEY), ("token", TOKEN)]);
    let config = instance(&server);
    let all = ids(&descriptor, &fake.0.lock().unwrap());

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // 1000, then 104, then an empty page: the cursor pagination ends when `$[-1:].id` has
    // nothing to select.
    assert_eq!(sent.len(), 3);
    assert_eq!((param(&sent[0], "since"), param(&sent[0], "before")), (None, None));
    assert_eq!(param(&sent[1], "before"), Some(all[999].clone()));
    assert_eq!(param(&sent[2], "before"), Some(all[1103].clone()));
    assert_delivered(&descriptor, &first, 3, &all);
    assert_checkpoint(&first, "2020-03-09T19:41:51.396Z", &["5e669a2fc7bb3a7c0e1c3f04"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..4]),
        [Some("card_commented"), Some("card_moved"), None, Some("card_created")].map(|t| t.map(str::to_owned))
    );

    // A card created and another moved after the checkpoint.
    let last = at("2020-03-09T19:41:51.396Z");
    {
        let mut actions = fake.0.lock().unwrap();
        let created = last + TimeDelta::minutes(3);
        let moved = last + TimeDelta::minutes(4);
        let new_card =
            with(&actions[3], &[("/id", json!(action_id(created, 9001))), ("/date", json!(iso_millis(created)))]);
        let new_move =
            with(&actions[1], &[("/id", json!(action_id(moved, 9002))), ("/date", json!(iso_millis(moved)))]);
        actions.extend([new_card, new_move]);
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(param(&sent[0], "since").as_deref(), Some("2020-03-09T19:40:51.396Z"));
    assert_eq!(param(&sent[0], "before"), None);
    assert_eq!(param(&sent[1], "since").as_deref(), Some("2020-03-09T19:40:51.396Z"));
    // The newest action of the first run is dropped as seen; the two before it fall in the 60 s
    // lookback and come again as the same signals, which the normaliser drops.
    let (fresh, repeats) = split_repeats(&descriptor, &first, &second, TimeDelta::seconds(60));
    assert_eq!(
        ids(&descriptor, &fresh),
        [action_id(last + TimeDelta::minutes(4), 9002), action_id(last + TimeDelta::minutes(3), 9001)]
    );
    assert_eq!(ids(&descriptor, &repeats), ["5e669a0bd0b1f8553ae5ad31", "5e6699fd0e8a6c1e4f5b2a77"]);
    assert_eq!(
        signal_types(&descriptor, &fresh),
        [Some("card_moved"), Some("card_created")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(
        &second,
        &iso_millis(last + TimeDelta::minutes(4)),
        &[&action_id(last + TimeDelta::minutes(4), 9002)],
    );
}

#[tokio::test]
async fn trello_health_check_sends_key_and_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/1/members/me"))
        .and(query_param("key", KEY))
        .and(query_param("token", TOKEN))
        .and(query_param("fields", "username"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "5abbe4b7ddc1b351ef961414", "username": "bobtester"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report =
        check(&descriptor("trello"), &instance(&server), &credentials(&[("apiKey", KEY), ("token", TOKEN)])).await;
    assert!(report.healthy, "{report:?}");
}
