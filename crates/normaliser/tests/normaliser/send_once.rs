//! The normaliser over a signals queue with an atomic send (`switchboard serve`'s embedded
//! queue): each signal and its dedup record are written together, so duplicates are still
//! dropped, a failed send still loses nothing, and a signal and its copy in the recent-signals
//! store cost one write. The first two run the claim protocol's own tests on this path.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use switchboard_normaliser::InboundMessage;

use crate::batches::the_same_envelope_twice_gives_one_signal_and_a_counted_duplicate;
use crate::faults::a_failed_send_fails_the_message_and_its_retry_sends_the_signal_once;
use crate::support::{FlakySender, World, issue, polled};

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
async fn a_message_of_one_signal_costs_two_writes_its_send_with_its_recent_copy_and_its_counts() {
    let world = World::new().await.sending_once(|queue| Arc::new(queue));
    let before = world.db.writer_stats().jobs;

    let outcome =
        world.normaliser.process_batch(&[InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")))]).await;

    assert_eq!(outcome.signals, 1);
    // Claim, send, store and confirm would take four before the counts.
    assert_eq!(world.db.writer_stats().jobs - before, 2);
    assert_eq!(world.drain_signals().await.len(), 1);
    let recent = world.stores.signals.list_signals("p1", &Default::default()).await.unwrap();
    assert_eq!(recent.signals.len(), 1, "the recent copy was stored with the send");
}

#[tokio::test]
async fn a_failed_atomic_send_stores_no_recent_copy_and_its_retry_stores_one() {
    let world =
        World::new().await.sending_once(|queue| Arc::new(FlakySender { inner: queue, failures: AtomicU32::new(1) }));
    let message = InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")));

    let failed = world.normaliser.process_batch(std::slice::from_ref(&message)).await;
    let recent_after_failure = world.stores.signals.list_signals("p1", &Default::default()).await.unwrap();
    let retried = world.normaliser.process_batch(&[InboundMessage { receive_count: 2, ..message }]).await;

    assert_eq!(failed.failed_ids, ["m1"]);
    assert!(recent_after_failure.signals.is_empty());
    assert_eq!((retried.signals, retried.duplicates), (1, 0));
    let recent = world.stores.signals.list_signals("p1", &Default::default()).await.unwrap();
    assert_eq!(recent.signals.len(), 1);
}
