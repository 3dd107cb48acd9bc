//! An instance's polling schedule: its interval (the descriptor's, or its own within the
//! descriptor's bounds: [`switchboard_core::sync_schedule`]), when it is polled next, and asking
//! the poller to poll it at once (a new or re-enabled instance, or one just re-authorised,
//! starts its sync without waiting for the next scheduled run). After a change of what the
//! schedule reads (enabled, interval, re-authorisation), [`store`] writes the instance's stored
//! next poll time, which the poller's due listing reads.

use chrono::{DateTime, Utc};
use switchboard_core::Issue;
use switchboard_core::model::ConnectorDescriptor;
use switchboard_core::ports::InstanceRecord;
use switchboard_core::sync_schedule::{DEFAULT_INTERVAL, IntervalBounds, next_poll_at, reschedule};

use crate::service::error::ServiceError;
use crate::state::RegistryState;

/// The polling schedule of an instance of a polling connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// The interval's bounds, from the descriptor.
    pub bounds: IntervalBounds,
    /// The interval it polls at, in seconds.
    pub interval_seconds: u64,
    /// When it is polled next (`None`: disabled, or waiting for re-authorisation).
    pub next_poll_at: Option<DateTime<Utc>>,
}

/// The interval bounds of a connector that polls; `None` for one that does not.
pub fn bounds(descriptor: &ConnectorDescriptor) -> Option<IntervalBounds> {
    descriptor.ingestion.polling().map(|polling| IntervalBounds::of(polling, DEFAULT_INTERVAL))
}

/// The schedule of `record` under `descriptor`; `None` when the connector does not poll.
pub fn of(descriptor: &ConnectorDescriptor, record: &InstanceRecord) -> Option<Schedule> {
    let bounds = bounds(descriptor)?;
    let interval = bounds.effective(record.polling_interval_seconds);
    Some(Schedule { bounds, interval_seconds: interval.as_secs(), next_poll_at: next_poll_at(record, interval) })
}

/// Reads the descriptor and gives the schedule of `record` (`None` when its connector does not
/// poll, or is no longer registered).
pub async fn load(state: &RegistryState, record: &InstanceRecord) -> Result<Option<Schedule>, ServiceError> {
    let descriptor = state.stores.descriptors.get_descriptor(&record.connector_id).await?;
    Ok(descriptor.and_then(|stored| of(&stored.descriptor, record)))
}

/// Stores the next poll time of `record` (just written) under `descriptor`'s interval when it
/// differs from the stored one; returns the record with it. A failure is logged, not returned:
/// the change itself is made, and the poller's next schedule sweep corrects the time.
pub async fn store(
    state: &RegistryState,
    descriptor: &ConnectorDescriptor,
    mut record: InstanceRecord,
) -> InstanceRecord {
    let Some(bounds) = bounds(descriptor) else { return record };
    let interval = bounds.effective(record.polling_interval_seconds);
    if let Err(error) = reschedule(&*state.stores.instances, &mut record, interval).await {
        tracing::warn!(instance = %record.key(), %error, "cannot store the next poll time; the poller's next sweep does");
    }
    record
}

/// Checks a `pollingIntervalSeconds` sent for an instance of `descriptor`: the connector must
/// poll and the value must lie within its bounds (422 otherwise, pointing at the field).
pub fn check_interval(descriptor: &ConnectorDescriptor, seconds: u32) -> Result<u32, ServiceError> {
    let problem = match bounds(descriptor) {
        None => "this connector does not poll, so it has no polling interval".to_owned(),
        Some(bounds) => match bounds.check(seconds) {
            Ok(seconds) => return Ok(seconds),
            Err(problem) => problem,
        },
    };
    Err(ServiceError::InvalidFields {
        message: format!("the request does not fit connector `{}`: {problem}", descriptor.id),
        details: vec![Issue::new("/pollingIntervalSeconds", problem)],
    })
}

/// Asks the poller to poll `record` now when its connector polls and it is enabled. A request
/// that cannot be made is logged: the instance is then polled at its next scheduled run.
pub async fn poll_now(state: &RegistryState, descriptor: &ConnectorDescriptor, record: &InstanceRecord) {
    let Some(trigger) = &state.poll_trigger else { return };
    if !record.enabled || record.health.reauth_needed || bounds(descriptor).is_none() {
        return;
    }
    let key = record.key();
    match trigger.poll_now(&key).await {
        Ok(()) => tracing::info!(instance = %key, "asked the poller to poll the instance now"),
        Err(error) => {
            tracing::warn!(instance = %key, %error, "cannot ask the poller to poll now; it polls at the next run")
        }
    }
}
