//! The contract, one `pub async fn` per behaviour. Each takes a [`Backend`] and panics with a
//! message when the adapter breaks the contract.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};
use secrecy::ExposeSecret;
use switchboard_core::model::Priority;
use switchboard_core::ports::{
    BackfillProgress, CredentialChange, Credentials, DedupOutcome, EntryFailure, FixedWindow, HealthAlert,
    HealthUpdate, InstanceKey, InstanceUpdate, MAX_MESSAGE_BYTES, MessageQueue, NewInstance, OAuthState, PollRecord,
    QueueMessage, QueueSender, RateDecision, ReceiveOptions, ReceivedMessage, RetryPolicy, SignalCounts, SignalQuery,
    StoreError, Stores, SubscriptionState, SubscriptionStatus, SyncRun, SyncStatus, send_batch,
};
use switchboard_core::signal::NormalisedSignal;
use tokio::task::JoinSet;

use crate::backend::Backend;
use crate::fixtures::{descriptor, signal};
use crate::signal_listing::{DAY, all_pages, ids, list, put_signals};

mod references;
mod schedule;
pub use references::*;
pub use schedule::*;

const GITHUB: &str = "github-issues";
const JIRA: &str = "jira";

async fn stores_with_connectors(backend: &impl Backend) -> Stores {
    let stores = backend.stores().await;
    for id in [GITHUB, JIRA] {
        stores.descriptors.register_descriptor(&descriptor(id, id), false).await.unwrap();
    }
    stores
}

fn new_instance(project: &str, connector: &str) -> NewInstance {
    NewInstance {
        key: InstanceKey::new(project, connector),
        config: BTreeMap::from([("projectKey".to_owned(), format!("{project}-key"))]),
        enabled: true,
    }
}

fn creds(api_key: &str) -> Credentials {
    [("apiKey", api_key)].into_iter().collect()
}

fn api_key(credentials: &Credentials) -> String {
    credentials.get("apiKey").expect("apiKey is set").expose_secret().to_owned()
}

// ---------------------------------------------------------------- descriptors

/// A second registration under the same id is refused and leaves the first untouched.
pub async fn registering_a_descriptor_twice_is_refused(backend: &impl Backend) {
    let stores = backend.stores().await;
    stores.descriptors.register_descriptor(&descriptor(GITHUB, "First"), false).await.unwrap();
    let err = stores.descriptors.register_descriptor(&descriptor(GITHUB, "Second"), false).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "expected AlreadyExists, got {err:?}");
    let stored = stores.descriptors.get_descriptor(GITHUB).await.unwrap().unwrap();
    assert_eq!(stored.descriptor.name, "First");
}

/// Listing is ordered by id; an update replaces the descriptor, keeps `createdAt` and bumps `updatedAt`.
pub async fn descriptors_are_listed_by_id_and_updated_in_place(backend: &impl Backend) {
    let stores = backend.stores().await;
    for id in ["zendesk", "asana", "github-issues"] {
        stores.descriptors.register_descriptor(&descriptor(id, id), false).await.unwrap();
    }
    let ids: Vec<String> =
        stores.descriptors.list_descriptors().await.unwrap().iter().map(|r| r.connector_id().to_owned()).collect();
    assert_eq!(ids, ["asana", "github-issues", "zendesk"]);

    let before = stores.descriptors.get_descriptor("asana").await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let updated = stores.descriptors.update_descriptor(&descriptor("asana", "Asana v2")).await.unwrap();
    let after = stores.descriptors.get_descriptor("asana").await.unwrap().unwrap();
    assert_eq!(after, updated);
    assert_eq!(after.descriptor.name, "Asana v2");
    assert_eq!(after.created_at, before.created_at);
    assert!(after.updated_at > before.updated_at);
    assert!(!after.built_in);
    assert!(stores.descriptors.get_descriptor("nope").await.unwrap().is_none());
}

/// Updating a descriptor nobody registered is an error, not an insert.
pub async fn updating_a_missing_descriptor_reports_not_found(backend: &impl Backend) {
    let stores = backend.stores().await;
    let err = stores.descriptors.update_descriptor(&descriptor("ghost", "Ghost")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "expected NotFound, got {err:?}");
    assert!(stores.descriptors.get_descriptor("ghost").await.unwrap().is_none());
}

/// Built-in descriptors stay: deleting one fails with an error that says why.
pub async fn deleting_a_built_in_descriptor_is_refused_with_a_clear_error(backend: &impl Backend) {
    let stores = backend.stores().await;
    stores.descriptors.register_descriptor(&descriptor(GITHUB, "GitHub"), true).await.unwrap();
    let err = stores.descriptors.delete_descriptor(GITHUB).await.unwrap_err();
    assert!(matches!(err, StoreError::BuiltInProtected { .. }), "expected BuiltInProtected, got {err:?}");
    assert_eq!(err.to_string(), "connector descriptor `github-issues` is built in and cannot be deleted");
    assert!(stores.descriptors.get_descriptor(GITHUB).await.unwrap().is_some());
}

/// A user descriptor is deleted; deleting it again reports it missing.
pub async fn a_user_descriptor_can_be_deleted_once(backend: &impl Backend) {
    let stores = backend.stores().await;
    stores.descriptors.register_descriptor(&descriptor("mine", "Mine"), false).await.unwrap();
    stores.descriptors.delete_descriptor("mine").await.unwrap();
    assert!(stores.descriptors.get_descriptor("mine").await.unwrap().is_none());
    let err = stores.descriptors.delete_descriptor("mine").await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "expected NotFound, got {err:?}");
}

/// Start-up writes shipped descriptors whether or not they exist, and marks them built in.
pub async fn writing_a_built_in_descriptor_at_start_up_replaces_it_and_protects_it(backend: &impl Backend) {
    let stores = backend.stores().await;
    let first = stores.descriptors.upsert_built_in(&descriptor(GITHUB, "GitHub 1")).await.unwrap();
    assert!(first.built_in);
    let second = stores.descriptors.upsert_built_in(&descriptor(GITHUB, "GitHub 2")).await.unwrap();
    assert_eq!(second.descriptor.name, "GitHub 2");
    assert_eq!(second.created_at, first.created_at);
    stores.descriptors.register_descriptor(&descriptor("user-made", "User"), false).await.unwrap();
    let promoted = stores.descriptors.upsert_built_in(&descriptor("user-made", "Shipped now")).await.unwrap();
    assert!(promoted.built_in);
    assert!(matches!(
        stores.descriptors.delete_descriptor("user-made").await,
        Err(StoreError::BuiltInProtected { .. })
    ));
}

// ---------------------------------------------------------------- instances

/// The conditional create refuses a duplicate.
pub async fn creating_an_instance_twice_is_refused(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let created = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap();
    assert!(created.enabled);
    assert_eq!(created.config["projectKey"], "p1-key");
    let err = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "expected AlreadyExists, got {err:?}");
    assert_eq!(stores.instances.get_instance(&created.key()).await.unwrap().unwrap(), created);
}

/// Instances need a registered connector.
pub async fn creating_an_instance_of_an_unknown_connector_is_refused(backend: &impl Backend) {
    let stores = backend.stores().await;
    let err = stores.create_instance(&new_instance("p1", "unknown"), &creds("k")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "expected NotFound, got {err:?}");
    assert!(stores.secrets.get_credentials(&InstanceKey::new("p1", "unknown")).await.unwrap().is_none());
}

/// A duplicate create with credentials must not overwrite the existing instance's secret.
pub async fn creating_an_existing_instance_again_keeps_its_credentials(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let record = stores.create_instance(&new_instance("p1", GITHUB), &creds("original")).await.unwrap();
    assert!(record.credential_secret_ref.is_some(), "the instance row records where its secret is");
    let err = stores.create_instance(&new_instance("p1", GITHUB), &creds("intruder")).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "expected AlreadyExists, got {err:?}");
    let versions = stores.secrets.get_credentials(&record.key()).await.unwrap().unwrap();
    assert_eq!(api_key(&versions.current), "original");
    assert!(versions.previous.is_none());
}

