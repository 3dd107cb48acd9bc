//! The sample event in `events/normaliser/` through the Lambda handler, in process.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use switchboard_normaliser::lambda;

use crate::support::{World, repo_path};

#[tokio::test]
async fn the_sample_sqs_event_reports_only_its_malformed_message() {
    let world = World::new().await;
    let text = std::fs::read_to_string(repo_path("events/normaliser/sqs-batch.json")).unwrap();
    let event: SqsEvent = serde_json::from_str(&text).unwrap();

    let response = lambda::handle(&world.normaliser, LambdaEvent::new(event, Context::default())).await.unwrap();

    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["c5f3b2a1-0004-4e5f-9a6b-000000000004"]);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "c5f3b2a1-0004-4e5f-9a6b-000000000004");
    let types: Vec<String> = world.drain_signals().await.into_iter().map(|s| s.signal_type).collect();
    assert_eq!(types.len(), 3, "{types:?}");
    assert!(types.contains(&"pr_opened".to_owned()));
}
