//! Polling against a wiremock fake of Jira Cloud: every change once, the right checkpoint, a
//! second poll with only newer changes, the JQL written in the user's time zone.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchboard_core::polling::Checkpoint;
use switchboard_core::ports::Credentials;
use switchboard_core::{Connector, IngestionKind, PollRequest};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{comment, ctx, history, issue, polling_connector};

fn config(server: &MockServer, zone: Option<&str>) -> BTreeMap<String, String> {
    let mut config = BTreeMap::from([("baseUrl".to_owned(), server.uri()), ("projects".to_owned(), "PROJ".to_owned())]);
    if let Some(zone) = zone {
        config.insert("timeZone".to_owned(), zone.to_owned());
    }
    config
}

fn credentials() -> Credentials {
    [("email", "ann@example.com"), ("apiToken", "not-a-real-token")].into_iter().collect()
}

/// Every page's items, mapped, and the run's final checkpoint.
async fn poll(
    connector: &dyn Connector,
    config: &BTreeMap<String, String>,
    checkpoint: &str,
) -> (Vec<(String, String, String)>, Checkpoint) {
    let credentials = credentials();
    let request = PollRequest {
        checkpoint: Some(Checkpoint::parse(checkpoint).expect("checkpoint")),
        ..PollRequest::new(config, &credentials)
    };
    let mut pages = connector.pages(request).expect("starts");
    let mut signals = Vec::new();
    while let Some(page) = pages.next_page().await.unwrap_or_else(|e| panic!("{e}")) {
        for item in &page.items {
            let report = connector.map_item(item, &ctx(IngestionKind::Polling, None, Some(config)));
            assert!(report.errors.is_empty() && report.ignored.is_empty(), "{report:?}");
            for s in report.signals {
                signals.push((s.signal_type, s.external_id, s.timestamp));
            }
        }
    }
    (signals, pages.summary().checkpoint)
}

/// The search body's JQL for a position written as `since`.
fn jql(since: &str) -> Value {
    json!({"jql": format!("project in (PROJ) AND updated >= \"{since}\" ORDER BY updated ASC")})
}

