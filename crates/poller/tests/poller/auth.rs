//! Credentials: refreshed OAuth2 tokens are kept; rejected credentials mark the instance.

use secrecy::ExposeSecret as _;
use switchboard_core::ports::{Credentials, SyncStatus};
use switchboard_poller::{InstanceOutcome, REAUTH_NEEDED};

use crate::support::{GOOD_TOKEN, OAuthCredentials, Options, World, hours_later};

#[tokio::test]
async fn tokens_refreshed_during_a_poll_are_stored() {
    let oauth = OAuthCredentials { refresh_token: "rt-0" };
    let world = World::with(Options { oauth: Some(oauth), ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);

    let summary = world.run().await;

    assert_eq!((summary.succeeded, summary.items), (1, 1));
    let stored = world.credentials().await;
    assert_eq!(stored.get("accessToken").unwrap().expose_secret(), "at-1");
    assert_eq!(stored.get("refreshToken").unwrap().expose_secret(), "rt-1");
    assert_eq!(stored.get("clientSecret").unwrap().expose_secret(), "client-secret-value");
}

#[tokio::test]
async fn a_rejected_token_marks_the_instance_as_needing_re_auth_until_its_credentials_change() {
    let world = World::with(Options { token: Some("ghp_revoked"), ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);

    let failed = world.run().await;

    let Some(InstanceOutcome::Polled { run }) = failed.outcome(&world.key) else { panic!("{failed:?}") };
    assert_eq!(run.status, SyncStatus::Failed);
    let health = world.health().await;
    assert_eq!(health.consecutive_failures, 1);
    let last_error = health.last_error.unwrap();
    assert!(last_error.starts_with(REAUTH_NEEDED), "{last_error}");
    assert!(!last_error.contains("ghp_revoked"));

    assert_eq!(world.run_at(hours_later(1)).await.due, 0, "not retried with the same credentials");

    let fixed: Credentials = [("token", GOOD_TOKEN)].into_iter().collect();
    world.stores.store_credentials(&world.key, &fixed).await.unwrap();
    let recovered = world.run_at(hours_later(2)).await;

    assert_eq!(recovered.succeeded, 1);
    assert_eq!(world.health().await.consecutive_failures, 0);
}

#[tokio::test]
async fn a_revoked_refresh_token_marks_the_instance_as_needing_re_auth() {
    let oauth = OAuthCredentials { refresh_token: "rt-revoked" };
    let world = World::with(Options { oauth: Some(oauth), ..Options::default() }).await;

    world.run().await;
    world.run_at(hours_later(1)).await;

    let health = world.health().await;
    assert_eq!(health.consecutive_failures, 1, "the second run waits for re-authorisation");
    assert!(health.last_error.unwrap().starts_with(REAUTH_NEEDED));
    assert!(world.issue_requests().await.is_empty());
}

#[tokio::test]
async fn no_token_or_client_secret_reaches_the_logs() {
    let logs = crate::support::capture_logs();
    let oauth = OAuthCredentials { refresh_token: "rt-0" };
    let world = World::with(Options { oauth: Some(oauth), ..Options::default() }).await;
    world.api.add(&[(1, "2024-05-01T01:00:00Z")]);
    world.run().await;
    world.api.fail_with(Some(401));
    world.run_at(hours_later(1)).await;

    let text = logs.text();
    assert!(text.contains("refreshed OAuth2 credentials stored"), "{text}");
    assert!(text.contains("instance poll failed"), "{text}");
    for secret in ["client-secret-value", "at-expired", "rt-0", "at-1", "rt-1", "at-2", "rt-2"] {
        assert!(!text.contains(secret), "{secret} leaked into the logs:\n{text}");
    }
}
