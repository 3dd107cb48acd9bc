//! Asana: `GET /api/1.0/tasks?project=…` with the token as `Authorization: Bearer`, the fields
//! asked for in `opt_fields`, `modified_since` (an ISO 8601 time: tasks modified at or after it),
//! `limit` (1 to 100) and an opaque `offset` from `next_page.offset`, which is `null` on the last
//! page. Tasks come in the project's order, not by modification time.

use std::sync::{Arc, Mutex};

use crate::support::check;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const TOKEN: &str = "2/1204582741952461/1206000000000000:0123456789abcdef";
const PROJECT: &str = "1204582741952461";
const OPT_FIELDS: &str =
    "name,resource_subtype,created_at,modified_at,completed,completed_at,assignee.name,notes,permalink_url";

/// A project's tasks, served as Asana's task list does.
#[derive(Clone)]
struct Asana(Arc<Mutex<Vec<Value>>>);

fn modified(task: &Value) -> DateTime<Utc> {
    at(task["modified_at"].as_str().unwrap())
}

fn offset(index: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!({"index": index}).to_string())
}

fn bad_request(message: &str) -> ResponseTemplate {
    error(
        400,
        json!({"errors": [{"message": message, "help": "For more information on API status codes and how to handle them, read the docs on errors: https://developers.asana.com/docs/errors"}]}),
    )
}

impl Respond for Asana {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let limit: usize = match param(request, "limit").map(|l| l.parse::<usize>()) {
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            _ => return bad_request("limit: Not a valid integer between 1 and 100"),
        };
        let since = match param(request, "modified_since").map(|s| DateTime::parse_from_rfc3339(&s)) {
            None => None,
            Some(Ok(t)) => Some(t.with_timezone(&Utc)),
            Some(Err(_)) => return bad_request("modified_since: Not a valid date-time"),
        };
        let start = match param(request, "offset") {
            None => 0,
            Some(token) => {
                let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok();
                match decoded.and_then(|d| serde_json::from_slice::<Value>(&d).ok()).and_then(|v| v["index"].as_u64()) {
                    Some(n) => n as usize,
                    None => return bad_request("offset: Your pagination token is invalid"),
                }
            }
        };
        let mut tasks: Vec<Value> =
            self.0.lock().unwrap().iter().filter(|t| since.is_none_or(|s| modified(t) >= s)).cloned().collect();
        tasks.sort_by_key(|t| t["gid"].as_str().unwrap().to_owned());
        let data: Vec<Value> = tasks.iter().skip(start).take(limit).cloned().collect();
        let next_page = if start + data.len() < tasks.len() {
            let token = offset(start + data.len());
            json!({
                "offset": token,
                "path": format!("/tasks?project={PROJECT}&limit={limit}&offset={token}"),
                "uri": format!("https://app.asana.com/api/1.0/tasks?project={PROJECT}&limit={limit}&offset={token}")
            })
        } else {
            Value::Null
        };
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "next_page": next_page}))
    }
}

/// A task like the fixture's, modified at `time`: created then when `kind` is "created",
/// completed then when "completed", else created a month before.
fn task(template: &Value, gid: &str, time: DateTime<Utc>, kind: &str) -> Value {
    let stamp = json!(time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let created = if kind == "created" { stamp.clone() } else { json!("2012-02-01T09:00:00.000Z") };
    let (completed, completed_at) = if kind == "completed" { (true, stamp.clone()) } else { (false, Value::Null) };
    with(
        template,
        &[
            ("/gid", json!(gid)),
            ("/created_at", created),
            ("/modified_at", stamp),
            ("/completed", json!(completed)),
            ("/completed_at", completed_at),
            ("/permalink_url", json!(format!("https://app.asana.com/1/12345/task/{gid}"))),
        ],
    )
}

fn kind(i: usize) -> &'static str {
    match (i % 2, i % 3) {
        (0, _) => "created",
        (_, 0) => "completed",
        _ => "updated",
    }
}

/// The fixture's task (2012-02-22) and 150 more whose project order runs against their
/// modification times: gid 20000 is the newest (2012-03-02 00:50), each next one 10 minutes older.
fn project() -> Asana {
    let template = fixture("asana", "tasks.page1.json")["data"][0].clone();
    let mut tasks = vec![template.clone()];
    for i in 0..150usize {
        let time = at("2012-03-01T00:00:00Z") + TimeDelta::minutes(10 * (149 - i) as i64);
        tasks.push(task(&template, &format!("{}", 20000 + i), time, kind(i)));
    }
    Asana(Arc::new(Mutex::new(tasks)))
}

async fn mount(server: &MockServer, fake: &Asana) {
    Mock::given(method("GET"))
        .and(path("/api/1.0/tasks"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("project", PROJECT))
        .and(query_param("opt_fields", OPT_FIELDS))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("projectId", PROJECT), ("startDate", "2012-01-01")])
}

#[tokio::test]
async fn asana_pages_by_offset_then_asks_for_tasks_modified_since_the_checkpoint() {
    let server = MockServer::start().await;
    let fake = project();
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("asana");
    let credentials = credentials(&[("token", TOKEN)]);
    let config = instance(&server);

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    // 100, then 51 with `next_page: null`.
    assert_eq!(sent.len(), 2);
    assert_eq!(param(&sent[0], "modified_since").as_deref(), Some("2011-12-31T23:59:00Z"));
    assert_eq!(param(&sent[0], "limit").as_deref(), Some("100"));
    assert_eq!(param(&sent[0], "offset"), None);
    assert_eq!(param(&sent[1], "offset"), Some(offset(100)));
    let expected: Vec<String> =
        std::iter::once("12345".to_owned()).chain((0..150).map(|i| format!("{}", 20000 + i))).collect();
    assert_delivered(&descriptor, &first, 2, &expected);
    // The newest modification, though the project lists it second.
    assert_checkpoint(&first, "2012-03-02T00:50:00Z", &["20000"]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..5]),
        [
            Some("issue_created"),
            Some("issue_created"),
            Some("issue_updated"),
            Some("issue_created"),
            Some("issue_transitioned")
        ]
        .map(|t| t.map(str::to_owned))
    );

    // After the run: a new task at 01:00, and task 20005 completed at 01:10.
    {
        let mut tasks = fake.0.lock().unwrap();
        let template = tasks[0].clone();
        tasks.push(task(&template, "30001", at("2012-03-02T01:00:00Z"), "created"));
        let done = tasks.iter_mut().find(|t| t["gid"] == "20005").unwrap();
        *done = task(&done.clone(), "20005", at("2012-03-02T01:10:00Z"), "completed");
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(param(&sent[0], "modified_since").as_deref(), Some("2012-03-02T00:49:00Z"));
    // Task 20000, at the checkpoint, comes again and is dropped as seen.
    let (fresh, repeats) = split_repeats(&descriptor, &first, &second, TimeDelta::seconds(60));
    assert!(repeats.is_empty());
    assert_eq!(ids(&descriptor, &fresh), ["20005", "30001"]);
    assert_eq!(
        signal_types(&descriptor, &fresh),
        [Some("issue_transitioned"), Some("issue_created")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2012-03-02T01:10:00Z", &["20005"]);
}

#[tokio::test]
async fn asana_health_check_reads_the_token_user() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/1.0/users/me"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"gid": "12345", "resource_type": "user", "name": "Greg Sanchez"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("asana"), &instance(&server), &credentials(&[("token", TOKEN)])).await;
    assert!(report.healthy, "{report:?}");
}
