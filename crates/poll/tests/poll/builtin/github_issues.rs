//! GitHub Issues: `GET /repos/{owner}/{repo}/issues` with a bearer token, `since` (issues
//! updated at or after it), `per_page` / `page`, and RFC 8288 `Link` headers whose URLs, as
//! GitHub's do, point at `/repositories/{id}/issues` with every other parameter kept.

use std::sync::{Arc, Mutex};

use crate::support::check;
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::support::*;

const TOKEN: &str = "github_pat_test";
const REPO_ID: u64 = 1296269;

/// The issues of one repository, served as GitHub does.
#[derive(Clone)]
struct GitHub {
    issues: Arc<Mutex<Vec<Value>>>,
    base: String,
}

impl GitHub {
    fn push(&self, issue: Value) {
        self.issues.lock().unwrap().push(issue);
    }
}

fn updated(issue: &Value) -> DateTime<Utc> {
    at(issue["updated_at"].as_str().unwrap())
}

impl Respond for GitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let since = match param(request, "since").map(|s| DateTime::parse_from_rfc3339(&s)) {
            None => None,
            Some(Ok(time)) => Some(time.with_timezone(&Utc)),
            Some(Err(_)) => return error(422, json!({"message": "Validation Failed"})),
        };
        let per_page: usize = param(request, "per_page").map_or(30, |p| p.parse().unwrap()).min(100);
        let page: usize = param(request, "page").map_or(1, |p| p.parse().unwrap());
        let mut matching: Vec<Value> =
            self.issues.lock().unwrap().iter().filter(|i| since.is_none_or(|s| updated(i) >= s)).cloned().collect();
        matching.sort_by_key(|i| (updated(i), i["id"].as_u64()));
        let body: Vec<Value> = matching.iter().skip((page - 1) * per_page).take(per_page).cloned().collect();
        let mut response = ResponseTemplate::new(200).set_body_json(body);
        let pages = matching.len().div_ceil(per_page);
        if page < pages {
            let link = |n: usize| {
                let kept = request.url.query_pairs().filter(|(k, _)| k != "page");
                let mut url = url::Url::parse(&format!("{}/repositories/{REPO_ID}/issues", self.base)).unwrap();
                url.query_pairs_mut().extend_pairs(kept).append_pair("page", &n.to_string());
                url
            };
            response = response
                .insert_header("Link", format!(r#"<{}>; rel="next", <{}>; rel="last""#, link(page + 1), link(pages)));
        }
        response
    }
}

/// The fixture's five items (a pull request and four issues) and 200 more issues updated
/// hourly after them: 205 items, three pages of 100.
fn repository(server: &MockServer) -> GitHub {
    let mut issues: Vec<Value> = fixture("github-issues", "issues.page1.json").as_array().unwrap().clone();
    let template = issues[2].clone();
    for i in 0..200u64 {
        let time = iso_seconds(at("2011-04-25T00:00:00Z") + TimeDelta::hours(i as i64));
        issues.push(with(
            &template,
            &[
                ("/id", json!(1000 + i)),
                ("/number", json!(2000 + i)),
                ("/title", json!(format!("Generated issue {i}"))),
                ("/created_at", json!(time)),
                ("/updated_at", json!(time)),
            ],
        ));
    }
    GitHub { issues: Arc::new(Mutex::new(issues)), base: server.uri() }
}

/// Mounts the fake behind matchers for the descriptor's auth, headers and fixed parameters:
/// a request without them gets a 404 and fails the poll.
async fn mount(server: &MockServer, fake: &GitHub) {
    for route in ["/repos/octocat/Hello-World/issues".to_owned(), format!("/repositories/{REPO_ID}/issues")] {
        Mock::given(method("GET"))
            .and(path(route))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .and(header("accept", "application/vnd.github+json"))
            .and(header("x-github-api-version", "2022-11-28"))
            .and(query_param("state", "all"))
            .and(query_param("sort", "updated"))
            .and(query_param("direction", "asc"))
            .and(query_param("per_page", "100"))
            .respond_with(fake.clone())
            .mount(server)
            .await;
    }
}

