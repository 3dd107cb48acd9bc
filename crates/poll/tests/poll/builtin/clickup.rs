//! ClickUp: `GET /api/v2/team/{team_id}/task` ("Get Filtered Team Tasks") with the personal
//! token as the bare `Authorization` header, `order_by=updated&reverse=true` (oldest update
//! first), `include_closed=true`, `subtasks=true`; `date_updated_gt` in unix milliseconds (tasks
//! updated strictly after it); pages numbered from 0 in `page`, 100 tasks each, the answer's
//! `last_page` saying whether more follow.

use std::sync::{Arc, Mutex};

use crate::support::check;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const TOKEN: &str = "pk_183_TESTTOKEN";
const TEAM: &str = "9011234567";
const PAGE_SIZE: usize = 100;

/// A Workspace's tasks, served as ClickUp's filtered team tasks list does.
#[derive(Clone)]
struct ClickUp(Arc<Mutex<Vec<Value>>>);

fn millis(text: &str) -> i64 {
    text.parse().unwrap()
}

fn updated(task: &Value) -> i64 {
    millis(task["date_updated"].as_str().unwrap())
}

fn ms(time: DateTime<Utc>) -> String {
    time.timestamp_millis().to_string()
}

fn bad_request(message: &str) -> ResponseTemplate {
    error(400, json!({"err": message, "ECODE": "PUBLIC_API_002"}))
}

impl Respond for ClickUp {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page: usize = match param(request, "page").map(|p| p.parse::<usize>()) {
            None => 0,
            Some(Ok(n)) => n,
            Some(Err(_)) => return bad_request("Page must be a number"),
        };
        let after = match param(request, "date_updated_gt").map(|d| d.parse::<i64>()) {
            None => None,
            Some(Ok(ms)) => Some(ms),
            Some(Err(_)) => return bad_request("date_updated_gt must be a number"),
        };
        let mut tasks: Vec<Value> =
            self.0.lock().unwrap().iter().filter(|t| after.is_none_or(|a| updated(t) > a)).cloned().collect();
        tasks.sort_by_key(|t| (updated(t), t["id"].as_str().unwrap().to_owned()));
        let start = page * PAGE_SIZE;
        let chunk: Vec<Value> = tasks.iter().skip(start).take(PAGE_SIZE).cloned().collect();
        let last_page = start + chunk.len() >= tasks.len();
        ResponseTemplate::new(200).set_body_json(json!({"tasks": chunk, "last_page": last_page}))
    }
}

/// A task like `template`, updated at `time`; created then too when `new`, else at the
/// fixture's creation time.
fn task(template: &Value, id: &str, time: DateTime<Utc>, new: bool) -> Value {
    let created = if new { ms(time) } else { template["date_created"].as_str().unwrap().to_owned() };
    with(
        template,
        &[
            ("/id", json!(id)),
            ("/date_created", json!(created)),
            ("/date_updated", json!(ms(time))),
            ("/url", json!(format!("https://app.clickup.com/t/{id}"))),
        ],
    )
}

fn generated(i: usize) -> String {
    format!("gen{i:03}")
}

/// The fixture's two tasks (2019-09-06 14:34:10.202) and 230 more, updated 30 s apart from
/// 15:00: three pages of 100, 100 and 32.
fn workspace() -> ClickUp {
    let mut tasks: Vec<Value> = fixture("clickup", "team_tasks.page0.json")["tasks"].as_array().unwrap().clone();
    let templates = tasks.clone();
    for i in 0..230usize {
        let time = at("2019-09-06T15:00:00Z") + TimeDelta::seconds(30 * i as i64);
        tasks.push(task(&templates[i % 2], &generated(i), time, i % 2 == 0));
    }
    ClickUp(Arc::new(Mutex::new(tasks)))
}

async fn mount(server: &MockServer, fake: &ClickUp) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v2/team/{TEAM}/task")))
        .and(header("authorization", TOKEN))
        .and(query_param("order_by", "updated"))
        .and(query_param("reverse", "true"))
        .and(query_param("include_closed", "true"))
        .and(query_param("subtasks", "true"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("teamId", TEAM), ("startDate", "2019-09-01")])
}

