//! Which instances are due, found without scanning the table: the polling connectors from the
//! registry, then each one's instances through the per-connector index. When an instance is due
//! is [`switchboard_core::sync_schedule`]'s rule, over the instance's own fields.

use std::time::Duration;

use chrono::{DateTime, Utc};
use switchboard_core::ports::{InstanceKey, InstanceRecord, Stores};
use switchboard_core::sync_schedule::{IntervalBounds, is_due};

use crate::error::PollerError;

pub use switchboard_core::sync_schedule::DEFAULT_INTERVAL;

/// How a sync failure that needs the user to re-authorise starts in `lastError` (the instance's
/// `reauthNeeded` flag is set too). Such an instance is not polled again until its credentials
/// change.
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
        let bounds = IntervalBounds::of(polling, default_interval);
        let instances = match stores.instances.list_instances_by_connector(record.connector_id()).await {
            Ok(instances) => instances,
            Err(error) => {
                tracing::error!(connector_id = %record.connector_id(), %error, "cannot list the connector's instances; they are skipped this run");
                continue;
            }
        };
        due.extend(
            instances
                .into_iter()
                .filter(|instance| is_due(instance, bounds.effective(instance.polling_interval_seconds), now)),
        );
    }
    Ok(due)
}

/// The instance at `key` if it can be polled now whatever its schedule (a "poll now" request
/// for a new or re-enabled instance): it exists, is enabled, does not wait for
/// re-authorisation, and its connector polls.
pub(crate) async fn pollable_now(stores: &Stores, key: &InstanceKey) -> Result<Option<InstanceRecord>, PollerError> {
    let Some(instance) =
        stores.instances.get_instance(key).await.map_err(PollerError::store("reading the instance"))?
    else {
        return Ok(None);
    };
    if !instance.enabled || instance.health.reauth_needed {
        return Ok(None);
    }
    let descriptor = stores
        .descriptors
        .get_descriptor(&key.connector_id)
        .await
        .map_err(PollerError::store("reading the descriptor"))?;
    Ok(descriptor.filter(|d| d.descriptor.ingestion.polling().is_some()).map(|_| instance))
}
