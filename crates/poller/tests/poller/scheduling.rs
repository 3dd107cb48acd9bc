//! Which instances a run polls.

use std::time::Duration;

use chrono::Utc;
use switchboard_core::ports::{HealthUpdate, InstanceKey, NewInstance};
use switchboard_poller::{InstanceOutcome, REAUTH_NEEDED};

use crate::support::{CONNECTOR, Options, World, hours_later};

#[tokio::test]
async fn an_instance_whose_lease_another_poller_holds_is_skipped() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    world.stores.leases.acquire_lease(&world.key, "poller-elsewhere", Duration::from_secs(60)).await.unwrap().unwrap();

    let summary = world.run().await;

    assert_eq!(summary.outcome(&world.key), Some(&InstanceOutcome::LeaseHeld));
    assert!(world.issue_requests().await.is_empty());
    assert!(world.envelopes().await.is_empty());
}

#[tokio::test]
async fn an_instance_synced_within_its_interval_is_not_polled() {
    let world = World::new().await;
    world.stores.instances.record_health(&world.key, &HealthUpdate::Synced { at: Utc::now() }).await.unwrap();

    let summary = world.run().await;

    assert_eq!(summary.due, 0);
    assert!(world.issue_requests().await.is_empty());
}

#[tokio::test]
async fn disabled_instances_are_not_polled() {
    let world = World::new().await;
    world.stores.instances.enable_instance(&world.key, false).await.unwrap();

    assert_eq!(world.run().await.due, 0);
}

#[tokio::test]
async fn instances_of_every_project_are_polled_and_the_lease_is_released_after() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    let other = InstanceKey::new("p2", CONNECTOR);
    let config = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap().config;
    let credentials = world.credentials().await;
    world
        .stores
        .create_instance(&NewInstance { key: other.clone(), config, enabled: true }, &credentials)
        .await
        .unwrap();

    let summary = world.run().await;

    assert_eq!((summary.due, summary.succeeded, summary.items), (2, 1 + 1, 2));
    let lease = world.stores.leases.acquire_lease(&other, "next-poller", Duration::from_secs(60)).await.unwrap();
    assert!(lease.is_some(), "released after the run");
}

#[tokio::test]
async fn a_failing_instance_waits_an_interval_before_its_next_attempt() {
    let world = World::new().await;
    world.api.fail_with(Some(503));

    world.run().await;
    assert_eq!(world.run().await.due, 0, "within the interval after the failed attempt");
    world.run_at(hours_later(1)).await;

    let health = world.health().await;
    assert_eq!(health.consecutive_failures, 2);
    assert!(!health.last_error.unwrap().starts_with(REAUTH_NEEDED), "a server error is not an auth problem");
}

#[tokio::test]
async fn a_stop_asked_for_before_a_run_defers_every_instance() {
    let (_stop, stopping) = tokio::sync::watch::channel(true);
    let world = World::with(Options { stop: Some(stopping), ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);

    let summary = world.run().await;

    assert_eq!(summary.outcome(&world.key), Some(&InstanceOutcome::Deferred));
    assert!(world.issue_requests().await.is_empty());
}

#[tokio::test]
async fn a_stop_during_a_slow_request_ends_the_run_at_once_and_leaves_the_instance_due() {
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let world =
        World::with(Options { delay: Duration::from_secs(30), stop: Some(stopping), ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);

    let started = std::time::Instant::now();
    let (summary, ()) = tokio::join!(world.run(), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.send(true).unwrap();
    });

    assert!(started.elapsed() < Duration::from_secs(10), "the run waited for the slow API");
    assert_eq!((summary.partial, summary.items), (1, 0));
    assert!(world.envelopes().await.is_empty());
    assert_eq!(world.health().await.last_sync_at, None, "not marked synced, so due again at once");
    let lease = world.stores.leases.acquire_lease(&world.key, "next-run", Duration::from_secs(60)).await.unwrap();
    assert!(lease.is_some(), "the lease was given back");
}