/// By project (the table's partition) and by connector (the GSI), each ordered.
pub async fn instances_are_listed_by_project_and_by_connector(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    for (project, connector) in [("p2", GITHUB), ("p1", JIRA), ("p1", GITHUB), ("p3", GITHUB)] {
        stores.instances.create_instance(&new_instance(project, connector)).await.unwrap();
    }
    let by_project: Vec<String> =
        stores.instances.list_instances_by_project("p1").await.unwrap().into_iter().map(|i| i.connector_id).collect();
    assert_eq!(by_project, [GITHUB, JIRA]);
    let by_connector: Vec<String> =
        stores.instances.list_instances_by_connector(GITHUB).await.unwrap().into_iter().map(|i| i.project_id).collect();
    assert_eq!(by_connector, ["p1", "p2", "p3"]);
    let jira = stores.instances.list_instances_by_connector(JIRA).await.unwrap();
    assert_eq!(jira.len(), 1);
    assert_eq!(jira[0].config["projectKey"], "p1-key");
    assert!(stores.instances.list_instances_by_project("nobody").await.unwrap().is_empty());
}

/// A partial update leaves the other fields alone; enable toggles.
pub async fn updating_an_instance_changes_only_the_given_fields(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let created = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap();
    let key = created.key();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let config = BTreeMap::from([("baseUrl".to_owned(), "https://ghe.example".to_owned())]);
    let updated = stores
        .instances
        .update_instance(&key, &InstanceUpdate { config: Some(config.clone()), ..InstanceUpdate::default() })
        .await
        .unwrap();
    assert_eq!(updated.config, config);
    assert!(updated.enabled);
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at > created.updated_at);
    stores.instances.enable_instance(&key, false).await.unwrap();
    let read = stores.instances.get_instance(&key).await.unwrap().unwrap();
    assert!(!read.enabled);
    assert_eq!(read.config, config);
}

/// An instance's managed webhook subscription is stored, kept by other updates and cleared.
pub async fn an_instance_keeps_its_webhook_subscription_until_it_is_cleared(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let created = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap();
    assert_eq!(created.subscription, None);
    let key = created.key();
    let state = SubscriptionState {
        status: SubscriptionStatus::Active,
        id: Some("hook-42".to_owned()),
        expires_at: Some(Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap()),
        webhook_url: "https://sb.example/webhooks/github-issues/p1".to_owned(),
        // The second alternative: the choice is stored, so renew and delete use it too.
        variant: 1,
        message: None,
        updated_at: Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap(),
    };
    let set = InstanceUpdate { subscription: Some(Some(state.clone())), ..InstanceUpdate::default() };
    assert_eq!(stores.instances.update_instance(&key, &set).await.unwrap().subscription, Some(state.clone()));
    stores.instances.enable_instance(&key, false).await.unwrap();
    stores.instances.record_health(&key, &HealthUpdate::SyncFailed { error: "x".into(), reauth: false }).await.unwrap();
    let read = stores.instances.get_instance(&key).await.unwrap().unwrap();
    assert_eq!(read.subscription, Some(state), "other updates keep the subscription");
    assert_eq!(stores.instances.list_instances_by_connector(GITHUB).await.unwrap()[0].subscription, read.subscription);
    let clear = InstanceUpdate { subscription: Some(None), ..InstanceUpdate::default() };
    assert_eq!(stores.instances.update_instance(&key, &clear).await.unwrap().subscription, None);
    assert_eq!(stores.instances.get_instance(&key).await.unwrap().unwrap().subscription, None);
}

