//! GitHub Issues: `GET /repos/{owner}/{repo}/issues` with a bearer token, `since` (issues
//! updated at or after it), `per_page` / `page`, and RFC 8288 `Link` headers whose URLs, as
//! GitHub's do, point at `/repositories/{id}/issues` with every other parameter kept. One
//! repository, or every repository of an organisation (`GET /orgs/{org}/repos`) or of a user
//! (`GET /users/{user}/repos`, after the organisation list answers 404), one checkpoint each.

use std::sync::{Arc, Mutex};

use crate::support::{Delta, check};
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
    repo_id: u64,
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
                let mut url = url::Url::parse(&format!("{}/repositories/{}/issues", self.base, self.repo_id)).unwrap();
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
    GitHub { issues: Arc::new(Mutex::new(issues)), base: server.uri(), repo_id: REPO_ID }
}

/// Mounts the fake behind matchers for the descriptor's auth, headers and fixed parameters:
/// a request without them gets a 404 and fails the poll.
async fn mount(server: &MockServer, fake: &GitHub) {
    mount_repo(server, fake, "octocat/Hello-World").await;
}

async fn mount_repo(server: &MockServer, fake: &GitHub, full_name: &str) {
    for route in [format!("/repos/{full_name}/issues"), format!("/repositories/{}/issues", fake.repo_id)] {
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
    assert_repo_checkpoint(&first, "octocat/Hello-World", "2011-05-03T07:00:00Z", &["1199"]);

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
    assert_repo_checkpoint(&second, "octocat/Hello-World", "2011-05-03T11:00:00Z", &["3003"]);
}

#[tokio::test]
async fn github_issues_polled_for_mapping_only_give_the_same_signals_and_checkpoints() {
    let server = MockServer::start().await;
    let fake = repository(&server);
    mount(&server, &fake).await;
    let descriptor = descriptor("github-issues");
    let (config, credentials) = (instance(&server), credentials(&[("token", TOKEN)]));
    let (whole_engine, _) = engine();
    let (projected_engine, _) = engine_with(|options| options.mapped_items_only = true);

    let whole = poll(&whole_engine, &descriptor, &config, &credentials, None).await;
    let projected = poll(&projected_engine, &descriptor, &config, &credentials, None).await;

    assert_eq!(projected.pages, whole.pages);
    assert_eq!(projected.new_checkpoint, whole.new_checkpoint);
    let signals = |delta: &Delta| delta.items.iter().map(|item| map(&descriptor, item)).collect::<Vec<_>>();
    assert_eq!(signals(&projected), signals(&whole));
    assert_eq!(projected.items.len(), 204);
    // Only what the mapping and the run read is built: not the lock state, not the
    // users' other fields.
    let unread = |item: &Value| (item.get("locked").is_some(), item["user"].get("type").is_some());
    assert!(whole.items.iter().all(|item| unread(item) == (true, true)));
    assert!(projected.items.iter().all(|item| unread(item) == (false, false)));

    // A second run from the checkpoint, after an update, agrees too.
    let commented = with(&fake.issues.lock().unwrap()[3], &[("/updated_at", json!("2011-05-04T00:00:00Z"))]);
    fake.push(commented);
    let whole_again = poll(&whole_engine, &descriptor, &config, &credentials, Some(&whole.new_checkpoint)).await;
    let projected_again =
        poll(&projected_engine, &descriptor, &config, &credentials, Some(&projected.new_checkpoint)).await;
    assert_eq!(projected_again.new_checkpoint, whole_again.new_checkpoint);
    assert_eq!(signals(&projected_again), signals(&whole_again));
}

/// A complete run's checkpoint of one repository.
fn assert_repo_checkpoint(delta: &Delta, repo: &str, position: &str, seen: &[&str]) {
    let repository = Delta { new_checkpoint: delta.new_checkpoint.partitions[repo].clone(), ..delta.clone() };
    assert_checkpoint(&repository, position, seen);
    assert_eq!(delta.new_checkpoint.next_partition, None);
}

#[tokio::test]
async fn github_issues_health_check_reads_the_repository_with_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/octocat"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("accept", "application/vnd.github+json"))
        .and(header("x-github-api-version", "2022-11-28"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"login": "octocat", "id": 583231, "type": "User"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let report = check(&descriptor("github-issues"), &instance(&server), &credentials(&[("token", TOKEN)])).await;
    assert!(report.healthy, "{report:?}");
}

/// An account's repositories as `GET /orgs/{org}/repos` and `GET /users/{user}/repos` list them
/// (the documented shape, with the fields the descriptor reads).
#[derive(Clone)]
struct Repositories {
    owner: String,
    names: Arc<Mutex<Vec<String>>>,
}

impl Respond for Repositories {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let body: Vec<Value> = self
            .names
            .lock()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"id": 7000 + i, "name": name, "full_name": format!("{}/{name}", self.owner),
                       "owner": {"login": self.owner, "type": "Organization"}, "private": i % 2 == 0})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// A repository of `owner` with `issues` issues, updated a day apart from `first`.
async fn repo_with_issues(server: &MockServer, full_name: &str, repo_id: u64, first: &str, issues: u64) -> GitHub {
    let template = fixture("github-issues", "issues.page1.json")[2].clone();
    let items = (0..issues)
        .map(|i| {
            let time = iso_seconds(at(first) + TimeDelta::days(i as i64));
            with(
                &template,
                &[
                    ("/id", json!(repo_id * 100 + i)),
                    ("/number", json!(i + 1)),
                    ("/created_at", json!(time)),
                    ("/updated_at", json!(time)),
                ],
            )
        })
        .collect();
    let fake = GitHub { issues: Arc::new(Mutex::new(items)), base: server.uri(), repo_id };
    mount_repo(server, &fake, full_name).await;
    fake
}

async fn mount_list(server: &MockServer, route: &str, fake: &Repositories) {
    Mock::given(method("GET"))
        .and(path(route))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(query_param("per_page", "100"))
        .respond_with(fake.clone())
        .mount(server)
        .await;
}

/// The repositories each request went to, in order (`owner/name`, or the list route).
fn routes(requests: &[Request]) -> Vec<String> {
    requests.iter().map(|r| r.url.path().trim_start_matches("/repos/").trim_end_matches("/issues").to_owned()).collect()
}

#[tokio::test]
async fn github_issues_of_every_repository_of_an_organisation_one_checkpoint_each() {
    let server = MockServer::start().await;
    let org = Repositories { owner: "octo-org".into(), names: Arc::new(Mutex::new(vec!["api".into(), "web".into()])) };
    mount_list(&server, "/orgs/octo-org/repos", &org).await;
    let api = repo_with_issues(&server, "octo-org/api", 11, "2011-02-01T00:00:00Z", 3).await;
    repo_with_issues(&server, "octo-org/web", 12, "2011-02-10T00:00:00Z", 2).await;
    // A pull request in api's list is dropped.
    api.push(with(
        &fixture("github-issues", "issues.page1.json")[0],
        &[("/id", json!(1190)), ("/updated_at", json!("2011-02-05T00:00:00Z"))],
    ));
    let (engine, _) = engine();
    let descriptor = descriptor("github-issues");
    let credentials = credentials(&[("token", TOKEN)]);
    let config =
        config(&[("baseUrl", &server.uri()), ("owner", "octo-org"), ("startDate", "2011-01-01"), ("repo", "")]);

    let first = poll(&engine, &descriptor, &config, &credentials, None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(routes(&sent), ["/orgs/octo-org/repos", "octo-org/api", "octo-org/web"]);
    assert_eq!(param(&sent[1], "since").as_deref(), Some("2010-12-31T23:59:00Z"), "the start date, less the lookback");
    assert_delivered(&descriptor, &first, 2, &["1100", "1101", "1102", "1200", "1201"].map(String::from));
    assert_eq!(first.items[0]["_partition"], json!({"owner": "octo-org", "repo": "api"}));
    assert_repo_checkpoint(&first, "octo-org/api", "2011-02-05T00:00:00Z", &["1190"]);
    assert_repo_checkpoint(&first, "octo-org/web", "2011-02-11T00:00:00Z", &["1201"]);

    // Between runs: a new issue in api, and a new repository whose history starts before the
    // start date (GitHub filters those out by `since`).
    let template = api.issues.lock().unwrap()[0].clone();
    api.push(with(&template, &[("/id", json!(1150)), ("/updated_at", json!("2011-03-01T00:00:00Z"))]));
    org.names.lock().unwrap().push("cli".into());
    repo_with_issues(&server, "octo-org/cli", 13, "2010-12-31T12:00:00Z", 3).await;

    let before = request_count(&server).await;
    let second = poll(&engine, &descriptor, &config, &credentials, Some(&first.new_checkpoint)).await;
    let sent = requests_after(&server, before).await;
    assert_eq!(routes(&sent), ["/orgs/octo-org/repos", "octo-org/api", "octo-org/web", "octo-org/cli"]);
    assert_eq!(param(&sent[1], "since").as_deref(), Some("2011-02-04T23:59:00Z"), "api from its own checkpoint");
    assert_eq!(param(&sent[3], "since").as_deref(), Some("2010-12-31T23:59:00Z"), "the new repository from the start");
    // Only newer items: api's new issue, and cli's issues from the start date on (the issue at
    // web's checkpoint comes back and is dropped as already seen).
    assert_delivered(&descriptor, &second, 3, &["1150", "1301", "1302"].map(String::from));
    assert_eq!(second.new_checkpoint.partitions.len(), 3);

    // A repository that disappears (deleted, or moved away) is retired with its checkpoint.
    org.names.lock().unwrap().retain(|n| n != "web");
    let third = poll(&engine, &descriptor, &config, &credentials, Some(&second.new_checkpoint)).await;
    assert!(third.items.is_empty());
    assert_eq!(third.new_checkpoint.partitions.keys().collect::<Vec<_>>(), ["octo-org/api", "octo-org/cli"]);
}

#[tokio::test]
async fn github_issues_of_a_user_are_listed_when_the_owner_is_not_an_organisation() {
    let server = MockServer::start().await;
    // `GET /orgs/octocat/repos` is not mounted: GitHub (and the fake) answer 404 for a user.
    let user = Repositories { owner: "octocat".into(), names: Arc::new(Mutex::new(vec!["Hello-World".into()])) };
    mount_list(&server, "/users/octocat/repos", &user).await;
    repo_with_issues(&server, "octocat/Hello-World", REPO_ID, "2011-04-01T00:00:00Z", 2).await;
    let (engine, _) = engine();
    let descriptor = descriptor("github-issues");
    let config = config(&[("baseUrl", &server.uri()), ("owner", "octocat")]);

    let first = poll(&engine, &descriptor, &config, &credentials(&[("token", TOKEN)]), None).await;
    let sent = requests_after(&server, 0).await;
    assert_eq!(routes(&sent), ["/orgs/octocat/repos", "/users/octocat/repos", "octocat/Hello-World"]);
    assert_eq!(param(&sent[2], "since"), None, "no start date: the repository's whole history");
    let expected = [REPO_ID * 100, REPO_ID * 100 + 1].map(|id| id.to_string());
    assert_delivered(&descriptor, &first, 1, &expected);
}
