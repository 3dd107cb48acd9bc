//! The instance's life as the poller sees it: health notices sent once per transition, runs
//! recorded on the instance (counts, backfill progress), and polling at once on request. A notice
//! the ingest queue refused is sent again by the next run.

use std::time::{Duration, Instant};

use chrono::Utc;
use switchboard_core::envelope::Envelope;
use switchboard_core::health_notice::{self, SIGNAL_TYPE, SOURCE};
use switchboard_core::model::Priority;
use switchboard_core::ports::{
    EntryFailure, HealthAlert, HealthUpdate, InstanceHealth, QueueMessage, QueueSender, RetryPolicy as CoreRetryPolicy,
    StoreError,
};
use switchboard_core::signal::NormalisedSignal;
use switchboard_poller::InstanceOutcome;

use crate::support::{OAuthCredentials, Options, World, hours_later, numbers};

/// The health notices among `envelopes`, in order.
fn notices(envelopes: &[Envelope]) -> Vec<NormalisedSignal> {
    envelopes.iter().filter_map(|e| e.notice.as_deref().cloned()).collect()
}

/// The state each notice reports.
fn states(notices: &[NormalisedSignal]) -> Vec<String> {
    notices.iter().map(|n| n.raw["state"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn three_failures_in_a_row_send_one_failing_notice_and_the_recovery_one_recovered_notice() {
    let world = World::new().await;
    world.api.fail_with(Some(503));

    let mut sent = Vec::new();
    for hour in 1..=4 {
        world.run_at(hours_later(hour)).await;
        sent.push(states(&notices(&world.envelopes().await)));
    }
    assert_eq!(sent, [vec![], vec![], vec!["failing".to_owned()], vec![]], "one notice, at the third failure");
    let health = world.health().await;
    assert_eq!((health.consecutive_failures, health.alert), (4, Some(HealthAlert::Failing)));

    world.api.fail_with(None);
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    world.run_at(hours_later(5)).await;
    let envelopes = world.envelopes().await;
    let recovered = notices(&envelopes);
    assert_eq!(states(&recovered), ["recovered"]);
    assert_eq!(numbers(&envelopes.into_iter().filter(|e| e.notice.is_none()).collect::<Vec<_>>()), [1]);
    let notice = &recovered[0];
    assert_eq!((notice.source.as_str(), notice.signal_type.as_str()), (SOURCE, SIGNAL_TYPE));
    assert_eq!(
        (notice.priority, notice.related_items.clone()),
        (Some(Priority::Low), vec!["p1/github-issues".to_owned()])
    );
    assert!(notice.summary.contains("works again after repeated failures"), "{}", notice.summary);

    world.run_at(hours_later(6)).await;
    assert!(notices(&world.envelopes().await).is_empty(), "nothing more while it works");
    assert_eq!(world.health().await.alert, None);
}

#[tokio::test]
async fn the_failing_notice_says_what_failed_and_what_to_do() {
    let world = World::new().await;
    world.api.fail_with(Some(503));
    let mut failing = Vec::new();
    for hour in 1..=3 {
        world.run_at(hours_later(hour)).await;
        failing.extend(notices(&world.envelopes().await));
    }

    let [notice] = failing.as_slice() else { panic!("{failing:?}") };
    assert_eq!(notice.priority, Some(Priority::High));
    assert_eq!(notice.event_type.as_deref(), Some("failing"));
    assert!(notice.summary.starts_with("github-issues in project p1 failed 3 times in a row ("), "{}", notice.summary);
    assert!(notice.summary.contains("503"), "{}", notice.summary);
    assert!(notice.summary.contains("check the service"), "{}", notice.summary);
    assert_eq!(notice.raw["consecutiveFailures"], 3);
}

#[tokio::test]
async fn a_threshold_of_one_notifies_at_the_first_failure() {
    let world = World::with(Options { settings: Some(|s| s.failure_threshold = 1), ..Options::default() }).await;
    world.api.fail_with(Some(503));

    world.run().await;

    assert_eq!(states(&notices(&world.envelopes().await)), ["failing"]);
}

#[tokio::test]
async fn an_invalid_grant_sets_reauth_needed_and_sends_one_notice() {
    let oauth = OAuthCredentials { refresh_token: "rt-revoked" };
    let world = World::with(Options { oauth: Some(oauth), ..Options::default() }).await;

    world.run().await;
    let first = notices(&world.envelopes().await);
    world.run_at(hours_later(1)).await;
    let second = notices(&world.envelopes().await);

    assert_eq!(states(&first), ["reauth_needed"]);
    assert!(second.is_empty(), "not polled again, not notified again");
    let notice = &first[0];
    assert_eq!(notice.priority, Some(Priority::Critical));
    assert!(notice.summary.contains("needs re-authorisation"), "{}", notice.summary);
    assert!(notice.summary.contains("invalid_grant"), "{}", notice.summary);
    assert!(!notice.summary.contains("rt-revoked"), "no credential in the notice");
    let record = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap();
    assert!(record.health.reauth_needed);
    assert_eq!(record.health.alert, Some(HealthAlert::ReauthNeeded));
}

#[tokio::test]
async fn a_notified_state_another_writer_moved_is_read_fresh_before_the_compare_and_set() {
    let world = World::with(Options { settings: Some(|s| s.failure_threshold = 1), ..Options::default() }).await;
    world.api.fail_with(Some(503));
    // Another writer moved the notified state in between: this poller's compare-and-set loses.
    let at = Utc::now();
    assert!(world.stores.instances.set_health_alert(&world.key, None, None, at).await.unwrap());
    world.run().await;
    let record = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap();
    // The stale expectation lost nothing: the level-triggered check notified from the fresh state.
    assert_eq!(record.health.alert, Some(HealthAlert::Failing));
    assert_eq!(states(&notices(&world.envelopes().await)), ["failing"]);
}

#[tokio::test]
async fn runs_add_up_on_the_instance_and_a_backfill_shows_its_progress_until_it_completes() {
    let world = World::with(Options { delay: Duration::from_millis(300), ..Options::default() }).await;
    let cut_short = world.cut_short_first_run_of_six_issues().await;

    let Some(InstanceOutcome::Polled { run }) = cut_short.outcome(&world.key) else { panic!("{cut_short:?}") };
    let record = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap();
    let backfill = record.sync.backfill.expect("a backfill under way");
    assert_eq!((backfill.pages, backfill.items), (u64::from(run.pages), run.items));
    assert_eq!(backfill.started_at, run.started_at);
    assert_eq!((record.sync.change_count, record.sync.error_count), (run.items, 0));

    world.run().await;

    let record = world.stores.instances.get_instance(&world.key).await.unwrap().unwrap();
    assert_eq!(record.sync.backfill, None, "the first complete run ends the backfill");
    assert_eq!(record.sync.change_count, 6);
    assert!(record.sync.last_polled_at.is_some() && !record.sync.last_poll_failed);
}

#[tokio::test]
async fn poll_now_polls_an_instance_whose_interval_has_not_passed() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    world.stores.instances.record_health(&world.key, &HealthUpdate::Synced { at: Utc::now() }).await.unwrap();
    assert_eq!(world.run().await.due, 0, "not due by its schedule");

    let summary = world
        .poller
        .poll_now(std::slice::from_ref(&world.key), Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();

    assert_eq!((summary.succeeded, summary.items), (1, 1));
    world.stores.instances.enable_instance(&world.key, false).await.unwrap();
    let skipped = world
        .poller
        .poll_now(std::slice::from_ref(&world.key), Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(skipped.due, 0, "a disabled instance is not polled");
}

/// An ingest queue that refuses every send, as SQS does when it is unreachable.
struct RefusingQueue;

#[async_trait::async_trait]
impl QueueSender for RefusingQueue {
    async fn send_entries(&self, _entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        Err(StoreError::backend("sending to the ingest queue", "connection refused"))
    }
}

#[tokio::test]
async fn a_notice_the_ingest_queue_refused_is_sent_by_the_next_run() {
    let world = World::new().await;
    world.api.fail_with(Some(503));
    world.run_at(hours_later(1)).await;
    world.run_at(hours_later(2)).await;
    assert!(notices(&world.envelopes().await).is_empty(), "two failures: no notice yet");

    // The third failure is due while the queue refuses: the notice is not sent, and the notified
    // state is moved back rather than claiming a notice nobody received.
    let health = InstanceHealth { consecutive_failures: 3, ..world.health().await };
    let refused = health_notice::notify(
        world.stores.instances.as_ref(),
        &RefusingQueue,
        &world.key,
        &health,
        3,
        CoreRetryPolicy { max_attempts: 2, initial_backoff: Duration::ZERO },
        |_| async {},
    )
    .await;
    assert!(matches!(refused, Err(health_notice::NoticeError::Enqueue(_))), "{refused:?}");
    assert_eq!(world.health().await.alert, None, "the notified state is moved back");

    world.run_at(hours_later(3)).await;
    assert_eq!(states(&notices(&world.envelopes().await)), ["failing"], "the next run sends it");
    assert_eq!(world.health().await.alert, Some(HealthAlert::Failing));
}