fn search_page(issues: Vec<Value>, next: Option<&str>) -> ResponseTemplate {
    let mut body = json!({"issues": issues, "isLast": next.is_none()});
    if let Some(token) = next {
        body["nextPageToken"] = json!(token);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

async fn myself(server: &MockServer, zone: &str, expected_calls: u64) {
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accountId": "id-ann", "displayName": "Ann", "timeZone": zone})),
        )
        .expect(expected_calls)
        .mount(server)
        .await;
}

#[tokio::test]
async fn each_change_since_the_checkpoint_is_one_signal_and_a_second_poll_sees_only_newer_ones() {
    let server = MockServer::start().await;
    myself(&server, "Australia/Sydney", 1).await;
    let proj1 = issue(
        "10001",
        "PROJ-1",
        "2024-05-01T09:00:00.000+0000",
        "2024-05-01T10:05:00.000+0000",
        json!([
            history("100", "2024-05-01T10:00:00.000+0000", "status", "To Do", "In Progress"),
            history("101", "2024-05-01T10:05:00.000+0000", "assignee", "", "Ann Assignee"),
        ]),
        json!([comment("500", "2024-05-01T10:02:00.000+0000", "Same cause as PROJ-2")]),
    );
    let proj2 = issue(
        "10002",
        "PROJ-2",
        "2024-04-01T09:00:00.000+0000",
        "2024-05-01T10:10:00.000+0000",
        json!([
            history("150", "2024-04-02T09:00:00.000+0000", "status", "To Do", "In Progress"),
            history("200", "2024-05-01T10:10:00.000+0000", "summary", "Checkout", "Checkout fails"),
        ]),
        json!([]),
    );
    // 08:00 UTC is 18:00 in Sydney (AEST, UTC+10) on 1 May.
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(jql("2024-05-01 18:00")))
        .and(body_partial_json(json!({"nextPageToken": "page-2"})))
        .respond_with(search_page(vec![proj2.clone()], None))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(jql("2024-05-01 18:00")))
        .and(body_partial_json(json!({"expand": "changelog", "maxResults": 50})))
        .respond_with(search_page(vec![proj1.clone()], Some("page-2")))
        .up_to_n_times(1)
        .mount(&server)
        .await;

    let connector = polling_connector();
    let config = config(&server, None);
    let (signals, checkpoint) = poll(connector.as_ref(), &config, "2024-05-01T08:00:00Z").await;
    let expected: Vec<(String, String, String)> = [
        ("issue_created", "PROJ-1", "2024-05-01T09:00:00Z"),
        ("issue_transitioned", "PROJ-1#100", "2024-05-01T10:00:00Z"),
        ("issue_commented", "PROJ-1#comment-500", "2024-05-01T10:02:00Z"),
        ("issue_assigned", "PROJ-1#101", "2024-05-01T10:05:00Z"),
        ("issue_updated", "PROJ-2#200", "2024-05-01T10:10:00Z"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    .collect();
    assert_eq!(signals, expected);
    assert_eq!(checkpoint.position.as_deref(), Some("2024-05-01T10:10:00Z"), "{checkpoint}");
    assert_eq!(checkpoint.seen_at_position, ["10002"]);
    server.verify().await;

    // The next poll: PROJ-2 comes back unchanged (seen at the checkpoint), PROJ-1 has one
    // new comment. The zone is not read again.
    server.reset().await;
    myself(&server, "Australia/Sydney", 0).await;
    let mut proj1_later = proj1.clone();
    proj1_later["fields"]["updated"] = json!("2024-05-01T10:30:00.000+0000");
    proj1_later["fields"]["comment"]["comments"].as_array_mut().expect("comments").push(comment(
        "501",
        "2024-05-01T10:30:00.000+0000",
        "Fixed",
    ));
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(jql("2024-05-01 20:10")))
        .respond_with(search_page(vec![proj2, proj1_later], None))
        .expect(1)
        .mount(&server)
        .await;
    let (again, after) = poll(connector.as_ref(), &config, &checkpoint.to_string()).await;
    assert_eq!(
        again,
        [("issue_commented".to_owned(), "PROJ-1#comment-501".to_owned(), "2024-05-01T10:30:00Z".to_owned())]
    );
    assert_eq!(after.position.as_deref(), Some("2024-05-01T10:30:00Z"));
    server.verify().await;
}

#[tokio::test]
async fn a_configured_time_zone_writes_the_jql_without_asking_jira() {
    let server = MockServer::start().await;
    myself(&server, "Australia/Sydney", 0).await;
    // 08:00 UTC is 04:00 in New York (EDT, UTC-4) on 1 May.
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .and(body_partial_json(jql("2024-05-01 04:00")))
        .respond_with(search_page(vec![], None))
        .expect(1)
        .mount(&server)
        .await;
    let connector = polling_connector();
    let (signals, checkpoint) =
        poll(connector.as_ref(), &config(&server, Some("America/New_York")), "2024-05-01T08:00:00Z").await;
    assert!(signals.is_empty());
    assert_eq!(checkpoint, Checkpoint::at("2024-05-01T08:00:00Z"));
    server.verify().await;
}

#[tokio::test]
async fn a_time_zone_that_is_no_iana_name_is_a_config_error() {
    let server = MockServer::start().await;
    let connector = polling_connector();
    let config = config(&server, Some("Mars/Olympus"));
    let credentials = credentials();
    let mut pages = connector.pages(PollRequest::new(&config, &credentials)).expect("starts");
    let error = pages.next_page().await.expect_err("a bad zone");
    assert!(error.to_string().contains("\"Mars/Olympus\" is not an IANA time zone name"), "{error}");
}