/// Updates, enables and deletes of a missing instance are errors.
pub async fn updating_or_deleting_a_missing_instance_reports_not_found(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let key = InstanceKey::new("p9", GITHUB);
    let update = InstanceUpdate { enabled: Some(false), ..InstanceUpdate::default() };
    assert!(matches!(stores.instances.update_instance(&key, &update).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(stores.instances.enable_instance(&key, true).await, Err(StoreError::NotFound { .. })));
    let health = HealthUpdate::SyncFailed { error: "x".into(), reauth: false };
    assert!(matches!(stores.instances.record_health(&key, &health).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(stores.instances.delete_instance(&key).await, Err(StoreError::NotFound { .. })));
    assert!(matches!(stores.delete_instance(&key).await, Err(StoreError::NotFound { .. })));
    assert!(stores.instances.get_instance(&key).await.unwrap().is_none(), "an update must not create the instance");
}

/// Health fields: failures accumulate with the last error; a passing check clears them.
pub async fn health_failures_count_up_and_a_success_resets_them(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let key = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap().key();
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let failed = HealthUpdate::Checked { at, healthy: false, latency_ms: 900, error: Some("401 Unauthorized".into()) };
    stores.instances.record_health(&key, &failed).await.unwrap();
    let health = stores
        .instances
        .record_health(&key, &HealthUpdate::SyncFailed { error: "timeout".into(), reauth: false })
        .await
        .unwrap();
    assert_eq!((health.consecutive_failures, health.healthy), (2, false));
    assert_eq!(health.last_error.as_deref(), Some("timeout"));
    assert_eq!((health.last_health_check, health.last_latency_ms), (Some(at), Some(900)));

    let later = at + TimeDelta::minutes(5);
    stores
        .instances
        .record_health(&key, &HealthUpdate::Checked { at: later, healthy: true, latency_ms: 120, error: None })
        .await
        .unwrap();
    stores.instances.record_health(&key, &HealthUpdate::Synced { at: later }).await.unwrap();
    let health = stores.instances.get_instance(&key).await.unwrap().unwrap().health;
    assert_eq!((health.consecutive_failures, health.healthy, health.last_error), (0, true, None));
    assert_eq!((health.last_sync_at, health.last_latency_ms), (Some(later), Some(120)));
}

/// A poll run is recorded in one write: last poll, counts, backfill progress and health; a
/// re-auth failure sets the flag, an update clears it, and the instance's own interval is kept.
pub async fn poll_runs_add_up_on_the_instance_with_its_backfill_and_reauth_flag(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let key = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap().key();
    let t0 = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let progress =
        BackfillProgress { started_at: t0, pages: 2, items: 40, partitions_done: 1, partitions_total: Some(3) };
    let first = PollRecord {
        started_at: t0,
        items: 40,
        failed: false,
        health: None,
        backfill: Some(Some(progress.clone())),
        next_poll_at: None,
    };
    let record = stores.instances.record_poll(&key, &first).await.unwrap();
    assert_eq!(record.sync.backfill, Some(progress.clone()));
    assert_eq!((record.sync.last_polled_at, record.sync.change_count, record.sync.error_count), (Some(t0), 40, 0));
    assert_eq!(record.health.last_sync_at, None, "a run that stopped early is not a sync");

    let t1 = t0 + TimeDelta::minutes(1);
    let reauth = HealthUpdate::SyncFailed { error: "re-auth needed: invalid_grant".into(), reauth: true };
    let failed =
        PollRecord { started_at: t1, items: 0, failed: true, health: Some(reauth), backfill: None, next_poll_at: None };
    let record = stores.instances.record_poll(&key, &failed).await.unwrap();
    assert!(record.health.reauth_needed && record.sync.last_poll_failed);
    assert_eq!((record.sync.change_count, record.sync.error_count, record.health.consecutive_failures), (40, 1, 1));
    assert_eq!(record.sync.backfill, Some(progress), "a run without backfill news keeps the progress");

    let update = InstanceUpdate {
        reauth_needed: Some(false),
        polling_interval_seconds: Some(Some(900)),
        ..InstanceUpdate::default()
    };
    let record = stores.instances.update_instance(&key, &update).await.unwrap();
    assert!(!record.health.reauth_needed);
    assert_eq!(record.polling_interval_seconds, Some(900));

    let t2 = t1 + TimeDelta::minutes(1);
    let synced = PollRecord {
        started_at: t2,
        items: 5,
        failed: false,
        health: Some(HealthUpdate::Synced { at: t2 }),
        backfill: Some(None),
        next_poll_at: Some(t2 + TimeDelta::minutes(15)),
    };
    stores.instances.record_poll(&key, &synced).await.unwrap();
    let read = stores.instances.get_instance(&key).await.unwrap().unwrap();
    assert_eq!((read.sync.backfill, read.sync.change_count, read.sync.last_poll_failed), (None, 45, false));
    assert_eq!((read.health.consecutive_failures, read.health.last_sync_at), (0, Some(t2)));
    assert_eq!(read.polling_interval_seconds, Some(900), "a poll run keeps the instance's interval");
    let update = InstanceUpdate { polling_interval_seconds: Some(None), ..InstanceUpdate::default() };
    assert_eq!(stores.instances.update_instance(&key, &update).await.unwrap().polling_interval_seconds, None);
    let missing = InstanceKey::new("p9", GITHUB);
    assert!(matches!(stores.instances.record_poll(&missing, &synced).await, Err(StoreError::NotFound { .. })));
}

/// The notified health state moves by compare-and-set: of writers expecting the same state,
/// exactly one wins; other updates never touch it.
pub async fn the_notified_health_state_moves_by_compare_and_set(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let key = stores.instances.create_instance(&new_instance("p1", GITHUB)).await.unwrap().key();
    let t0 = Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap();
    let mut attempts = JoinSet::new();
    for i in 0..4 {
        let instances = stores.instances.clone();
        let key = key.clone();
        let at = t0 + TimeDelta::milliseconds(i);
        attempts.spawn(async move { instances.set_health_alert(&key, None, Some(HealthAlert::Failing), at).await });
    }
    let won: Vec<bool> = attempts.join_all().await.into_iter().map(Result::unwrap).collect();
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let health = stores.instances.get_instance(&key).await.unwrap().unwrap().health;
    assert_eq!(health.alert, Some(HealthAlert::Failing));
    let at = health.alert_changed_at.expect("set");

    stores.instances.record_health(&key, &HealthUpdate::Synced { at: t0 }).await.unwrap();
    stores.instances.enable_instance(&key, false).await.unwrap();
    let health = stores.instances.get_instance(&key).await.unwrap().unwrap().health;
    assert_eq!((health.alert, health.alert_changed_at), (Some(HealthAlert::Failing), Some(at)), "kept by other writes");

    let t1 = t0 + TimeDelta::minutes(1);
    assert!(!stores.instances.set_health_alert(&key, None, None, t1).await.unwrap(), "a stale expectation loses");
    assert!(stores.instances.set_health_alert(&key, Some(at), None, t1).await.unwrap());
    let health = stores.instances.get_instance(&key).await.unwrap().unwrap().health;
    assert_eq!((health.alert, health.alert_changed_at), (None, Some(t1)));
    let missing = InstanceKey::new("p9", GITHUB);
    assert!(matches!(
        stores.instances.set_health_alert(&missing, None, None, t1).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Deleting an instance takes its credentials and checkpoint with it; other instances keep theirs.
pub async fn deleting_an_instance_removes_its_secret_and_checkpoint(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let doomed = stores.create_instance(&new_instance("p1", GITHUB), &creds("doomed")).await.unwrap().key();
    let kept = stores.create_instance(&new_instance("p2", GITHUB), &creds("kept")).await.unwrap().key();
    for key in [&doomed, &kept] {
        stores.checkpoints.advance_checkpoint(key, 0, "2025-01-01T00:00:00Z").await.unwrap();
    }
    stores.delete_instance(&doomed).await.unwrap();
    assert!(stores.instances.get_instance(&doomed).await.unwrap().is_none());
    assert!(stores.secrets.get_credentials(&doomed).await.unwrap().is_none(), "the secret must be deleted");
    assert!(stores.checkpoints.read_checkpoint(&doomed).await.unwrap().is_none(), "the checkpoint must be deleted");
    assert_eq!(api_key(&stores.secrets.get_credentials(&kept).await.unwrap().unwrap().current), "kept");
    assert!(stores.checkpoints.read_checkpoint(&kept).await.unwrap().is_some());
    let names: Vec<String> =
        stores.instances.list_instances_by_connector(GITHUB).await.unwrap().into_iter().map(|i| i.project_id).collect();
    assert_eq!(names, ["p2"]);
    // The same instance can be created again afterwards, with fresh credentials.
    stores.create_instance(&new_instance("p1", GITHUB), &creds("reborn")).await.unwrap();
    let versions = stores.secrets.get_credentials(&doomed).await.unwrap().unwrap();
    assert_eq!(api_key(&versions.current), "reborn");
}

// ---------------------------------------------------------------- checkpoints

/// No checkpoint reads as `None`; the first advance expects version 0 and creates version 1.
pub async fn the_first_checkpoint_advance_creates_version_one(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    assert!(stores.checkpoints.read_checkpoint(&key).await.unwrap().is_none());
    let first = stores.checkpoints.advance_checkpoint(&key, 0, "cursor-1").await.unwrap();
    assert_eq!((first.version, first.value.as_str()), (1, "cursor-1"));
    assert_eq!(stores.checkpoints.read_checkpoint(&key).await.unwrap().unwrap(), first);
    let err = stores.checkpoints.advance_checkpoint(&key, 0, "cursor-0").await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "creating twice must fail, got {err:?}");
}

/// A writer holding an old version cannot overwrite a newer checkpoint.
pub async fn advancing_from_a_stale_version_fails_and_never_moves_backwards(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    stores.checkpoints.advance_checkpoint(&key, 0, "2025-01-01T00:00:00Z").await.unwrap();
    let v2 = stores.checkpoints.advance_checkpoint(&key, 1, "2025-01-02T00:00:00Z").await.unwrap();
    assert_eq!(v2.version, 2);
    let err = stores.checkpoints.advance_checkpoint(&key, 1, "2025-01-01T12:00:00Z").await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "expected ConditionFailed, got {err:?}");
    assert!(err.to_string().contains("version 1"), "the error names the stale version: {err}");
    let err = stores.checkpoints.advance_checkpoint(&key, 7, "2030-01-01T00:00:00Z").await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "a version from the future fails too, got {err:?}");
    let current = stores.checkpoints.read_checkpoint(&key).await.unwrap().unwrap();
    assert_eq!((current.version, current.value.as_str()), (2, "2025-01-02T00:00:00Z"));
}

/// Racing pollers that read the same version: exactly one advance succeeds.
pub async fn concurrent_checkpoint_advances_from_one_version_let_exactly_one_win(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    stores.checkpoints.advance_checkpoint(&key, 0, "start").await.unwrap();
    let mut racers = JoinSet::new();
    for i in 0..6 {
        let (stores, key) = (stores.clone(), key.clone());
        racers.spawn(async move { stores.checkpoints.advance_checkpoint(&key, 1, &format!("racer-{i}")).await });
    }
    let results = racers.join_all().await;
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one racer wins: {results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, StoreError::ConditionFailed(_))));
    assert_eq!(stores.checkpoints.read_checkpoint(&key).await.unwrap().unwrap().value, winners[0].value);
}

// ---------------------------------------------------------------- leases

/// Pollers racing for one instance: exactly one gets the lease.
pub async fn two_concurrent_lease_holders_exactly_one_wins(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    let mut racers = JoinSet::new();
    for holder in ["poller-a", "poller-b", "poller-c", "poller-d"] {
        let (stores, key) = (stores.clone(), key.clone());
        racers.spawn(async move { stores.leases.acquire_lease(&key, holder, Duration::from_secs(60)).await.unwrap() });
    }
    let winners: Vec<_> = racers.join_all().await.into_iter().flatten().collect();
    assert_eq!(winners.len(), 1, "exactly one holder wins: {winners:?}");
    let loser = if winners[0].holder == "poller-a" { "poller-b" } else { "poller-a" };
    assert!(stores.leases.acquire_lease(&key, loser, Duration::from_secs(60)).await.unwrap().is_none());
    let other = InstanceKey::new("p1", JIRA);
    assert!(stores.leases.acquire_lease(&other, loser, Duration::from_secs(60)).await.unwrap().is_some());
}

