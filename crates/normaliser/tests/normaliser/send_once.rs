//! The normaliser over a signals queue with an atomic send (`switchboard serve`'s embedded
//! queue): each signal and its dedup record are written together, so duplicates are still
//! dropped, a failed send still loses nothing, and a signal costs one write plus its copy in the
//! recent-signals store. The first two run the claim protocol's own tests on this path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

use switchboard_normaliser::InboundMessage;

use crate::batches::the_same_envelope_twice_gives_one_signal_and_a_counted_duplicate;
use crate::faults::a_failed_send_fails_the_message_and_its_retry_sends_the_signal_once;
use crate::support::{FlakySender, HangingSignalStore, World, issue, polled};

#[tokio::test]
async fn the_same_envelope_twice_gives_one_signal_through_the_atomic_send() {
    let world = World::new().await.sending_once(|queue| Arc::new(queue));
    the_same_envelope_twice_gives_one_signal_and_a_counted_duplicate(&world).await;
}

#[tokio::test]
async fn a_failed_atomic_send_fails_the_message_and_its_retry_sends_the_signal_once() {
    let world =
        World::new().await.sending_once(|queue| Arc::new(FlakySender { inner: queue, failures: AtomicU32::new(1) }));
    a_failed_send_fails_the_message_and_its_retry_sends_the_signal_once(&world).await;
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

#[tokio::test]
async fn a_run_that_dies_after_the_send_leaves_the_redelivery_to_store_the_recent_copy() {
    let world = World::new()
        .await
        .with_signal_store(|inner| Arc::new(HangingSignalStore { inner, hung: AtomicBool::new(false) }))
        .sending_once(|queue| Arc::new(queue));
    let message = InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")));

    // The first run dies after the signal and its record were written, before its recent copy.
    let died = tokio::time::timeout(
        Duration::from_millis(200),
        world.normaliser.process_batch(std::slice::from_ref(&message)),
    )
    .await;
    assert!(died.is_err());
    let redelivered = world.normaliser.process_batch(&[InboundMessage { receive_count: 2, ..message }]).await;

    assert!(redelivered.failed_ids.is_empty());
    assert_eq!((redelivered.signals, redelivered.duplicates), (0, 1), "the signal went out once, in the first run");
    assert_eq!(world.drain_signals().await.len(), 1);
    let recent = world.stores.signals.list_signals("p1", &Default::default()).await.unwrap();
    assert_eq!(recent.signals.len(), 1, "the redelivery stored the recent copy the first run did not");
}
