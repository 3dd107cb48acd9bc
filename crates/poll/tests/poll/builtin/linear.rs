//! Linear: GraphQL `POST /graphql` with the API key alone in `Authorization`; the descriptor's
//! `issues(first:, after:, orderBy: updatedAt, filter: { updatedAt: { gt: $since } })` query,
//! `pageInfo { hasNextPage endCursor }`, and GraphQL's rejection of an empty `after` cursor.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::check;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const KEY: &str = "lin_api_test";

/// The issues of a workspace, served as Linear's GraphQL API does.
#[derive(Clone)]
struct Linear(Arc<Mutex<Vec<Value>>>);

fn updated(issue: &Value) -> DateTime<Utc> {
    at(issue["updatedAt"].as_str().unwrap())
}

fn graphql_error(message: &str) -> ResponseTemplate {
    error(400, json!({"errors": [{"message": message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}))
}

impl Respond for Linear {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return graphql_error("the body is not JSON");
        };
        let query = body["query"].as_str().unwrap_or_default();
        let first = regex::Regex::new(
            r"issues\(first: (\d+), after: \$after, orderBy: updatedAt, filter: \{ updatedAt: \{ gt: \$since \} \}\)",
        )
        .unwrap()
        .captures(query)
        .map(|c| c[1].parse::<usize>().unwrap());
        let Some(first) = first.filter(|n| *n <= 250) else {
            return graphql_error("not the issues query this fake serves");
        };
        let variables = &body["variables"];
        let since = match variables.get("since") {
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    return graphql_error(
                        "Variable \"$since\" got invalid value; Expected type \"DateTimeOrDuration\"",
                    );
                }
            },
            _ => return graphql_error("this fake expects $since"),
        };
        let mut matching: Vec<Value> = self.0.lock().unwrap().iter().filter(|i| updated(i) > since).cloned().collect();
        matching.sort_by_key(|i| (updated(i), i["id"].as_str().unwrap().to_owned()));
        let start = match variables.get("after") {
            None | Some(Value::Null) => 0,
            Some(Value::String(cursor)) => match matching.iter().position(|i| i["id"] == cursor.as_str()) {
                Some(at) => at + 1,
                None => return graphql_error("Argument Validation Error: after must be a valid cursor"),
            },
            Some(_) => return graphql_error("Variable \"$after\" got invalid value"),
        };
        let nodes: Vec<Value> = matching.iter().skip(start).take(first).cloned().collect();
        let has_next = start + nodes.len() < matching.len();
        let end_cursor = nodes.last().map(|n| n["id"].clone()).unwrap_or(Value::Null);
        ResponseTemplate::new(200).set_body_json(json!({"data": {"issues": {
            "nodes": nodes,
            "pageInfo": {"hasNextPage": has_next, "endCursor": end_cursor}
        }}}))
    }
}

/// The fixture's four issues and 150 more updated every ten minutes after them: two pages.
fn workspace() -> Linear {
    let page = fixture("linear", "issues.page1.json");
    let mut issues: Vec<Value> = page["data"]["issues"]["nodes"].as_array().unwrap().clone();
    let template = issues[2].clone();
    for i in 0..150i64 {
        let time = iso_millis(at("2024-05-06T13:00:00Z") + TimeDelta::minutes(10 * i));
        issues.push(with(
            &template,
            &[
                ("/id", json!(format!("00000000-0000-4000-8000-{i:012}"))),
                ("/identifier", json!(format!("ENG-{}", 200 + i))),
                ("/updatedAt", json!(time)),
            ],
        ));
    }
    Linear(Arc::new(Mutex::new(issues)))
}

async fn mount(server: &MockServer, fake: &Linear) {
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("authorization", KEY))
        .and(header("content-type", "application/json"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

#[tokio::test]
async fn linear_polls_every_page_then_only_issues_updated_since() {
    let server = MockServer::start().await;
    let fake = workspace();
    mount(&server, &fake).await;
    let (engine, timer) = engine();
    let descriptor = descriptor("linear");
    let (config, credentials) = (config(&[("baseUrl", &server.uri())]), credentials(&[("apiKey", KEY)]));
    let all = ids(&descriptor, &fake.0.lock().unwrap());

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(sent.len(), 2);
    // The first page: the filter from the epoch (minus the lookback), no `after` at all (an
    // empty one is rejected).
    assert_eq!(json_body(&sent[0])["variables"], json!({"since": "1969-12-31T23:59:00Z"}));
    assert_eq!(
        json_body(&sent[1])["variables"],
        json!({"since": "1969-12-31T23:59:00Z", "after": "00000000-0000-4000-8000-000000000095"})
    );
    assert_delivered(&descriptor, &first, 2, &all);
    assert_checkpoint(&first, "2024-05-07T13:50:00Z", &["00000000-0000-4000-8000-000000000149"]);
    // 20 requests a minute: the second page waited 3 s.
    assert_eq!(timer.sleeps(), [Duration::from_secs(3)]);
    assert_eq!(
        signal_types(&descriptor, &first.items[..4]),
        [Some("issue_created"), Some("cycle_changed"), Some("issue_updated"), Some("cycle_changed")]
            .map(|t| t.map(str::to_owned))
    );

    // ENG-90 moved into a cycle and a new issue, after the checkpoint.
    let last = at("2024-05-07T13:50:00Z");
    {
        let mut issues = fake.0.lock().unwrap();
        let moved = with(
            &issues[2],
            &[
                ("/updatedAt", json!(iso_millis(last + TimeDelta::minutes(5)))),
                ("/history/nodes/0/toCycleId", json!("c0ffee00-0000-4000-8000-000000000001")),
            ],
        );
        issues[2] = moved;
        let created = iso_millis(last + TimeDelta::minutes(7));
        let new = with(
            &issues[0],
            &[("/id", json!("new-issue")), ("/createdAt", json!(created)), ("/updatedAt", json!(created))],
        );
        issues.push(new);
    }
    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(json_body(&sent[0])["variables"], json!({"since": "2024-05-07T13:49:00Z"}));
    let moved = fake.0.lock().unwrap()[2]["id"].as_str().unwrap().to_owned();
    assert_delivered(&descriptor, &second, 1, &[moved, "new-issue".to_owned()]);
    assert_eq!(
        signal_types(&descriptor, &second.items),
        [Some("cycle_changed"), Some("issue_created")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2024-05-07T13:57:00Z", &["new-issue"]);
}

#[tokio::test]
async fn linear_health_check_asks_for_the_viewer_with_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/graphql"))
        .and(query_param("query", "{viewer{id}}"))
        .and(header("authorization", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"viewer": {"id": "u1"}}})))
        .expect(1)
        .mount(&server)
        .await;
    let report =
        check(&descriptor("linear"), &config(&[("baseUrl", &server.uri())]), &credentials(&[("apiKey", KEY)])).await;
    assert!(report.healthy, "{report:?}");
}