/// A crashed holder's lease lapses; someone else takes it, and the old holder cannot renew.
pub async fn an_expired_lease_can_be_taken_over_and_the_old_holder_cannot_renew(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    assert!(stores.leases.acquire_lease(&key, "crashed", Duration::from_secs(1)).await.unwrap().is_some());
    assert!(stores.leases.acquire_lease(&key, "successor", Duration::from_secs(60)).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let lease = stores.leases.acquire_lease(&key, "successor", Duration::from_secs(60)).await.unwrap();
    assert_eq!(lease.map(|l| l.holder).as_deref(), Some("successor"));
    let err = stores.leases.renew_lease(&key, "crashed", Duration::from_secs(60)).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "expected ConditionFailed, got {err:?}");
    stores.leases.release_lease(&key, "crashed").await.unwrap();
    assert!(stores.leases.acquire_lease(&key, "third", Duration::from_secs(60)).await.unwrap().is_none());
}

/// Renewing extends; releasing frees the lease for others at once.
pub async fn a_lease_holder_can_renew_and_release(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    let first = stores.leases.acquire_lease(&key, "me", Duration::from_secs(10)).await.unwrap().unwrap();
    let renewed = stores.leases.renew_lease(&key, "me", Duration::from_secs(120)).await.unwrap();
    assert!(renewed.expires_at > first.expires_at);
    let again = stores.leases.acquire_lease(&key, "me", Duration::from_secs(30)).await.unwrap();
    assert!(again.is_some(), "the holder may re-acquire its own lease");
    assert!(stores.leases.acquire_lease(&key, "you", Duration::from_secs(30)).await.unwrap().is_none());
    stores.leases.release_lease(&key, "me").await.unwrap();
    assert!(stores.leases.acquire_lease(&key, "you", Duration::from_secs(30)).await.unwrap().is_some());
}

// ---------------------------------------------------------------- dedup

/// The second insert of a key within its TTL is a duplicate, also when racing.
pub async fn inserting_a_dedup_key_twice_reports_a_duplicate(backend: &impl Backend) {
    let stores = backend.stores().await;
    let ttl = Duration::from_secs(3600);
    assert_eq!(stores.dedup.insert_if_absent("sig-1", ttl).await.unwrap(), DedupOutcome::Inserted);
    assert_eq!(stores.dedup.insert_if_absent("sig-1", ttl).await.unwrap(), DedupOutcome::Duplicate);
    assert_eq!(stores.dedup.insert_if_absent("sig-2", ttl).await.unwrap(), DedupOutcome::Inserted);
    let mut racers = JoinSet::new();
    for _ in 0..5 {
        let stores = stores.clone();
        racers.spawn(async move { stores.dedup.insert_if_absent("sig-race", ttl).await.unwrap() });
    }
    let outcomes = racers.join_all().await;
    assert_eq!(outcomes.iter().filter(|o| **o == DedupOutcome::Inserted).count(), 1, "{outcomes:?}");
}

/// After its TTL a key counts as new again.
pub async fn an_expired_dedup_key_is_accepted_again(backend: &impl Backend) {
    let stores = backend.stores().await;
    assert_eq!(stores.dedup.insert_if_absent("sig", Duration::from_secs(1)).await.unwrap(), DedupOutcome::Inserted);
    assert_eq!(stores.dedup.insert_if_absent("sig", Duration::from_secs(1)).await.unwrap(), DedupOutcome::Duplicate);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(stores.dedup.insert_if_absent("sig", Duration::from_secs(60)).await.unwrap(), DedupOutcome::Inserted);
    assert_eq!(stores.dedup.insert_if_absent("sig", Duration::from_secs(60)).await.unwrap(), DedupOutcome::Duplicate);
}

/// Forgetting a key (its downstream send failed) lets the retry through; unknown keys are fine.
pub async fn a_forgotten_dedup_key_is_inserted_again(backend: &impl Backend) {
    let stores = backend.stores().await;
    let ttl = Duration::from_secs(3600);
    assert_eq!(stores.dedup.insert_if_absent("sig-1", ttl).await.unwrap(), DedupOutcome::Inserted);
    assert_eq!(stores.dedup.insert_if_absent("sig-2", ttl).await.unwrap(), DedupOutcome::Inserted);
    stores.dedup.forget("sig-1").await.unwrap();
    assert_eq!(stores.dedup.insert_if_absent("sig-1", ttl).await.unwrap(), DedupOutcome::Inserted);
    assert_eq!(stores.dedup.insert_if_absent("sig-1", ttl).await.unwrap(), DedupOutcome::Duplicate);
    assert_eq!(stores.dedup.insert_if_absent("sig-2", ttl).await.unwrap(), DedupOutcome::Duplicate, "others stay");
    stores.dedup.forget("never-seen").await.unwrap();
}

/// A short claim confirmed for longer stays a duplicate past the claim's expiry; confirming an
/// unknown key records it.
pub async fn a_confirmed_dedup_key_outlives_its_claim(backend: &impl Backend) {
    let stores = backend.stores().await;
    let (claim, lasting) = (Duration::from_secs(1), Duration::from_secs(3600));
    assert_eq!(stores.dedup.insert_if_absent("sig-claimed", claim).await.unwrap(), DedupOutcome::Inserted);
    assert_eq!(stores.dedup.insert_if_absent("sig-unconfirmed", claim).await.unwrap(), DedupOutcome::Inserted);
    stores.dedup.confirm("sig-claimed", lasting).await.unwrap();
    stores.dedup.confirm("sig-new", lasting).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(stores.dedup.insert_if_absent("sig-claimed", claim).await.unwrap(), DedupOutcome::Duplicate);
    assert_eq!(stores.dedup.insert_if_absent("sig-new", claim).await.unwrap(), DedupOutcome::Duplicate);
    assert_eq!(stores.dedup.insert_if_absent("sig-unconfirmed", claim).await.unwrap(), DedupOutcome::Inserted);
}

// ---------------------------------------------------------------- secrets

/// Each put rotates: the new value is current, the one before it previous.
pub async fn rotating_credentials_exposes_current_and_previous(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    let first_ref = stores.secrets.put_credentials(&key, &creds("v1")).await.unwrap();
    let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(api_key(&versions.current), "v1");
    assert!(versions.previous.is_none());

    let second_ref = stores.secrets.put_credentials(&key, &creds("v2")).await.unwrap();
    assert_eq!(first_ref, second_ref, "rotation keeps the same secret");
    let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(api_key(&versions.current), "v2");
    assert_eq!(versions.previous.as_ref().map(api_key).as_deref(), Some("v1"));

    let mut oauth = creds("v3");
    oauth.insert("refreshToken", "r3");
    stores.secrets.put_credentials(&key, &oauth).await.unwrap();
    let versions = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(versions.current.keys().collect::<Vec<_>>(), ["apiKey", "refreshToken"]);
    assert_eq!(versions.previous.as_ref().map(api_key).as_deref(), Some("v2"));
    assert!(!format!("{versions:?}").contains("r3"), "Debug output must not show secret values");
}

/// A compare-and-swap write succeeds only from the version it read: creating requires no secret,
/// replacing requires the current version; a stale writer fails and changes nothing.
pub async fn a_credential_write_from_a_stale_version_fails(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    let first = stores.secrets.put_credentials_if(&key, None, &creds("v1")).await.unwrap();
    let err = stores.secrets.put_credentials_if(&key, None, &creds("v1-again")).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "creating twice must fail, got {err:?}");
    let read = stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap();
    assert_eq!((api_key(&read.current), &read.version), ("v1".to_owned(), &first.version));

    let second = stores.secrets.put_credentials_if(&key, Some(&first.version), &creds("v2")).await.unwrap();
    assert_ne!(second.version, first.version);
    assert_eq!(second.secret_ref, first.secret_ref, "the same secret, a new version");
    let err = stores.secrets.put_credentials_if(&key, Some(&first.version), &creds("stale")).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "a stale version must fail, got {err:?}");
    assert!(!err.to_string().contains("stale"), "errors never quote credential values: {err}");
    let read = stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap();
    assert_eq!(api_key(&read.current), "v2");
    assert_eq!(read.previous.as_ref().map(api_key).as_deref(), Some("v1"));

    // An unconditional write moves the version on too, so a writer that read before it fails.
    stores.secrets.put_credentials(&key, &creds("v3")).await.unwrap();
    let err = stores.secrets.put_credentials_if(&key, Some(&second.version), &creds("lost")).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "expected ConditionFailed, got {err:?}");
    stores.secrets.delete_credentials(&key).await.unwrap();
    let err = stores.secrets.put_credentials_if(&key, Some(&second.version), &creds("gone")).await.unwrap_err();
    assert!(matches!(err, StoreError::ConditionFailed(_)), "a deleted secret has no version, got {err:?}");
}

