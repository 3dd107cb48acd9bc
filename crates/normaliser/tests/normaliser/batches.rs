//! Batches as the ingest queue delivers them.

use switchboard_core::IngestionKind;
use switchboard_normaliser::InboundMessage;

use crate::support::{PROJECT, World, envelope, fixture, issue, messages, polled};

#[tokio::test]
async fn one_bad_message_in_a_batch_of_ten_fails_only_that_message() {
    let world = World::new().await;
    let mut bodies: Vec<String> = (1..=9).map(|n| polled(issue(n, "2024-05-01T10:00:00Z"))).collect();
    bodies.insert(4, "{\"version\": 1, \"connectorId\": \"github-issues\"".to_owned());

    let outcome = world.normaliser.process_batch(&messages(&bodies)).await;

    assert_eq!(outcome.failed_ids, ["m4"]);
    assert_eq!(outcome.signals, 9);
    assert_eq!(world.drain_signals().await.len(), 9);
}

#[tokio::test]
async fn the_same_envelope_twice_gives_one_signal() {
    the_same_envelope_twice_gives_one_signal_and_a_counted_duplicate(&World::new().await).await;
}

/// Two messages with one envelope through `world`: one signal, kept as a recent signal too, and
/// one counted duplicate.
pub async fn the_same_envelope_twice_gives_one_signal_and_a_counted_duplicate(world: &World) {
    let body = envelope(
        "github-prs",
        IngestionKind::Webhook,
        Some("pull_request"),
        fixture("github-prs/pull_request.opened.json"),
    );

    let first = world.normaliser.process_batch(&[InboundMessage::new("a", body.clone())]).await;
    let second = world.normaliser.process_batch(&[InboundMessage::new("b", body)]).await;

    assert!(first.failed_ids.is_empty() && second.failed_ids.is_empty());
    assert_eq!((first.signals, second.signals, second.duplicates), (1, 0, 1));
    let signals = world.drain_signals().await;
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].signal_type, "pr_opened");
    assert_eq!(signals[0].project_id, PROJECT);
    assert_eq!(signals[0].event_type.as_deref(), Some("pull_request"));
    let recent = world.stores.signals.list_signals(PROJECT, &Default::default()).await.unwrap();
    assert_eq!(recent.signals, signals);
    assert_eq!(world.counts("github-prs").await.duplicates, 1);
}

#[tokio::test]
async fn ignored_items_are_counted_but_are_not_failures() {
    let world = World::new().await;
    let bodies = [
        // GitHub lists pull requests among issues; the issues connector leaves them alone.
        polled(fixture("github-issues/issues.page1.json")[0].clone()),
        // An event type the PR connector does not handle.
        envelope("github-prs", IngestionKind::Webhook, Some("push"), fixture("github-prs/push.json")),
    ];

    let outcome = world.normaliser.process_batch(&messages(&bodies)).await;

    assert!(outcome.failed_ids.is_empty());
    assert_eq!((outcome.signals, outcome.ignored), (0, 2));
    assert!(world.drain_signals().await.is_empty());
}

#[tokio::test]
async fn unmappable_items_and_unknown_connectors_fail_their_message() {
    let world = World::new().await;
    let mut no_timestamp = issue(1, "x");
    no_timestamp.as_object_mut().unwrap().remove("updated_at");
    let bodies = [
        polled(no_timestamp),
        envelope("no-such-connector", IngestionKind::Polling, None, issue(2, "2024-05-01T10:00:00Z")),
        polled(issue(3, "2024-05-01T10:00:00Z")),
    ];

    let outcome = world.normaliser.process_batch(&messages(&bodies)).await;

    assert_eq!(outcome.failed_ids, ["m0", "m1"]);
    assert_eq!((outcome.signals, outcome.errors), (1, 1));
}

#[tokio::test]
async fn stats_count_signals_duplicates_ignored_and_failed_items_per_instance() {
    let world = World::new().await;
    let mut no_id = issue(9, "2024-05-01T10:00:00Z");
    no_id.as_object_mut().unwrap().remove("id");
    let bodies = [
        polled(issue(1, "2024-05-01T10:00:00Z")),
        polled(issue(2, "2024-05-01T10:00:00Z")),
        polled(issue(1, "2024-05-01T10:00:00Z")),
        polled(fixture("github-issues/issues.page1.json")[0].clone()),
        polled(no_id),
    ];

    world.normaliser.process_batch(&messages(&bodies)).await;
    let counts = world.counts("github-issues").await;

    assert_eq!((counts.signals, counts.duplicates, counts.ignored, counts.failed), (2, 1, 1, 1));
}

#[tokio::test]
async fn a_failing_item_is_counted_once_however_often_it_is_retried() {
    let world = World::new().await;
    let mut no_id = issue(9, "2024-05-01T10:00:00Z");
    no_id.as_object_mut().unwrap().remove("id");
    let body = polled(no_id);

    for receive_count in 1..=3 {
        let message = InboundMessage { receive_count, ..InboundMessage::new("m", body.clone()) };
        assert_eq!(world.normaliser.process_batch(&[message]).await.failed_ids, ["m"]);
    }

    assert_eq!(world.counts("github-issues").await.failed, 1);
}

#[tokio::test]
async fn signals_carry_their_instance_and_type_as_message_attributes() {
    use switchboard_core::ports::{QueueReceiver, ReceiveOptions};
    let world = World::new().await;
    world.normaliser.process_batch(&messages(&[polled(issue(1, "2024-01-01T00:00:00Z"))])).await;

    let received = world.signals_queue.receive(ReceiveOptions::default()).await.unwrap();

    let attributes = &received[0].message.attributes;
    assert_eq!(attributes["connectorId"], "github-issues");
    assert_eq!(attributes["projectId"], PROJECT);
    assert_eq!(attributes["signalType"], "issue_created");
}
