//! Which instances are due, found without scanning the table: the polling connectors from the
//! registry, then each one's instances through the per-connector index.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::ports::{InstanceRecord, Stores};

use crate::error::PollerError;

/// Polling interval of connectors whose descriptor sets no `intervalSeconds`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// How a sync failure that needs the user to re-authorise starts in `lastError`. Such an
/// instance is not polled again until its credentials change.
pub const REAUTH_NEEDED: &str = "re-auth needed";

/// Enabled instances of polling connectors whose interval has passed at `now`, ordered by
/// connector then project.
pub(crate) async fn due_instances(
    stores: &Stores,
    default_interval: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<InstanceRecord>, PollerError> {
    let descriptors = stores.descriptors.list_descriptors().await.map_err(PollerError::store("listing descriptors"))?;
    let mut due = Vec::new();
    for record in descriptors {
        let Some(polling) = record.descriptor.ingestion.polling() else { continue };
        let interval = polling.interval_seconds.map_or(default_interval, |s| Duration::from_secs(u64::from(s)));
        let instances = match stores.instances.list_instances_by_connector(record.connector_id()).await {
            Ok(instances) => instances,
            Err(error) => {
                tracing::error!(connector_id = %record.connector_id(), %error, "cannot list the connector's instances; they are skipped this run");
                continue;
            }
        };
        for instance in instances {
            if is_due(stores, &instance, interval, now).await {
                due.push(instance);
            }
        }
    }
    Ok(due)
}

/// Whether `instance` should be polled now.
///
/// A healthy instance is due once `lastSyncAt + interval` has passed (a run that stopped early
/// leaves `lastSyncAt` alone, so the next run continues at once). A failing one also waits an
/// interval after its last attempt, and one that needs re-authorising waits until its
/// credentials change.
async fn is_due(stores: &Stores, instance: &InstanceRecord, interval: Duration, now: DateTime<Utc>) -> bool {
    let interval = TimeDelta::from_std(interval).unwrap_or(TimeDelta::MAX);
    let passed = |since: DateTime<Utc>| since.checked_add_signed(interval).is_some_and(|at| at <= now);
    if !instance.enabled || !instance.health.last_sync_at.is_none_or(passed) {
        return false;
    }
    if instance.health.consecutive_failures == 0 {
        return true;
    }
    let last_run = match stores.stats.recent_sync_runs(&instance.key(), 1).await {
        Ok(runs) => runs.into_iter().next(),
        Err(error) => {
            tracing::warn!(connector_id = %instance.connector_id, project_id = %instance.project_id, %error, "cannot read the last sync run; polling anyway");
            return true;
        }
    };
    let Some(run) = last_run else { return true };
    if run.error.is_none() {
        return true; // The last run stopped early but cleanly: carry on.
    }
    let needs_reauth = instance.health.last_error.as_deref().is_some_and(|e| e.starts_with(REAUTH_NEEDED));
    if needs_reauth { instance.updated_at > run.started_at } else { passed(run.started_at) }
}