/// A registry PATCH of a non-token field races an OAuth2 token refresh, many times over: after
/// each race both changes are stored (neither writer overwrites the other's field).
pub async fn a_credential_patch_racing_a_token_refresh_keeps_both_updates(backend: &impl Backend) {
    let stores = stores_with_connectors(backend).await;
    let key = InstanceKey::new("p1", GITHUB);
    let initial: Credentials =
        [("clientId", "client"), ("clientSecret", "s0"), ("accessToken", "a0"), ("refreshToken", "r0")]
            .into_iter()
            .collect();
    stores.create_instance(&new_instance("p1", GITHUB), &initial).await.unwrap();
    for round in 1..=25 {
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let patch = {
            let (stores, key, barrier) = (stores.clone(), key.clone(), barrier.clone());
            let sent: Credentials = [("clientSecret", format!("s{round}"))].into_iter().collect();
            tokio::spawn(async move {
                barrier.wait().await;
                stores.update_credentials(&key, &CredentialChange::merge(&sent)).await
            })
        };
        let refresh = {
            let (stores, key, barrier) = (stores.clone(), key.clone(), barrier.clone());
            // The refresher's snapshot still has the old client secret: only its tokens may land.
            let refreshed: Credentials = [
                ("clientId", "client".to_owned()),
                ("clientSecret", format!("s{}", round - 1)),
                ("accessToken", format!("a{round}")),
                ("refreshToken", format!("r{round}")),
            ]
            .into_iter()
            .collect();
            tokio::spawn(async move {
                barrier.wait().await;
                stores.secrets.update_credentials(&key, &CredentialChange::oauth_tokens(&refreshed)).await
            })
        };
        patch.await.unwrap().unwrap();
        refresh.await.unwrap().unwrap();
        let stored = stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap().current;
        let value = |field: &str| stored.get(field).unwrap().expose_secret().to_owned();
        assert_eq!(value("clientSecret"), format!("s{round}"), "round {round}: the PATCH was lost");
        assert_eq!(value("accessToken"), format!("a{round}"), "round {round}: the refreshed access token was lost");
        assert_eq!(value("refreshToken"), format!("r{round}"), "round {round}: the rotated refresh token was lost");
        assert_eq!(value("clientId"), "client");
    }
    let record = stores.instances.get_instance(&key).await.unwrap().unwrap();
    assert!(record.credential_secret_ref.is_some(), "the instance points at its secret");
    let err =
        stores.update_credentials(&InstanceKey::new("nobody", GITHUB), &CredentialChange::merge(&creds("x"))).await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "no secret without an instance, got {err:?}");
}

/// The previous version carries when it stopped being current, so it can be honoured for a
/// grace period only.
pub async fn the_previous_credentials_carry_when_they_were_replaced(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    stores.secrets.put_credentials(&key, &creds("v1")).await.unwrap();
    let first = stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap();
    assert!(first.previous.is_none() && first.previous_replaced_at.is_none(), "{first:?}");
    let grace = Duration::from_secs(24 * 3600);
    assert!(first.previous_within(grace, Utc::now()).is_none());

    // Secrets Manager keeps whole seconds.
    let before = Utc::now() - TimeDelta::seconds(1);
    stores.secrets.update_credentials(&key, &CredentialChange::merge(&creds("v2"))).await.unwrap();
    let after = Utc::now() + TimeDelta::seconds(1);
    let versions = stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap();
    let replaced_at = versions.previous_replaced_at.expect("a rotation records when it happened");
    assert!(before <= replaced_at && replaced_at <= after, "{replaced_at} not within {before}..{after}");
    let previous = versions.previous_within(grace, Utc::now()).expect("within the grace period");
    assert_eq!(api_key(previous), "v1");
    assert!(versions.previous_within(grace, replaced_at + TimeDelta::hours(25)).is_none());
    let cached = stores.secrets.get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(cached.previous_replaced_at, Some(replaced_at));
}

/// Reading credentials never stored is `None`; deleting is idempotent.
pub async fn missing_credentials_read_as_none_and_delete_is_idempotent(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    assert!(stores.secrets.get_credentials(&key).await.unwrap().is_none());
    stores.secrets.delete_credentials(&key).await.unwrap();
    stores.secrets.put_credentials(&key, &creds("v1")).await.unwrap();
    stores.secrets.delete_credentials(&key).await.unwrap();
    stores.secrets.delete_credentials(&key).await.unwrap();
    assert!(stores.secrets.get_credentials(&key).await.unwrap().is_none());
}

// ---------------------------------------------------------------- stats

/// Counts recorded in the same hour add up; the range query is per instance and per hour.
pub async fn signal_counts_add_up_per_hour(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    let nine = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap();
    let counts = |signals, ignored| SignalCounts { signals, ignored, duplicates: 1, failed: 0 };
    stores.stats.add_signal_counts(&key, nine + TimeDelta::minutes(5), counts(3, 1)).await.unwrap();
    stores.stats.add_signal_counts(&key, nine + TimeDelta::minutes(55), counts(4, 0)).await.unwrap();
    stores.stats.add_signal_counts(&key, nine + TimeDelta::minutes(65), counts(2, 2)).await.unwrap();
    stores.stats.add_signal_counts(&InstanceKey::new("p2", GITHUB), nine, counts(100, 0)).await.unwrap();
    let hours = stores.stats.signal_counts(&key, nine - TimeDelta::hours(1), nine + TimeDelta::hours(3)).await.unwrap();
    assert_eq!(hours.len(), 2);
    assert_eq!(
        (hours[0].hour, hours[0].counts),
        (nine, SignalCounts { signals: 7, ignored: 1, duplicates: 2, failed: 0 })
    );
    assert_eq!(hours[1].hour, nine + TimeDelta::hours(1));
    assert_eq!(hours[1].counts.signals, 2);
    let only_ten =
        stores.stats.signal_counts(&key, nine + TimeDelta::hours(1), nine + TimeDelta::hours(2)).await.unwrap();
    assert_eq!(only_ten.len(), 1);
}

/// The sync-run log comes back newest first, limited.
pub async fn sync_runs_are_listed_newest_first(backend: &impl Backend) {
    let stores = backend.stores().await;
    let key = InstanceKey::new("p1", GITHUB);
    let start = Utc::now() - TimeDelta::hours(1);
    for i in 0..4u32 {
        let failed = i == 3;
        let run = SyncRun {
            started_at: start + TimeDelta::minutes(i64::from(i) * 5),
            status: if failed { SyncStatus::Failed } else { SyncStatus::Succeeded },
            pages: i,
            items: u64::from(i) * 10,
            duration_ms: 1500,
            error: failed.then(|| "HTTP 500 from the API".to_owned()),
        };
        stores.stats.record_sync_run(&key, &run).await.unwrap();
    }
    let runs = stores.stats.recent_sync_runs(&key, 3).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.pages).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(runs[0].status, SyncStatus::Failed);
    assert_eq!(runs[0].error.as_deref(), Some("HTTP 500 from the API"));
    assert_eq!((runs[1].items, runs[1].duration_ms, runs[1].error.as_deref()), (20, 1500, None));
    assert!(stores.stats.recent_sync_runs(&InstanceKey::new("p1", JIRA), 10).await.unwrap().is_empty());
}

// ---------------------------------------------------------------- recent signals

