//! Which instances a run polls.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::ports::{
    HealthUpdate, InstanceKey, InstanceUpdate, NewInstance, PollRecord, ScheduleSweep, store_now,
};
use switchboard_core::sync_schedule::{IntervalBounds, is_due, next_poll_at, reschedule};
use switchboard_poller::{DEFAULT_INTERVAL, InstanceOutcome, REAUTH_NEEDED, due_instances};

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

// ------------------------------------------------------------------ the schedule index

/// The interval instances of the test connector poll at (their own one when set).
async fn interval(world: &World, own: Option<u32>) -> Duration {
    let stored = world.stores.descriptors.get_descriptor(CONNECTOR).await.unwrap().unwrap();
    IntervalBounds::of(stored.descriptor.ingestion.polling().unwrap(), DEFAULT_INTERVAL).effective(own)
}

/// Records a poll run the way the poller does: with the next poll time the rule gives after it.
async fn record_run(world: &World, key: &InstanceKey, mut poll: PollRecord) {
    let mut after = world.stores.instances.get_instance(key).await.unwrap().unwrap();
    after.apply_poll(&poll);
    poll.next_poll_at = next_poll_at(&after, interval(world, after.polling_interval_seconds).await);
    world.stores.instances.record_poll(key, &poll).await.unwrap();
}

fn run_at(started_at: DateTime<Utc>, failed: bool, health: Option<HealthUpdate>) -> PollRecord {
    PollRecord { started_at, items: 1, failed, health, backfill: None, next_poll_at: None }
}

/// Creates an instance of the test connector the way the registry does (no credentials: only
/// listed here, never polled).
async fn add(world: &World, project: &str, enabled: bool) -> InstanceKey {
    let key = InstanceKey::new(project, CONNECTOR);
    let new = NewInstance { key: key.clone(), config: Default::default(), enabled };
    world.stores.instances.create_instance(&new).await.unwrap();
    key
}

/// Applies an update the way the registry does: then stores the next poll time.
async fn update(world: &World, key: &InstanceKey, update: InstanceUpdate) {
    let mut record = world.stores.instances.update_instance(key, &update).await.unwrap();
    let interval = interval(world, record.polling_interval_seconds).await;
    reschedule(&*world.stores.instances, &mut record, interval).await.unwrap();
}

/// What a run polled before the schedule index: every instance of every polling connector,
/// listed in full and filtered by the rule.
async fn due_by_full_listing(world: &World, now: DateTime<Utc>) -> Vec<InstanceKey> {
    let all = world.stores.instances.list_instances_by_connector(CONNECTOR).await.unwrap();
    let mut due = Vec::new();
    for instance in all {
        if is_due(&instance, interval(world, instance.polling_interval_seconds).await, now) {
            due.push(instance.key());
        }
    }
    due
}

#[tokio::test]
async fn the_due_listing_finds_exactly_what_the_full_listing_found_reading_only_the_due_records() {
    let world = World::new().await;
    let t = store_now();
    let minutes = |m: i64| t + TimeDelta::minutes(m);
    add(&world, "never-synced", true).await;
    add(&world, "disabled", false).await;
    let reauth = add(&world, "reauth", true).await;
    let reauth_failure = HealthUpdate::SyncFailed { error: "re-auth needed: 401".into(), reauth: true };
    record_run(&world, &reauth, run_at(minutes(-30), true, Some(reauth_failure))).await;
    let synced = add(&world, "synced", true).await;
    record_run(&world, &synced, run_at(minutes(-10), false, Some(HealthUpdate::Synced { at: minutes(-9) }))).await;
    let failed = add(&world, "failed", true).await;
    let failure = HealthUpdate::SyncFailed { error: "503".into(), reauth: false };
    record_run(&world, &failed, run_at(minutes(-3), true, Some(failure))).await;
    let early = add(&world, "stopped-early", true).await;
    record_run(&world, &early, run_at(minutes(-1), false, None)).await;
    let early_after_sync = add(&world, "stopped-early-after-sync", true).await;
    record_run(&world, &early_after_sync, run_at(minutes(-8), false, Some(HealthUpdate::Synced { at: minutes(-8) })))
        .await;
    record_run(&world, &early_after_sync, run_at(minutes(-2), false, None)).await;
    let own = add(&world, "own-interval", true).await;
    update(&world, &own, InstanceUpdate { polling_interval_seconds: Some(Some(3600)), ..InstanceUpdate::default() })
        .await;
    record_run(&world, &own, run_at(minutes(-20), false, Some(HealthUpdate::Synced { at: minutes(-20) }))).await;
    let re_enabled = add(&world, "re-enabled", true).await;
    record_run(&world, &re_enabled, run_at(minutes(-4), false, Some(HealthUpdate::Synced { at: minutes(-4) }))).await;
    update(&world, &re_enabled, InstanceUpdate { enabled: Some(false), ..InstanceUpdate::default() }).await;
    update(&world, &re_enabled, InstanceUpdate { enabled: Some(true), ..InstanceUpdate::default() }).await;
    let total = world.stores.instances.list_instances_by_connector(CONNECTOR).await.unwrap().len();
    let week = Duration::from_secs(7 * 86_400);

    let first = due_instances(&world.stores, DEFAULT_INTERVAL, week, t).await.unwrap();
    assert_eq!(first.swept, [CONNECTOR], "no sweep recorded yet: the first run sweeps");
    assert_eq!(first.instances_read, total);
    assert_eq!(first.rescheduled, 0, "every writer stored the time the rule gives");

    let mut seen_due = 0;
    for now in [t, minutes(1), minutes(2), minutes(5), minutes(10), minutes(45), minutes(120), minutes(24 * 60)] {
        let listing = due_instances(&world.stores, DEFAULT_INTERVAL, week, now).await.unwrap();
        let keys: Vec<InstanceKey> = listing.instances.iter().map(|due| due.record.key()).collect();
        assert_eq!(keys, due_by_full_listing(&world, now).await, "at {now}");
        assert!(listing.swept.is_empty(), "within the sweep interval");
        assert_eq!(listing.instances_read, keys.len(), "at {now}: read only the due records");
        for due in &listing.instances {
            assert_eq!(due.interval, interval(&world, due.record.polling_interval_seconds).await);
        }
        seen_due = seen_due.max(keys.len());
    }
    assert!(seen_due >= 7 && seen_due < total, "the cases cover due and not due ({seen_due} of {total})");
}

