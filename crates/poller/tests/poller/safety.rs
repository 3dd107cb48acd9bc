//! One tenant cannot hold up, duplicate or block the poller: leases outlive slow pages, each
//! instance has a time budget, oversized items do not stop the checkpoint, and a token refresh
//! does not undo a concurrent credential edit.

use std::time::{Duration, Instant};

use secrecy::ExposeSecret as _;
use serde_json::json;
use switchboard_core::polling as poll;
use switchboard_core::ports::{CredentialChange, Credentials, MAX_MESSAGE_BYTES, SyncStatus};
use switchboard_poller::{InstanceOutcome, RetryClass};

use crate::support::{GOOD_TOKEN, HANGING_REFRESH_TOKEN, OAuthCredentials, Options, World, issue, numbers};

#[tokio::test]
async fn a_second_poller_never_starts_an_instance_whose_slow_page_outlasts_the_lease() {
    let world = World::with(Options {
        delay: Duration::from_millis(1500),
        settings: Some(|s| s.lease_ttl = Duration::from_millis(600)),
        ..Options::default()
    })
    .await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);

    let (first, second) = tokio::join!(world.run(), async {
        // Past the lease's first lapse, while the first poller still waits for its page.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        world.run().await
    });

    assert_eq!(second.outcome(&world.key), Some(&InstanceOutcome::LeaseHeld), "{second:?}");
    assert_eq!((first.succeeded, first.items), (1, 1), "{first:?}");
    assert_eq!(world.issue_requests().await.len(), 1, "only the first poller asked the API");
    assert_eq!(numbers(&world.envelopes().await), [1]);
}

#[tokio::test]
async fn an_instance_whose_lease_is_taken_over_stops_at_once_without_enqueuing() {
    let world = World::with(Options {
        delay: Duration::from_secs(30),
        lease_taken_over: true,
        settings: Some(|s| s.lease_ttl = Duration::from_millis(300)),
        ..Options::default()
    })
    .await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);

    let started = Instant::now();
    let summary = world.run().await;

    assert!(started.elapsed() < Duration::from_secs(10), "the poller waited for the page after losing its lease");
    let Some(InstanceOutcome::Polled { run }) = summary.outcome(&world.key) else { panic!("{summary:?}") };
    assert_eq!((run.status, run.items), (SyncStatus::Failed, 0));
    assert!(run.error.as_deref().unwrap().contains("lease"), "{run:?}");
    assert!(world.envelopes().await.is_empty());
    assert!(world.checkpoint().await.is_none());
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_costs_its_instance_budget_and_the_others_still_run() {
    let oauth = OAuthCredentials { refresh_token: HANGING_REFRESH_TOKEN };
    let world = World::with(Options {
        oauth: Some(oauth),
        settings: Some(|s| {
            s.instance_budget = Duration::from_millis(1000);
            s.concurrency = 1; // The slow tenant goes first and holds the only slot.
        }),
        ..Options::default()
    })
    .await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    let valid: Credentials = [
        ("clientId", "client"),
        ("clientSecret", "client-secret-value"),
        ("accessToken", GOOD_TOKEN),
        ("refreshToken", "rt-other"),
        ("expiresAt", "2100-01-01T00:00:00Z"),
    ]
    .into_iter()
    .collect();
    let other = world.add_instance("p2", &valid).await;

    let started = Instant::now();
    let summary = world.run().await;

    assert!(started.elapsed() < Duration::from_secs(4), "the run waited {:?}", started.elapsed());
    let Some(InstanceOutcome::Polled { run }) = summary.outcome(&world.key) else { panic!("{summary:?}") };
    assert_eq!(run.status, SyncStatus::Failed);
    assert!(run.error.as_deref().unwrap().contains("budget"), "{run:?}");
    let Some(InstanceOutcome::Polled { run: other_run }) = summary.outcome(&other) else { panic!("{summary:?}") };
    assert_eq!((other_run.status, other_run.items), (SyncStatus::Succeeded, 1));
    let health = world.health().await;
    assert_eq!(health.consecutive_failures, 1);
    assert!(health.last_error.unwrap().contains("budget"));
    assert!(world.checkpoint().await.is_none(), "the checkpoint stays where it was");
    let budget = switchboard_poller::PollerError::BudgetExceeded(Duration::from_secs(60));
    assert_eq!(budget.retry_class(), RetryClass::Retryable, "a transient error");
}

#[tokio::test]
async fn items_over_the_queue_limit_are_reduced_or_skipped_and_the_checkpoint_moves_on() {
    let world = World::new().await;
    let mut long_body = issue(1, "2024-05-01T01:00:00Z");
    long_body["body"] = json!("b".repeat(MAX_MESSAGE_BYTES + 1024));
    let mut long_title = issue(2, "2024-05-01T02:00:00Z");
    long_title["title"] = json!("t".repeat(MAX_MESSAGE_BYTES + 1024));
    world.api.add_issue(long_body);
    world.api.add_issue(long_title);
    world.api.add(&[(3, "2024-05-01T03:00:00Z")]);

    let summary = world.run().await;

    let Some(InstanceOutcome::Polled { run }) = summary.outcome(&world.key) else { panic!("{summary:?}") };
    assert_eq!((run.status, run.items), (SyncStatus::Partial, 2), "{run:?}");
    let error = run.error.as_deref().unwrap();
    assert!(error.contains("id `5002`") && error.contains("too large"), "the sync log names the item: {error}");
    let envelopes = world.envelopes().await;
    assert_eq!(numbers(&envelopes), [1, 3]);
    assert!(envelopes[0].payload.get("body").is_none(), "reduced to what the mapping reads");
    assert_eq!(envelopes[0].payload["title"], "Issue 1");
    let checkpoint = poll::Checkpoint::parse(&world.checkpoint().await.unwrap().value).unwrap();
    assert_eq!(checkpoint.partitions["octo/hello"].position.as_deref(), Some("2024-05-01T03:00:00Z"));
    assert_eq!(world.health().await.consecutive_failures, 0, "the instance is not failing");
}

#[tokio::test]
async fn a_token_refresh_keeps_a_credential_edit_made_while_the_poll_ran() {
    let oauth = OAuthCredentials { refresh_token: "rt-0" };
    let world =
        World::with(Options { oauth: Some(oauth), delay: Duration::from_millis(400), ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z"), (2, "2024-05-01T02:00:00Z"), (3, "2024-05-01T03:00:00Z")]);

    let (summary, ()) = tokio::join!(world.run(), async {
        // The poller has read the credentials and refreshed; the user edits the client secret.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let edit: Credentials = [("clientSecret", "edited-secret")].into_iter().collect();
        world.stores.update_credentials(&world.key, &CredentialChange::merge(&edit)).await.unwrap();
    });

    assert_eq!(summary.succeeded, 1, "{summary:?}");
    let stored = world.credentials().await;
    assert_eq!(stored.get("clientSecret").unwrap().expose_secret(), "edited-secret", "the edit survived");
    assert_eq!(stored.get("accessToken").unwrap().expose_secret(), "at-1");
    assert_eq!(stored.get("refreshToken").unwrap().expose_secret(), "rt-1");
}