fn instance(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    config(&[("baseUrl", &server.uri()), ("owner", "octocat"), ("repo", "Hello-World")])
}

#[tokio::test]
async fn github_issues_polls_every_page_then_only_what_changed_since() {
    let server = MockServer::start().await;
    let fake = repository(&server);
    mount(&server, &fake).await;
    let (engine, _) = engine();
    let descriptor = descriptor("github-issues");
    let (config, credentials) = (instance(&server), credentials(&[("token", TOKEN)]));
    // GitHub lists pull requests among issues: the descriptor's record filter drops them.
    let served = fake.issues.lock().unwrap().clone();
    let pull_requests: Vec<String> =
        ids(&descriptor, &served.iter().filter(|i| i.get("pull_request").is_some()).cloned().collect::<Vec<_>>());
    assert_eq!(pull_requests.len(), 1, "the fixture's first item is a pull request");
    let all: Vec<String> = ids(&descriptor, &served).into_iter().filter(|id| !pull_requests.contains(id)).collect();

    // First run: no `since`, every page through the Link headers.
    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].url.path(), "/repos/octocat/Hello-World/issues");
    assert_eq!(param(&sent[0], "since"), None);
    assert_eq!(param(&sent[0], "page"), None);
    for (request, page) in sent[1..].iter().zip(["2", "3"]) {
        assert_eq!(request.url.path(), format!("/repositories/{REPO_ID}/issues"));
        assert_eq!(param(request, "page").as_deref(), Some(page));
    }
    assert_delivered(&descriptor, &first, 3, &all);
    assert_checkpoint(&first, "2011-05-03T07:00:00Z", &["1199"]);

    // The fixture's pull request was never handed on; its issues are told apart by their fields.
    assert!(first.items.iter().all(|i| i.get("pull_request").is_none()));
    assert_eq!(
        signal_types(&descriptor, &first.items[..4]),
        [Some("issue_created"), Some("issue_updated"), Some("issue_commented"), Some("issue_updated")]
            .map(|t| t.map(str::to_owned))
    );

    // Second run: one issue commented on, two opened.
    let last = at("2011-05-03T07:00:00Z");
    let template = fake.issues.lock().unwrap()[2].clone();
    let opened = |id: u64, time: DateTime<Utc>| {
        let time = iso_seconds(time);
        with(
            &template,
            &[("/id", json!(id)), ("/number", json!(id)), ("/created_at", json!(time)), ("/updated_at", json!(time))],
        )
    };
    fake.push(opened(3001, last + TimeDelta::hours(1)));
    let commented = with(
        &fake.issues.lock().unwrap()[2],
        &[("/updated_at", json!(iso_seconds(last + TimeDelta::hours(2)))), ("/comments", json!(1))],
    );
    fake.issues.lock().unwrap()[2] = commented;
    fake.push(opened(3002, last + TimeDelta::hours(3)));
    // A pull request opened last: dropped, yet the checkpoint moves past it.
    let pull =
        with(&served[0], &[("/id", json!(3003)), ("/updated_at", json!(iso_seconds(last + TimeDelta::hours(4))))]);
    fake.push(pull);

    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(sent.len(), 1);
    // The checkpoint minus the 60 s lookback; the issue at the checkpoint comes back (GitHub's
    // `since` is "at or after") and is dropped as already seen.
    assert_eq!(param(&sent[0], "since").as_deref(), Some("2011-05-03T06:59:00Z"));
    assert_delivered(&descriptor, &second, 1, &["3001".to_owned(), "3".to_owned(), "3002".to_owned()]);
    assert_eq!(
        signal_types(&descriptor, &second.items),
        [Some("issue_created"), Some("issue_commented"), Some("issue_created")].map(|t| t.map(str::to_owned))
    );
    assert_checkpoint(&second, "2011-05-03T11:00:00Z", &["3003"]);
}

#[tokio::test]
async fn github_issues_health_check_reads_the_repository_with_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/octocat/Hello-World"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": REPO_ID, "full_name": "octocat/Hello-World"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("github-issues"), &instance(&server), &credentials(&[("token", TOKEN)])).await;
    assert!(report.healthy, "{report:?}");
}