/// Newest `timestamp` first, whatever the write order, fraction digits or UTC offset; another
/// project's signals stay out; a signal reads back as written.
pub async fn signals_are_listed_newest_first_per_project(backend: &impl Backend) {
    let stores = backend.stores().await;
    let written = [
        signal("p1", "sig-b", "issue_opened", "2025-03-01T10:00:00Z", &[]),
        signal("p1", "sig-c", "issue_opened", "2025-03-01T10:00:00.5Z", &["PROJ-1"]),
        signal("p1", "sig-a", "issue_opened", "2025-03-01T09:59:59.999Z", &[]),
        signal("p1", "sig-d", "issue_closed", "2025-03-01T11:30:00+02:00", &[]),
        signal("p2", "sig-x", "issue_opened", "2025-03-01T12:00:00Z", &[]),
    ];
    put_signals(&stores, &written, DAY).await;
    let page = list(&stores, "p1", SignalQuery::default()).await;
    assert_eq!(ids(&page), ["sig-c", "sig-b", "sig-a", "sig-d"]);
    assert_eq!(page.next_token, None, "everything fits in one page");
    assert_eq!(page.signals[0], written[1], "a signal reads back exactly as written");
    assert_eq!(ids(&list(&stores, "p2", SignalQuery::default()).await), ["sig-x"]);
    assert!(list(&stores, "nobody", SignalQuery::default()).await.signals.is_empty());
}

/// `since` (inclusive), `signalType` and `related` narrow the listing, alone and combined;
/// `related` matches whole references only.
pub async fn signals_can_be_filtered_by_since_type_and_related_item(backend: &impl Backend) {
    let stores = backend.stores().await;
    put_signals(
        &stores,
        &[
            signal("p1", "s1", "opened", "2025-03-01T08:00:00Z", &["PROJ-1"]),
            signal("p1", "s2", "closed", "2025-03-01T09:00:00Z", &["PROJ-1", "PROJ-2"]),
            signal("p1", "s3", "opened", "2025-03-01T10:00:00Z", &["PROJ-2"]),
            signal("p1", "s4", "opened", "2025-03-01T11:00:00Z", &[]),
        ],
        DAY,
    )
    .await;
    let nine = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap();
    let query = |since, signal_type: Option<&str>, related: Option<&str>| SignalQuery {
        since,
        signal_type: signal_type.map(str::to_owned),
        related: related.map(str::to_owned),
        ..SignalQuery::default()
    };
    assert_eq!(ids(&list(&stores, "p1", query(Some(nine), None, None)).await), ["s4", "s3", "s2"]);
    assert_eq!(ids(&list(&stores, "p1", query(None, Some("opened"), None)).await), ["s4", "s3", "s1"]);
    assert_eq!(ids(&list(&stores, "p1", query(None, None, Some("PROJ-1"))).await), ["s2", "s1"]);
    assert_eq!(ids(&list(&stores, "p1", query(Some(nine), Some("opened"), Some("PROJ-2"))).await), ["s3"]);
    assert!(list(&stores, "p1", query(None, None, Some("PROJ"))).await.signals.is_empty());
    assert!(list(&stores, "p1", query(None, Some("merged"), None)).await.signals.is_empty());
}

/// `source` and `priority` narrow the listing to one connector's signals and one priority.
pub async fn signals_can_be_filtered_by_source_and_priority(backend: &impl Backend) {
    let stores = backend.stores().await;
    let mut urgent_pr = signal("p1", "s1", "opened", "2025-03-01T08:00:00Z", &[]);
    urgent_pr.source = "github-prs".into();
    urgent_pr.priority = Some(Priority::High);
    let mut urgent_issue = signal("p1", "s2", "opened", "2025-03-01T09:00:00Z", &[]);
    urgent_issue.priority = Some(Priority::High);
    let mut calm_pr = signal("p1", "s3", "opened", "2025-03-01T10:00:00Z", &[]);
    calm_pr.source = "github-prs".into();
    calm_pr.priority = Some(Priority::Low);
    let unranked = signal("p1", "s4", "opened", "2025-03-01T11:00:00Z", &[]);
    put_signals(&stores, &[urgent_pr, urgent_issue, calm_pr, unranked], DAY).await;
    let query = |source: Option<&str>, priority| SignalQuery {
        source: source.map(str::to_owned),
        priority,
        ..SignalQuery::default()
    };
    assert_eq!(ids(&list(&stores, "p1", query(Some("github-prs"), None)).await), ["s3", "s1"]);
    assert_eq!(ids(&list(&stores, "p1", query(None, Some(Priority::High))).await), ["s2", "s1"]);
    assert_eq!(ids(&list(&stores, "p1", query(Some("github-prs"), Some(Priority::High))).await), ["s1"]);
    assert!(list(&stores, "p1", query(Some("github"), None)).await.signals.is_empty());
    assert!(list(&stores, "p1", query(None, Some(Priority::Critical))).await.signals.is_empty());
}

/// Page by page, every signal comes exactly once and in order (ties in `timestamp` too), with
/// and without a filter, and the last page carries no token.
pub async fn paging_through_signals_returns_each_signal_once(backend: &impl Backend) {
    let stores = backend.stores().await;
    let base = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap();
    let mut written = Vec::new();
    for i in 0..13i64 {
        // Signals 5 and 6 share a timestamp.
        let at = base + TimeDelta::minutes(if i == 6 { 5 } else { i });
        let kind = if i % 3 == 0 { "closed" } else { "opened" };
        written.push(signal("p1", &format!("sig-{i:02}"), kind, &switchboard_core::signal::rfc3339(at), &[]));
    }
    put_signals(&stores, &written, DAY).await;
    let mut newest_first: Vec<&NormalisedSignal> = written.iter().collect();
    newest_first.sort_by(|a, b| (&b.timestamp, &b.id).cmp(&(&a.timestamp, &a.id)));
    let expected = |kind: Option<&str>| -> Vec<String> {
        newest_first.iter().filter(|s| kind.is_none_or(|k| s.signal_type == k)).map(|s| s.id.clone()).collect()
    };

    let pages = all_pages(&stores, "p1", SignalQuery { limit: 5, ..SignalQuery::default() }).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 3]);
    assert_eq!(pages.concat(), expected(None));

    let opened = SignalQuery { limit: 4, signal_type: Some("opened".into()), ..SignalQuery::default() };
    let pages = all_pages(&stores, "p1", opened).await;
    assert_eq!(pages.concat(), expected(Some("opened")), "filtered pages");
    assert_eq!(pages.len(), 2, "eight matches in pages of four: {pages:?}");

    let since = SignalQuery { limit: 2, since: Some(base + TimeDelta::minutes(9)), ..SignalQuery::default() };
    assert_eq!(all_pages(&stores, "p1", since).await.concat(), expected(None)[..4]);

    let everything = list(&stores, "p1", SignalQuery::default()).await;
    assert_eq!((everything.signals.len(), everything.next_token), (13, None), "limit 0 means the default page");
}

/// A filter that matches only a few old signals among many still finds each of them once,
/// however many records a store must read past (a page may come back short, never wrong).
pub async fn a_sparse_filter_still_pages_through_every_match(backend: &impl Backend) {
    let stores = backend.stores().await;
    let base = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let written: Vec<NormalisedSignal> = (0..120i64)
        .map(|i| {
            let related: &[&str] = if i < 2 { &["PROJ-9"] } else { &["PROJ-1"] };
            signal(
                "p1",
                &format!("sig-{i:03}"),
                "opened",
                &switchboard_core::signal::rfc3339(base + TimeDelta::minutes(i)),
                related,
            )
        })
        .collect();
    put_signals(&stores, &written, DAY).await;
    let rare = SignalQuery { limit: 1, related: Some("PROJ-9".into()), ..SignalQuery::default() };
    let pages = all_pages(&stores, "p1", rare).await;
    assert_eq!(pages.concat(), ["sig-001", "sig-000"], "pages: {pages:?}");
    assert!(pages.iter().all(|page| page.len() <= 1), "no page exceeds its limit: {pages:?}");
}

/// Expired signals vanish from listings even before any clean-up has run.
pub async fn expired_signals_are_hidden(backend: &impl Backend) {
    let stores = backend.stores().await;
    let fleeting = signal("p1", "fleeting", "opened", "2025-03-01T10:00:00Z", &[]);
    let lasting = signal("p1", "lasting", "opened", "2025-03-01T09:00:00Z", &[]);
    stores.signals.put_signal(&fleeting, Duration::from_secs(1)).await.unwrap();
    stores.signals.put_signal(&lasting, DAY).await.unwrap();
    assert_eq!(ids(&list(&stores, "p1", SignalQuery::default()).await), ["fleeting", "lasting"]);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(ids(&list(&stores, "p1", SignalQuery::default()).await), ["lasting"]);
}

