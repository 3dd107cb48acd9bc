//! The sample event in `events/poller/` through the Lambda handler, in process, against a fake
//! GitHub issues API.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use switchboard_app::Settings;
use switchboard_lambda::schedule;
use switchboard_poller::{Poller, PollerSettings};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{World, descriptor, event_files, read};

const ISSUES_PATH: &str = "/repos/octo/hello/issues";

/// A world with one GitHub issues instance whose API lists `issues` `(number, updated_at)` on
/// one page, and the poller over it.
async fn world(issues: &[(u64, &str)]) -> (World, MockServer, Poller) {
    let world = World::new(Settings {
        poller: PollerSettings { safety_margin: Duration::ZERO, ..PollerSettings::default() },
        // The fake API listens on loopback, which the egress guard refuses unless allowed.
        egress: switchboard_app::EgressAllow::parse("127.0.0.1").unwrap(),
        ..Settings::default()
    });
    let server = MockServer::start().await;
    let body: Vec<_> = issues
        .iter()
        .map(|(number, updated_at)| {
            json!({
                "id": 5000 + number, "number": number, "title": format!("Issue {number}"), "state": "open",
                "comments": 0, "user": {"login": "octocat"}, "labels": [], "assignees": [],
                "html_url": format!("https://github.com/octo/hello/issues/{number}"),
                "created_at": "2024-01-01T00:00:00Z", "updated_at": updated_at, "closed_at": null
            })
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(ISSUES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let mut doc = descriptor("github-issues");
    doc["ingestion"]["rateLimitRpm"] = json!(600_000);
    world.register(&[doc]).await;
    let config = [("baseUrl", server.uri()), ("owner", "octo".to_owned()), ("repo", "hello".to_owned())];
    let config: Vec<(&str, &str)> = config.iter().map(|(k, v)| (*k, v.as_str())).collect();
    world.add_instance("github-issues", "p1", &config, &[("token", "ghp_good_token_value")]).await;
    let poller = world.app.poller(Arc::new(world.db.ingest_queue())).unwrap();
    (world, server, poller)
}

fn scheduled_event() -> EventBridgeEvent {
    serde_json::from_str(&read("events/poller/scheduled.json")).unwrap()
}

#[tokio::test]
async fn the_sample_scheduled_event_polls_what_is_due() {
    let (world, _server, poller) = world(&[(1, "2024-05-01T01:00:00Z"), (2, "2024-05-01T02:00:00Z")]).await;
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    context.deadline = u64::try_from(deadline.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();

    let summary = schedule::handle(&poller, LambdaEvent::new(scheduled_event(), context)).await.unwrap();

    assert_eq!((summary.succeeded, summary.items), (1, 2));
    let numbers: Vec<u64> = world.ingested().await.iter().map(|e| e.payload["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2]);
    let response = serde_json::to_value(&summary).unwrap();
    assert_eq!(response["instances"][0]["outcome"], "polled");
    assert_eq!(response["instances"][0]["connectorId"], "github-issues");
    assert_eq!(response["instances"][0]["run"]["status"], "succeeded");
}

#[tokio::test]
async fn a_context_whose_deadline_has_passed_defers_every_instance() {
    let (_world, server, poller) = world(&[]).await;

    let summary = schedule::handle(&poller, LambdaEvent::new(scheduled_event(), Context::default())).await.unwrap();

    assert_eq!((summary.due, summary.deferred), (1, 1));
    let requests = server.received_requests().await.unwrap_or_default();
    assert!(requests.iter().all(|r| r.url.path() != ISSUES_PATH));
}

#[test]
fn the_sample_is_the_only_poller_event() {
    assert_eq!(event_files("poller"), ["scheduled.json"]);
}
