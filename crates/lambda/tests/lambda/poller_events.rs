//! The sample events in `events/poller/` (scheduled, poll-now) through the Lambda handlers, in
//! process, against a fake GitHub issues API.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use switchboard_app::Settings;
use switchboard_lambda::poll_now::{self, PollerEvent};
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
    let poller = world.app.poller(Arc::new(world.db.ingest_queue()));
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
fn the_samples_are_the_poller_events() {
    assert_eq!(event_files("poller"), ["poll-now.json", "scheduled.json"]);
}

fn context_with_a_minute_left() -> Context {
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    context.deadline = u64::try_from(deadline.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    context
}

#[tokio::test]
async fn the_sample_poll_now_event_polls_the_instance_it_names_whatever_its_schedule() {
    let (world, server, poller) = world(&[(1, "2024-05-01T01:00:00Z")]).await;
    let listings = || async {
        let requests = server.received_requests().await.unwrap_or_default();
        requests.iter().filter(|r| r.url.path() == ISSUES_PATH).count()
    };
    // Polled just now: the schedule would not poll it again before its interval has passed.
    let first = schedule::handle(&poller, LambdaEvent::new(scheduled_event(), context_with_a_minute_left())).await;
    assert_eq!(first.unwrap().succeeded, 1);
    let again = schedule::handle(&poller, LambdaEvent::new(scheduled_event(), context_with_a_minute_left())).await;
    assert_eq!(again.unwrap().due, 0, "not due by its schedule");
    assert_eq!(listings().await, 1);

    let event: PollerEvent = serde_json::from_str(&read("events/poller/poll-now.json")).unwrap();
    assert!(matches!(event, PollerEvent::PollNow(_)));
    let response = poll_now::handle(&poller, LambdaEvent::new(event, context_with_a_minute_left())).await.unwrap();

    assert_eq!(serde_json::to_value(&response).unwrap(), json!({"batchItemFailures": []}));
    assert_eq!(listings().await, 2, "polled again when asked");
    assert_eq!(world.ingested().await.len(), 1, "nothing new since: the checkpoint held");
}

#[tokio::test]
async fn an_unreadable_poll_now_message_comes_back_and_the_others_are_polled() {
    let (world, _server, poller) = world(&[(1, "2024-05-01T01:00:00Z")]).await;
    let mut event: serde_json::Value = serde_json::from_str(&read("events/poller/poll-now.json")).unwrap();
    let mut bad = event["Records"][0].clone();
    bad["messageId"] = json!("bad-1");
    bad["body"] = json!("{\"projectId\": \"p1\"}");
    event["Records"].as_array_mut().unwrap().push(bad);
    let event: PollerEvent = serde_json::from_value(event).unwrap();

    let response = poll_now::handle(&poller, LambdaEvent::new(event, context_with_a_minute_left())).await.unwrap();

    let response = serde_json::to_value(&response).unwrap();
    assert_eq!(response, json!({"batchItemFailures": [{"itemIdentifier": "bad-1"}]}));
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn the_scheduled_sample_still_runs_through_the_poller_functions_handler() {
    let (_world, _server, poller) = world(&[(1, "2024-05-01T01:00:00Z")]).await;
    let event: PollerEvent = serde_json::from_str(&read("events/poller/scheduled.json")).unwrap();
    assert!(matches!(event, PollerEvent::Scheduled(_)));
    let response = poll_now::handle(&poller, LambdaEvent::new(event, context_with_a_minute_left())).await.unwrap();
    assert_eq!(serde_json::to_value(&response).unwrap()["succeeded"], 1);
}