/// A redelivered signal (same id) is stored once; the later write wins.
pub async fn putting_the_same_signal_twice_keeps_one_copy(backend: &impl Backend) {
    let stores = backend.stores().await;
    let mut first = signal("p1", "sig-1", "opened", "2025-03-01T10:00:00Z", &[]);
    stores.signals.put_signal(&first, DAY).await.unwrap();
    first.summary = "Written again".into();
    stores.signals.put_signal(&first, DAY).await.unwrap();
    let page = list(&stores, "p1", SignalQuery::default()).await;
    assert_eq!(ids(&page), ["sig-1"]);
    assert_eq!(page.signals[0].summary, "Written again");
}

/// A token the store did not issue is invalid input: an error, never a panic or a wrong page.
pub async fn a_garbage_next_token_is_invalid(backend: &impl Backend) {
    let stores = backend.stores().await;
    stores.signals.put_signal(&signal("p1", "sig-1", "opened", "2025-03-01T10:00:00Z", &[]), DAY).await.unwrap();
    for token in ["garbage!", "", "bm90LWEta2V5", "%%%", "MjAyNSNzaWc"] {
        let query = SignalQuery { next_token: Some(token.to_owned()), ..SignalQuery::default() };
        let result = stores.signals.list_signals("p1", &query).await;
        assert!(matches!(result, Err(StoreError::Invalid(_))), "token {token:?} gave {result:?}");
    }
}

// ---------------------------------------------------------------- rate limits

/// Waits for the next window unless at least `needed` of the current one is left, so that a
/// test's requests all fall in one window.
async fn early_in_a_window(window: Duration, needed: Duration) {
    let now = Utc::now().timestamp_millis();
    let rest = FixedWindow::containing(now, window).unwrap().rest(now);
    if rest < needed {
        tokio::time::sleep(rest + Duration::from_millis(20)).await;
    }
}

/// `limit` requests pass with a falling `remaining`; the next is refused for the rest of the
/// window; other keys count separately; a limit of 0 refuses everything.
pub async fn a_rate_limit_allows_limit_requests_then_refuses_for_the_rest_of_the_window(backend: &impl Backend) {
    let stores = backend.stores().await;
    let window = Duration::from_secs(3600);
    early_in_a_window(window, Duration::from_secs(15)).await;
    for remaining in [2, 1, 0] {
        assert_eq!(
            stores.rate_limits.acquire("p1/github", 3, window).await.unwrap(),
            RateDecision::Allowed { remaining }
        );
    }
    for _ in 0..2 {
        let decision = stores.rate_limits.acquire("p1/github", 3, window).await.unwrap();
        let RateDecision::Limited { retry_after } = decision else { panic!("expected Limited, got {decision:?}") };
        assert!(retry_after > Duration::ZERO && retry_after <= window, "retry after {retry_after:?}");
    }
    assert_eq!(
        stores.rate_limits.acquire("p2/github", 3, window).await.unwrap(),
        RateDecision::Allowed { remaining: 2 }
    );
    let closed = stores.rate_limits.acquire("p3/github", 0, window).await.unwrap();
    assert!(matches!(closed, RateDecision::Limited { .. }), "a limit of 0 allows nothing: {closed:?}");
}

/// Twenty callers racing for ten slots: exactly ten get through, each with its own `remaining`.
pub async fn concurrent_acquires_never_exceed_the_limit(backend: &impl Backend) {
    let stores = backend.stores().await;
    let window = Duration::from_secs(3600);
    early_in_a_window(window, Duration::from_secs(20)).await;
    let mut racers = JoinSet::new();
    for _ in 0..20 {
        let stores = stores.clone();
        racers.spawn(async move { stores.rate_limits.acquire("p1/github", 10, window).await.unwrap() });
    }
    let decisions = racers.join_all().await;
    let mut remaining: Vec<u32> = decisions
        .iter()
        .filter_map(|d| match d {
            RateDecision::Allowed { remaining } => Some(*remaining),
            RateDecision::Limited { .. } => None,
        })
        .collect();
    remaining.sort_unstable();
    assert_eq!(remaining, (0..10).collect::<Vec<_>>(), "exactly ten allowed: {decisions:?}");
}

/// When the window ends, the count starts again.
pub async fn a_new_window_resets_the_count(backend: &impl Backend) {
    let stores = backend.stores().await;
    let window = Duration::from_secs(2);
    early_in_a_window(window, Duration::from_millis(1500)).await;
    assert_eq!(
        stores.rate_limits.acquire("p1/github", 1, window).await.unwrap(),
        RateDecision::Allowed { remaining: 0 }
    );
    let decision = stores.rate_limits.acquire("p1/github", 1, window).await.unwrap();
    let RateDecision::Limited { retry_after } = decision else { panic!("expected Limited, got {decision:?}") };
    assert!(retry_after <= window, "retry after {retry_after:?}");
    tokio::time::sleep(retry_after + Duration::from_millis(50)).await;
    assert_eq!(
        stores.rate_limits.acquire("p1/github", 1, window).await.unwrap(),
        RateDecision::Allowed { remaining: 0 }
    );
}

// ---------------------------------------------------------------- OAuth states

fn oauth_state(value: &str, project: &str, expires_in: TimeDelta) -> OAuthState {
    OAuthState {
        state: value.to_owned(),
        project_id: project.to_owned(),
        connector_id: GITHUB.to_owned(),
        redirect_uri: "https://dashboard.example/oauth/callback".to_owned(),
        started_by: "user-42".to_owned(),
        code_verifier: Some(format!("verifier-{value}-0123456789abcdefghijklmnopqrstuvwxyz")),
        browser_binding: format!("binding-hash-of-{value}"),
        return_to: Some("https://dashboard.example/projects/p1".to_owned()),
        expires_at: Utc::now() + expires_in,
    }
}

/// The callback takes a state once, with everything it was stored with (PKCE verifier, browser
/// binding, return address); a replay, or an unknown value, finds nothing — also when callbacks
/// race.
pub async fn an_oauth_state_is_taken_exactly_once(backend: &impl Backend) {
    let stores = backend.stores().await;
    let state = oauth_state("st-Qm9vb3Rz", "p1", TimeDelta::minutes(10));
    stores.oauth_states.put_oauth_state(&state).await.unwrap();
    assert_eq!(stores.oauth_states.take_oauth_state("st-Qm9vb3Rz").await.unwrap(), Some(state));
    assert_eq!(stores.oauth_states.take_oauth_state("st-Qm9vb3Rz").await.unwrap(), None, "a replay finds nothing");
    assert_eq!(stores.oauth_states.take_oauth_state("st-unknown").await.unwrap(), None);

    stores.oauth_states.put_oauth_state(&oauth_state("st-race", "p1", TimeDelta::minutes(10))).await.unwrap();
    let mut racers = JoinSet::new();
    for _ in 0..5 {
        let stores = stores.clone();
        racers.spawn(async move { stores.oauth_states.take_oauth_state("st-race").await.unwrap() });
    }
    let taken = racers.join_all().await;
    assert_eq!(taken.iter().flatten().count(), 1, "exactly one callback gets the state: {taken:?}");
}

/// An expired state is refused even though nobody has cleaned it up yet.
pub async fn an_expired_oauth_state_is_not_returned(backend: &impl Backend) {
    let stores = backend.stores().await;
    stores.oauth_states.put_oauth_state(&oauth_state("st-old", "p1", TimeDelta::seconds(1))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(stores.oauth_states.take_oauth_state("st-old").await.unwrap(), None);
}

/// A value already in use is refused without naming it, and the first state stays intact.
pub async fn storing_an_oauth_state_twice_is_refused(backend: &impl Backend) {
    let stores = backend.stores().await;
    let first = oauth_state("st-Dupl1cate", "p1", TimeDelta::minutes(10));
    stores.oauth_states.put_oauth_state(&first).await.unwrap();
    let err = stores.oauth_states.put_oauth_state(&oauth_state("st-Dupl1cate", "p2", TimeDelta::minutes(10))).await;
    let err = err.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "expected AlreadyExists, got {err:?}");
    assert!(!err.to_string().contains("st-Dupl1cate"), "the state value is a secret: {err}");
    assert_eq!(stores.oauth_states.take_oauth_state("st-Dupl1cate").await.unwrap(), Some(first));
}

