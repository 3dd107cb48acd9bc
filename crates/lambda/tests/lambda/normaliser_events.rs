//! The sample event in `events/normaliser/` through the Lambda handler, in process.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use switchboard_app::Settings;
use switchboard_lambda::sqs;

use crate::support::{World, descriptor, event_files, read};

#[tokio::test]
async fn the_sample_sqs_event_reports_only_its_malformed_message() {
    let world = World::new(Settings::default());
    world.register(&[descriptor("github-issues"), descriptor("github-prs")]).await;
    let normaliser = world.app.normaliser(Arc::new(world.db.signals_queue()));
    let event: SqsEvent = serde_json::from_str(&read("events/normaliser/sqs-batch.json")).unwrap();

    let response = sqs::handle(&normaliser, LambdaEvent::new(event, Context::default())).await.unwrap();

    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["c5f3b2a1-0004-4e5f-9a6b-000000000004"]);
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"], "c5f3b2a1-0004-4e5f-9a6b-000000000004");
    let types: Vec<String> =
        world.signals().await.iter().map(|s| s["signalType"].as_str().unwrap().to_owned()).collect();
    assert_eq!(types.len(), 3, "{types:?}");
    assert!(types.contains(&"pr_opened".to_owned()));
}

#[test]
fn the_sample_is_the_only_normaliser_event() {
    assert_eq!(event_files("normaliser"), ["sqs-batch.json"]);
}
