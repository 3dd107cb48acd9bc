//! Backend failures: nothing accepted is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::time::Duration;

use switchboard_normaliser::{InboundMessage, NormaliserSettings};

use crate::support::{FlakySender, HangingSender, World, issue, polled};

#[tokio::test]
async fn a_failed_signals_queue_send_fails_the_message_and_its_retry_sends_the_signal_once() {
    let world = World::with_sender(|queue| Arc::new(FlakySender { inner: queue, failures: AtomicU32::new(1) })).await;
    a_failed_send_fails_the_message_and_its_retry_sends_the_signal_once(&world).await;
}

/// `world`'s signals queue fails its first send: the message fails, its retries send one signal.
pub async fn a_failed_send_fails_the_message_and_its_retry_sends_the_signal_once(world: &World) {
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
async fn a_run_that_dies_mid_send_leaves_only_a_claim_so_the_redelivery_sends_the_signal_once() {
    let claim = Duration::from_millis(500);
    let settings = NormaliserSettings { claim_ttl: claim, ..NormaliserSettings::default() };
    let world =
        World::with_settings(settings, |queue| Arc::new(HangingSender { inner: queue, hung: AtomicBool::new(false) }))
            .await;
    let message = InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")));

    // The first run dies while sending: its future is dropped with the signal id claimed.
    let died = tokio::time::timeout(claim / 2, world.normaliser.process_batch(std::slice::from_ref(&message))).await;
    assert!(died.is_err());
    tokio::time::sleep(claim).await;
    let redelivered = world.normaliser.process_batch(&[InboundMessage { receive_count: 2, ..message.clone() }]).await;
    assert!(redelivered.failed_ids.is_empty());
    assert_eq!(world.drain_signals().await.len(), 1);

    // Once sent, the id is remembered past the claim: a later copy is a duplicate.
    tokio::time::sleep(claim * 2).await;
    world.normaliser.process_batch(&[InboundMessage { id: "m2".into(), ..message }]).await;
    assert!(world.drain_signals().await.is_empty());
    assert_eq!(world.counts("github-issues").await.duplicates, 1);
}

#[tokio::test]
async fn a_sent_signal_is_kept_in_the_recent_signals_store() {
    let world = World::new().await;
    world.normaliser.process_batch(&[InboundMessage::new("m1", polled(issue(7, "2024-05-01T10:00:00Z")))]).await;

    let page = world.stores.signals.list_signals("p1", &Default::default()).await.unwrap();

    assert_eq!(page.signals.len(), 1);
    assert_eq!(page.signals[0].summary, "#7 Issue 7 (open, 0 comments)");
}