// ---------------------------------------------------------------- queues

fn now_visible() -> ReceiveOptions {
    ReceiveOptions { max_messages: 10, visibility_timeout: Duration::ZERO, wait: Duration::from_secs(1) }
}

fn hidden(seconds: u64) -> ReceiveOptions {
    ReceiveOptions { max_messages: 10, visibility_timeout: Duration::from_secs(seconds), wait: Duration::from_secs(1) }
}

/// Receives (hiding each message for a minute) until `count` messages or a few empty polls.
async fn drain(queue: &dyn MessageQueue, count: usize) -> Vec<ReceivedMessage> {
    let mut all = Vec::new();
    let mut empty_polls = 0;
    while all.len() < count && empty_polls < 3 {
        let batch = queue.receive(hidden(60)).await.unwrap();
        empty_polls = if batch.is_empty() { empty_polls + 1 } else { 0 };
        all.extend(batch);
    }
    all
}

/// Bodies sorted, for order-insensitive comparison (standard queues do not keep order).
fn bodies(messages: &[ReceivedMessage]) -> Vec<String> {
    let mut bodies: Vec<String> = messages.iter().map(|m| m.message.body.clone()).collect();
    bodies.sort();
    bodies
}

/// Messages carry their attributes; an acked message is gone for good.
pub async fn sent_messages_arrive_with_their_attributes_and_acked_ones_do_not_return(backend: &impl Backend) {
    let pair = backend.queue_pair(3).await;
    let key = InstanceKey::new("p1", GITHUB);
    let messages: Vec<QueueMessage> =
        (0..12).map(|i| QueueMessage::for_instance(format!("{{\"n\":{i}}}"), &key)).collect();
    send_batch(pair.queue.as_ref(), &messages, RetryPolicy::default(), tokio::time::sleep).await.unwrap();
    let received = drain(pair.queue.as_ref(), 12).await;
    assert_eq!(received.len(), 12, "every message arrives once");
    let mut expected: Vec<String> = messages.iter().map(|m| m.body.clone()).collect();
    expected.sort();
    assert_eq!(bodies(&received), expected);
    for message in &received {
        assert_eq!(message.message.attributes.get("connectorId").map(String::as_str), Some(GITHUB));
        assert_eq!(message.message.attributes.get("projectId").map(String::as_str), Some("p1"));
        assert_eq!(message.receive_count, 1);
        pair.queue.ack(&message.receipt).await.unwrap();
    }
    let later = pair.queue.receive(now_visible()).await.unwrap();
    assert!(later.is_empty(), "acked messages must not come back: {later:?}");
}

/// Received `max_receives` times without an ack, a message moves to the dead-letter queue.
pub async fn a_message_received_too_often_lands_in_the_dead_letter_queue(backend: &impl Backend) {
    let pair = backend.queue_pair(3).await;
    let message = QueueMessage::for_instance("poison", &InstanceKey::new("p1", GITHUB));
    send_batch(pair.queue.as_ref(), std::slice::from_ref(&message), RetryPolicy::default(), tokio::time::sleep)
        .await
        .unwrap();
    for attempt in 1..=pair.max_receives {
        let received = pair.queue.receive(now_visible()).await.unwrap();
        assert_eq!(received.len(), 1, "receive #{attempt} delivers the message");
        assert_eq!(received[0].receive_count, attempt);
    }
    let after = pair.queue.receive(now_visible()).await.unwrap();
    assert!(after.is_empty(), "after {} receives the message must leave the queue: {after:?}", pair.max_receives);
    let dead = drain(pair.dead_letters.as_ref(), 1).await;
    assert_eq!(dead.len(), 1, "the message is in the dead-letter queue");
    assert_eq!(dead[0].message, message, "body and attributes are kept");
}

/// Wraps a real queue: the first time it sees a chosen body it withholds that entry and
/// reports it failed (as SQS does in `Failed`), and it logs every request.
struct FailFirstTime {
    inner: Arc<dyn MessageQueue>,
    flaky: Vec<String>,
    requests: Mutex<Vec<Vec<String>>>,
}

#[async_trait]
impl QueueSender for FailFirstTime {
    async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        let mut forced = Vec::new();
        let mut passed = Vec::new();
        let mut passed_index = Vec::new();
        {
            let mut requests = self.requests.lock().unwrap();
            for (index, entry) in entries.iter().enumerate() {
                let seen = requests.iter().flatten().any(|b| *b == entry.body);
                if self.flaky.contains(&entry.body) && !seen {
                    forced.push(EntryFailure { index, reason: "forced throttling".into(), sender_fault: false });
                } else {
                    passed.push(entry.clone());
                    passed_index.push(index);
                }
            }
            requests.push(entries.iter().map(|m| m.body.clone()).collect());
        }
        let real = self.inner.send_entries(&passed).await?;
        forced.extend(real.into_iter().map(|f| EntryFailure { index: passed_index[f.index], ..f }));
        Ok(forced)
    }
}

/// Partial failures are retried entry by entry: the accepted ones are not sent twice.
pub async fn a_batch_with_a_forced_partial_failure_resends_only_the_failed_entries(backend: &impl Backend) {
    let pair = backend.queue_pair(3).await;
    let messages: Vec<QueueMessage> = (0..13).map(|i| QueueMessage::new(format!("m{i:02}"))).collect();
    let sender = FailFirstTime {
        inner: pair.queue.clone(),
        flaky: vec!["m02".into(), "m07".into(), "m11".into()],
        requests: Mutex::default(),
    };
    send_batch(
        &sender,
        &messages,
        RetryPolicy { max_attempts: 3, initial_backoff: Duration::from_millis(10) },
        tokio::time::sleep,
    )
    .await
    .unwrap();
    let requests = sender.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 4, "two batches and one retry each: {requests:?}");
    assert_eq!(requests[0].len(), 10);
    assert_eq!(requests[1], ["m02", "m07"], "the retry carries only the failed entries");
    assert_eq!(requests[2].len(), 3);
    assert_eq!(requests[3], ["m11"]);
    let received = drain(pair.queue.as_ref(), 13).await;
    let expected: Vec<String> = messages.iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies(&received), expected, "each message is in the queue exactly once");
}

/// An entry over the size limit fails alone, without retries; the rest of its batch is sent.
pub async fn an_oversized_entry_is_rejected_alone_and_not_retried(backend: &impl Backend) {
    let pair = backend.queue_pair(3).await;
    let mut messages: Vec<QueueMessage> = (0..4).map(|i| QueueMessage::new(format!("small-{i}"))).collect();
    messages.insert(2, QueueMessage::new("x".repeat(MAX_MESSAGE_BYTES + 1)));
    let err = send_batch(pair.queue.as_ref(), &messages, RetryPolicy::default(), tokio::time::sleep).await.unwrap_err();
    let StoreError::SendFailed { failed, total } = err else { panic!("expected SendFailed, got {err:?}") };
    assert_eq!(total, 5);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].index, 2);
    assert!(failed[0].sender_fault);
    let received = drain(pair.queue.as_ref(), 4).await;
    assert_eq!(bodies(&received), ["small-0", "small-1", "small-2", "small-3"]);
}

/// `retry_later` with no delay makes a hidden message deliverable again.
pub async fn a_message_put_back_for_retry_is_delivered_again(backend: &impl Backend) {
    let pair = backend.queue_pair(3).await;
    send_batch(pair.queue.as_ref(), &[QueueMessage::new("again")], RetryPolicy::default(), tokio::time::sleep)
        .await
        .unwrap();
    let first = pair.queue.receive(hidden(300)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(pair.queue.receive(ReceiveOptions { wait: Duration::ZERO, ..hidden(300) }).await.unwrap().is_empty());
    pair.queue.retry_later(&first[0].receipt, Duration::ZERO).await.unwrap();
    let second = pair.queue.receive(hidden(300)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].message.body.as_str(), second[0].receive_count), ("again", 2));
}
