//! Which instances are due, read from the schedule index rather than the registry: for each
//! polling connector, the instances whose stored schedule ([`InstanceRecord::next_poll_at`]) has
//! come ([`switchboard_core::ports::InstanceRegistry::list_due_instances`]), so a run reads about
//! as many records as are due, whatever the registry's size. When an instance is due is still
//! decided by [`switchboard_core::sync_schedule`]'s rule over the instance's own fields: the
//! stored time only finds the candidates.
//!
//! A connector is swept instead (its full per-connector listing read, as before the index, and
//! each stored time that differs from the rule corrected) when no sweep is recorded for it (rows
//! written before the index have no stored time), when the descriptor's interval bounds changed
//! since the last sweep, and every `sweep_every` (by default hourly), so that a stored time
//! drifted by a concurrent write is corrected within that time.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::ports::{InstanceKey, InstanceRecord, ScheduleSweep, Stores};
use switchboard_core::sync_schedule::{IntervalBounds, is_due, reschedule};

use crate::error::PollerError;

pub use switchboard_core::sync_schedule::DEFAULT_INTERVAL;

/// Default of how often each connector's stored schedules are checked against a full listing.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// How a sync failure that needs the user to re-authorise starts in `lastError` (the instance's
/// `reauthNeeded` flag is set too). Such an instance is not polled again until its credentials
/// change.
pub const REAUTH_NEEDED: &str = "re-auth needed";

/// An instance to poll, with the interval it polls at (from its descriptor's bounds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueInstance {
    /// The instance as read.
    pub record: InstanceRecord,
    /// Its polling interval.
    pub interval: Duration,
}

/// What a scheduled run found due, and what it read to find it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DueListing {
    /// The due instances, ordered by connector then project.
    pub instances: Vec<DueInstance>,
    /// Instance records read to decide (the due listings, plus the full listings of swept
    /// connectors).
    pub instances_read: usize,
    /// The connectors swept this time (full listing, stored times corrected).
    pub swept: Vec<String>,
    /// Stored times corrected (in a sweep, or found wrong in a due listing).
    pub rescheduled: usize,
}

/// Finds the enabled instances of polling connectors whose interval has passed at `now` (module
/// docs): through the schedule index, or a sweep when one is needed. `default_interval` is the
/// interval of connectors whose descriptor sets none.
pub async fn due_instances(
    stores: &Stores,
    default_interval: Duration,
    sweep_every: Duration,
    now: DateTime<Utc>,
) -> Result<DueListing, PollerError> {
    let descriptors = stores.descriptors.list_descriptors().await.map_err(PollerError::store("listing descriptors"))?;
    let mut listing = DueListing::default();
    for record in descriptors {
        let Some(polling) = record.descriptor.ingestion.polling() else { continue };
        let bounds = IntervalBounds::of(polling, default_interval);
        let connector = record.connector_id();
        let sweep = needs_sweep(stores, connector, &bounds, sweep_every, now).await;
        let listed = if sweep {
            stores.instances.list_instances_by_connector(connector).await
        } else {
            stores.instances.list_due_instances(connector, now).await
        };
        let instances = match listed {
            Ok(instances) => instances,
            Err(error) => {
                tracing::error!(connector_id = %connector, %error, "cannot list the connector's instances; they are skipped this run");
                continue;
            }
        };
        listing.instances_read += instances.len();
        for mut instance in instances {
            let interval = bounds.effective(instance.polling_interval_seconds);
            let due = is_due(&instance, interval, now);
            if correct_schedule(stores, &mut instance, interval, due, now).await {
                listing.rescheduled += 1;
            }
            if due {
                listing.instances.push(DueInstance { record: instance, interval });
            }
        }
        if sweep {
            let done = ScheduleSweep { bounds: bounds.key(), swept_at: now };
            if let Err(error) = stores.instances.record_schedule_sweep(connector, &done).await {
                tracing::warn!(connector_id = %connector, %error, "cannot record the schedule sweep; the next run sweeps again");
            }
            listing.swept.push(connector.to_owned());
        }
    }
    Ok(listing)
}

/// Whether `connector`'s stored schedules must be checked against a full listing (module docs).
/// A sweep record that cannot be read calls for one: a full listing is what the index saves.
async fn needs_sweep(
    stores: &Stores,
    connector: &str,
    bounds: &IntervalBounds,
    sweep_every: Duration,
    now: DateTime<Utc>,
) -> bool {
    match stores.instances.schedule_sweep(connector).await {
        Ok(Some(last)) => {
            let every = TimeDelta::from_std(sweep_every).unwrap_or(TimeDelta::MAX);
            last.bounds != bounds.key() || now.signed_duration_since(last.swept_at) >= every
        }
        Ok(None) => true,
        Err(error) => {
            tracing::warn!(connector_id = %connector, %error, "cannot read the last schedule sweep; sweeping");
            true
        }
    }
}

/// Writes the rule's time over a stored time that misleads the index: one that would list an
/// instance not due, or miss one that is. (A due instance listed early is left alone: its run
/// writes the next time.) Returns whether it wrote.
async fn correct_schedule(
    stores: &Stores,
    instance: &mut InstanceRecord,
    interval: Duration,
    due: bool,
    now: DateTime<Utc>,
) -> bool {
    let listed = instance.next_poll_at.is_some_and(|at| at.timestamp_millis() <= now.timestamp_millis());
    if due && listed {
        return false;
    }
    reschedule(&*stores.instances, instance, interval).await.unwrap_or_else(|error| {
        tracing::warn!(instance = %instance.key(), %error, "cannot correct the stored next poll time");
        false
    })
}

/// The instance at `key` if it can be polled now whatever its schedule (a "poll now" request
/// for a new or re-enabled instance): it exists, is enabled, does not wait for
/// re-authorisation, and its connector polls.
pub(crate) async fn pollable_now(
    stores: &Stores,
    key: &InstanceKey,
    default_interval: Duration,
) -> Result<Option<DueInstance>, PollerError> {
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
    let Some(polling) = descriptor.as_ref().and_then(|d| d.descriptor.ingestion.polling()) else { return Ok(None) };
    let interval = IntervalBounds::of(polling, default_interval).effective(instance.polling_interval_seconds);
    Ok(Some(DueInstance { record: instance, interval }))
}
