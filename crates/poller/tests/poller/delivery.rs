//! Every item reaches the ingest queue exactly once per change, and the checkpoint follows it.

use std::time::Duration;

use switchboard_core::polling as poll;
use switchboard_core::ports::SyncStatus;
use switchboard_poller::InstanceOutcome;

use crate::support::{Options, World, hours_later, numbers, param};

#[tokio::test]
async fn a_first_run_enqueues_every_issue_once_and_advances_the_checkpoint_per_page() {
    let world = World::new().await;
    world.api.add(&[
        (1, "2024-05-01T01:00:00Z"),
        (2, "2024-05-01T02:00:00Z"),
        (3, "2024-05-01T03:00:00Z"),
        (4, "2024-05-01T04:00:00Z"),
        (5, "2024-05-01T05:00:00Z"),
    ]);

    let summary = world.run().await;

    assert_eq!((summary.succeeded, summary.items), (1, 5));
    assert_eq!(numbers(&world.envelopes().await), [1, 2, 3, 4, 5]);
    let checkpoint = world.checkpoint().await.unwrap();
    assert_eq!(checkpoint.version, 3, "one advance per page of two");
    let parsed = poll::Checkpoint::parse(&checkpoint.value).unwrap();
    assert!(!parsed.is_resuming());
    // github-issues keeps one checkpoint per repository, even for a single one.
    assert_eq!(parsed.partitions["octo/hello"].position.as_deref(), Some("2024-05-01T05:00:00Z"));
    let health = world.health().await;
    assert!(health.last_sync_at.is_some());
    assert_eq!(health.consecutive_failures, 0);
    assert_eq!(param(&world.issue_requests().await[0], "since"), None);
}

#[tokio::test]
async fn a_second_run_enqueues_only_issues_updated_since() {
    let world = World::new().await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z"), (2, "2024-05-01T02:00:00Z"), (3, "2024-05-01T03:00:00Z")]);
    world.run().await;
    world.envelopes().await;
    world.api.add(&[(4, "2024-05-02T09:00:00Z"), (2, "2024-05-02T10:00:00Z")]);

    let summary = world.run_at(hours_later(1)).await;

    assert_eq!(summary.items, 2);
    assert_eq!(numbers(&world.envelopes().await), [4, 2]);
    let requests = world.issue_requests().await;
    let second_run_first_request = requests.iter().rev().find(|r| param(r, "page").is_none()).unwrap();
    // The stored position minus the descriptor's 60 s look-back.
    assert_eq!(param(second_run_first_request, "since").as_deref(), Some("2024-05-01T02:59:00Z"));
}

#[tokio::test]
async fn items_enqueued_before_a_crash_are_sent_again() {
    let world = World::with(Options { failing_advances: 1, ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z"), (2, "2024-05-01T02:00:00Z"), (3, "2024-05-01T03:00:00Z")]);

    let crashed = world.run().await;
    assert_eq!(crashed.failed, 1);
    assert!(world.checkpoint().await.is_none(), "the checkpoint did not move");
    let recovered = world.run_at(hours_later(1)).await;
    assert_eq!(recovered.succeeded, 1);

    let messages = world.drain().await;
    assert_eq!(messages.len(), 2 + 3, "page one twice, then the rest");
    // That the normaliser turns the repeats into signals once is proven through serve
    // (crates/cli/tests/serve/polling.rs): functions are peers and do not test each other.
}

#[tokio::test]
async fn a_run_that_reaches_its_deadline_stops_and_the_next_run_resumes_without_gaps() {
    let world = World::with(Options { delay: Duration::from_millis(300), ..Options::default() }).await;
    let cut_short = world.cut_short_first_run_of_six_issues().await;

    let Some(InstanceOutcome::Polled { run }) = cut_short.outcome(&world.key) else { panic!("{cut_short:?}") };
    assert_eq!(run.status, SyncStatus::Partial);
    assert!(run.error.is_none(), "{run:?}");
    assert!(run.items >= 2 && run.items < 6, "{run:?}");
    assert!(poll::Checkpoint::parse(&world.checkpoint().await.unwrap().value).unwrap().is_resuming());
    assert_eq!(world.health().await.last_sync_at, None, "still due");

    let finished = world.run().await;

    assert_eq!(finished.succeeded, 1);
    assert_eq!(numbers(&world.envelopes().await), [1, 2, 3, 4, 5, 6]);
}