#[tokio::test]
async fn a_scheduled_run_reads_only_the_due_records_and_says_so() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    let now = store_now();
    for n in 0..30 {
        let key = add(&world, &format!("quiet-{n:02}"), true).await;
        update(
            &world,
            &key,
            InstanceUpdate { polling_interval_seconds: Some(Some(3600)), ..InstanceUpdate::default() },
        )
        .await;
        record_run(&world, &key, run_at(now, false, Some(HealthUpdate::Synced { at: now }))).await;
    }

    let first = world.run_at(now).await;
    assert_eq!((first.due, first.succeeded, first.instances_read), (1, 1, 31));
    assert_eq!(first.swept, [CONNECTOR], "the first run sweeps");

    let second = world.run_at(now + TimeDelta::seconds(1)).await;
    assert_eq!((second.due, second.instances_read), (0, 0), "nothing due, nothing read");
    assert!(second.swept.is_empty());

    let later = world.run_at(Utc::now() + TimeDelta::seconds(301)).await;
    assert_eq!((later.due, later.instances_read), (1, 1), "only the instance whose interval passed");
    assert_eq!(later.outcome(&world.key).map(|o| matches!(o, InstanceOutcome::Polled { .. })), Some(true));
}

#[tokio::test]
async fn instances_without_a_stored_schedule_are_found_by_the_first_sweep() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    // Rows written before the schedule index: enabled, no stored time, no sweep recorded.
    world.stores.instances.set_next_poll_at(&world.key, None).await.unwrap();
    let quiet = add(&world, "quiet", true).await;
    let now = store_now();
    world.stores.instances.record_health(&quiet, &HealthUpdate::Synced { at: now }).await.unwrap();
    world.stores.instances.set_next_poll_at(&quiet, None).await.unwrap();

    let summary = world.run_at(now).await;

    assert_eq!((summary.due, summary.succeeded, summary.instances_read), (1, 1, 2));
    // Both stored: the due one too, so that a run deferring it would still find it next time.
    assert_eq!((summary.swept.as_slice(), summary.rescheduled), ([CONNECTOR.to_owned()].as_slice(), 2));
    let quiet = world.stores.instances.get_instance(&quiet).await.unwrap().unwrap();
    assert_eq!(quiet.next_poll_at, Some(now + TimeDelta::seconds(300)), "the sweep stored its time");
    let polled = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap();
    assert_eq!(polled.next_poll_at, next_poll_at(&polled, Duration::from_secs(300)), "its run stored its time");
}

#[tokio::test]
async fn a_change_of_the_interval_bounds_calls_for_a_sweep() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    let now = store_now();
    let sweep = ScheduleSweep { bounds: "60/60/60".into(), swept_at: now };
    world.stores.instances.record_schedule_sweep(CONNECTOR, &sweep).await.unwrap();

    assert_eq!(world.run_at(now).await.swept, [CONNECTOR], "swept under other bounds");
    assert!(world.run_at(now).await.swept.is_empty(), "swept under these bounds within the hour");
    assert_eq!(world.run_at(now + TimeDelta::hours(1)).await.swept, [CONNECTOR], "an hour later");
}

#[tokio::test]
async fn a_listed_instance_that_is_not_due_is_not_polled_and_its_stored_time_is_corrected() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    let now = store_now();
    assert_eq!(world.run_at(now).await.succeeded, 1);
    // A stored time drifted early (a concurrent write), so the index lists it though it is not due.
    world.stores.instances.set_next_poll_at(&world.key, Some(now)).await.unwrap();
    let requests = world.issue_requests().await.len();

    let drifted = world.run_at(now + TimeDelta::seconds(1)).await;

    assert_eq!((drifted.due, drifted.instances_read, drifted.rescheduled), (0, 1, 1));
    assert_eq!(world.issue_requests().await.len(), requests, "not polled");
    let after = world.run_at(now + TimeDelta::seconds(2)).await;
    assert_eq!((after.due, after.instances_read), (0, 0), "no longer listed");
}
