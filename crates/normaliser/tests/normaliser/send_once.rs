//! The normaliser over a signals queue with an atomic send (`switchboard serve`'s embedded
//! queue): each signal and its dedup record are written together, so duplicates are still
//! dropped, a failed send still loses nothing, and a signal costs one write plus its copy in the
//! recent-signals store.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use switchboard_core::IngestionKind;
use switchboard_normaliser::InboundMessage;

use crate::support::{FlakySender, World, envelope, fixture, issue, polled};

#[tokio::test]
async fn the_same_envelope_twice_gives_one_signal_and_a_counted_duplicate() {
    let world = World::new().await.sending_once(|queue| Arc::new(queue));
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
    let recent = world.stores.signals.list_signals("p1", &Default::default()).await.unwrap();
    assert_eq!(recent.signals, signals);
    assert_eq!(world.counts("github-prs").await.duplicates, 1);
}

#[tokio::test]
async fn a_failed_send_fails_the_message_and_its_retry_sends_the_signal_once() {
    let world =
        World::new().await.sending_once(|queue| Arc::new(FlakySender { inner: queue, failures: AtomicU32::new(1) }));
    let message = InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")));

    let failed = world.normaliser.process_batch(std::slice::from_ref(&message)).await;
    assert_eq!(failed.failed_ids, ["m1"]);
    assert!(world.drain_signals().await.is_empty());

    let retried = world.normaliser.process_batch(&[InboundMessage { receive_count: 2, ..message.clone() }]).await;
    let again = world.normaliser.process_batch(&[InboundMessage { receive_count: 3, ..message }]).await;

    assert!(retried.failed_ids.is_empty() && again.failed_ids.is_empty());
    let signals = world.drain_signals().await;
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].external_id, "1007");
    assert_eq!(world.counts("github-issues").await.signals, 1);
}

#[tokio::test]
async fn a_message_of_one_signal_costs_three_writes_its_send_its_recent_copy_and_its_counts() {
    let world = World::new().await.sending_once(|queue| Arc::new(queue));
    let before = world.db.writer_stats().jobs;

    let outcome =
        world.normaliser.process_batch(&[InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")))]).await;

    assert_eq!(outcome.signals, 1);
    // Claim, send, store and confirm would take four before the counts.
    assert_eq!(world.db.writer_stats().jobs - before, 3);
}
