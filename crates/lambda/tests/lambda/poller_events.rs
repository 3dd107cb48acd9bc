//! The sample event in `events/poller/` through the Lambda handler, in process.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use lambda_runtime::{Context, LambdaEvent};
use switchboard_poller::lambda;

use crate::support::{World, numbers, repo_path};

#[tokio::test]
async fn the_sample_scheduled_event_polls_what_is_due() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z"), (2, "2024-05-01T02:00:00Z")]);
    let text = std::fs::read_to_string(repo_path("events/poller/scheduled.json")).unwrap();
    let event: EventBridgeEvent = serde_json::from_str(&text).unwrap();
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(60);
    context.deadline = u64::try_from(deadline.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();

    let summary = lambda::handle(&world.poller, LambdaEvent::new(event, context)).await.unwrap();

    assert_eq!((summary.succeeded, summary.items), (1, 2));
    assert_eq!(numbers(&world.envelopes().await), [1, 2]);
    let response = serde_json::to_value(&summary).unwrap();
    assert_eq!(response["instances"][0]["outcome"], "polled");
    assert_eq!(response["instances"][0]["connectorId"], "github-issues");
    assert_eq!(response["instances"][0]["run"]["status"], "succeeded");
}

#[tokio::test]
async fn a_context_whose_deadline_has_passed_defers_every_instance() {
    let world = World::new().await;
    let event: EventBridgeEvent =
        serde_json::from_str(&std::fs::read_to_string(repo_path("events/poller/scheduled.json")).unwrap()).unwrap();

    let summary = lambda::handle(&world.poller, LambdaEvent::new(event, Context::default())).await.unwrap();

    assert_eq!((summary.due, summary.deferred), (1, 1));
    assert!(world.issue_requests().await.is_empty());
}