#[tokio::test]
async fn clickup_pages_by_number_until_last_page_then_asks_for_tasks_updated_after_the_checkpoint() {
    let server = MockServer::start().await;
    let fake = workspace();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("clickup");
    let credentials = credentials(&[("token", TOKEN)]);
    let config = instance(&server);
    let all = ids(&descriptor, &fake.0.lock().unwrap());

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // Pages 0, 1 and 2; the third says `last_page`, so no fourth request is sent.
    assert_eq!(sent.len(), 3);
    let pages: Vec<_> = sent.iter().map(|r| param(r, "page")).collect();
    assert_eq!(pages, [Some("0".to_owned()), Some("1".to_owned()), Some("2".to_owned())]);
    // The start date less the 60 s lookback, in milliseconds, on every page.
    let from = ms(at("2019-08-31T23:59:00Z"));
    assert!(sent.iter().all(|r| param(r, "date_updated_gt") == Some(from.clone())));
    assert_delivered(&descriptor, &first, 3, &all);
    assert_checkpoint(&first, "2019-09-06T16:54:30Z", &["gen229"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..4]),
        [Some("issue_created"), Some("issue_created"), Some("issue_created"), Some("issue_updated")]
            .map(|t| t.map(str::to_owned))
    );

    // After the run: a task created at 17:00, and gen100 closed at 17:05.
    let last = at("2019-09-06T16:54:30Z");
    {
        let mut tasks = fake.0.lock().unwrap();
        let template = tasks[0].clone();
        let created = at("2019-09-06T17:00:00Z");
        tasks.push(task(&template, "new001", created, true));
        let closed = at("2019-09-06T17:05:00Z");
        let gen100 = tasks.iter_mut().find(|t| t["id"] == "gen100").unwrap();
        *gen100 = with(
            gen100,
            &[
                ("/date_updated", json!(ms(closed))),
                ("/date_closed", json!(ms(closed))),
                ("/date_done", json!(ms(closed))),
                ("/status", json!({"status": "Closed", "color": "#6bc950", "orderindex": 2, "type": "closed"})),
            ],
        );
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(param(&sent[0], "page").as_deref(), Some("0"));
    assert_eq!(param(&sent[0], "date_updated_gt"), Some(ms(last - TimeDelta::seconds(60))));
    // gen228 (16:54:00) falls in the lookback and comes again as the same signal; gen229, at the
    // checkpoint, is dropped as seen.
    let (fresh, repeats) = split_repeats(&descriptor, &first, &second, TimeDelta::seconds(60));
    assert_eq!(ids(&descriptor, &repeats), ["gen228"]);
    assert_eq!(ids(&descriptor, &fresh), ["new001", "gen100"]);
    assert_eq!(
        signal_types(&descriptor, &fresh),
        [Some("issue_created"), Some("issue_transitioned")].map(|t| t.map(str::to_owned))
    );
    let closed = map(&descriptor, &fresh[1]).unwrap();
    assert_eq!(closed.timestamp, "2019-09-06T17:05:00Z");
    assert_eq!(closed.url.as_deref(), Some("https://app.clickup.com/t/gen100"));
    assert_checkpoint(&second, "2019-09-06T17:05:00Z", &["gen100"]);
}

#[tokio::test]
async fn clickup_health_check_lists_the_workspaces_with_the_bare_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/team"))
        .and(header("authorization", TOKEN))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"teams": [{"id": TEAM, "name": "My ClickUp Workspace"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("clickup"), &instance(&server), &credentials(&[("token", TOKEN)])).await;
    assert!(report.healthy, "{report:?}");
}

#[tokio::test]
async fn clickup_a_task_created_is_one_signal_whether_polled_or_pushed() {
    // The documented taskCreated delivery (task 1vj37mc, 1642734631523) and the same task as the
    // list would answer it right after its creation: the same external id, time and type.
    let descriptor = descriptor("clickup");
    let delivery = fixture("clickup", "taskCreated.json");
    let ctx = switchboard_core::MapContext {
        connector_id: "clickup",
        project_id: "p1",
        ingestion: switchboard_core::IngestionKind::Webhook,
        event_type: Some("taskCreated"),
        received_at: at("2024-06-01T00:00:00Z"),
        config: None,
    };
    let pushed = descriptor.map_item(&delivery, &ctx).signals.remove(0);
    let template = &fixture("clickup", "team_tasks.page0.json")["tasks"][0];
    let polled = task(template, "1vj37mc", Utc.timestamp_millis_opt(1642734631523).unwrap(), true);
    let polled = map(&descriptor, &polled).unwrap();
    assert_eq!((pushed.signal_type.as_str(), polled.signal_type.as_str()), ("issue_created", "issue_created"));
    assert_eq!(pushed.timestamp, polled.timestamp);
    assert_eq!(pushed.id, polled.id);
}
