//! When an instance is polled next, and the bounds of its polling interval.
//!
//! An instance polls every `intervalSeconds` of its descriptor unless it sets its own interval
//! (`pollingIntervalSeconds`), which must lie within the descriptor's bounds: from
//! `minIntervalSeconds` (default: `intervalSeconds`, so an instance may poll less often, never
//! more) to `maxIntervalSeconds` (default [`MAX_INTERVAL_SECONDS`]).
//!
//! The schedule ([`next_poll_at`]), from the instance's stored fields:
//! - a disabled instance, or one that needs re-authorising, is not polled;
//! - one never polled is due at once (a new or re-enabled instance starts its backfill);
//! - after a failed run, one interval after that run started;
//! - otherwise one interval after the last complete sync (a run that stopped early leaves that
//!   time alone, so the next run continues at once).
//!
//! Each instance also carries this time as its stored schedule
//! ([`InstanceRecord::next_poll_at`]), indexed per connector, so that a scheduled run reads only
//! the instances due ([`crate::ports::InstanceRegistry::list_due_instances`]) rather than the
//! whole registry. Whoever changes what the rule reads writes it: the poller with each run's
//! record, the registry after an enable, a new interval or new credentials ([`reschedule`]).
//! The stored time is an index, not the decision: the poller applies [`is_due`] to what it
//! finds, and sweeps a connector's full listing now and then to correct drifted times.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::PollingDescriptor;
use crate::ports::{InstanceRecord, InstanceRegistry, StoreError};

/// Polling interval of connectors whose descriptor sets no `intervalSeconds`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// The longest interval an instance may set when its descriptor declares no
/// `maxIntervalSeconds`: one day.
pub const MAX_INTERVAL_SECONDS: u32 = 24 * 3600;

/// The polling interval a connector's instances get, and the range they may choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntervalBounds {
    /// The descriptor's interval (within the bounds).
    pub default_seconds: u32,
    /// The shortest an instance may choose.
    pub min_seconds: u32,
    /// The longest an instance may choose.
    pub max_seconds: u32,
}

impl IntervalBounds {
    /// The bounds a polling section declares; `default_interval` when it sets no interval.
    pub fn of(polling: &PollingDescriptor, default_interval: Duration) -> Self {
        let fallback = u32::try_from(default_interval.as_secs()).unwrap_or(u32::MAX).max(1);
        let default = polling.interval_seconds.unwrap_or(fallback).max(1);
        let min = polling.min_interval_seconds.unwrap_or(default).max(1);
        let max = polling.max_interval_seconds.unwrap_or(MAX_INTERVAL_SECONDS.max(default)).max(min);
        Self { default_seconds: default.clamp(min, max), min_seconds: min, max_seconds: max }
    }

    /// Checks an interval an instance asks for, naming the bounds when it is outside them.
    pub fn check(&self, seconds: u32) -> Result<u32, String> {
        if (self.min_seconds..=self.max_seconds).contains(&seconds) {
            Ok(seconds)
        } else {
            Err(format!(
                "pollingIntervalSeconds must be between {} and {} for this connector (its default is {})",
                self.min_seconds, self.max_seconds, self.default_seconds
            ))
        }
    }

    /// The interval an instance polls at: its own (kept within the bounds, which a descriptor
    /// update may have moved) or the default.
    pub fn effective(&self, instance: Option<u32>) -> Duration {
        let seconds = instance.map_or(self.default_seconds, |s| s.clamp(self.min_seconds, self.max_seconds));
        Duration::from_secs(u64::from(seconds))
    }

    /// A short text naming these bounds, stored with a schedule sweep
    /// ([`crate::ports::ScheduleSweep`]) so that a change of bounds calls for a new one.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.default_seconds, self.min_seconds, self.max_seconds)
    }
}

/// When `instance` is polled next at `interval` (module docs): `None` when it is not (disabled,
/// or waiting for re-authorisation); a time at or before now when it is due.
pub fn next_poll_at(instance: &InstanceRecord, interval: Duration) -> Option<DateTime<Utc>> {
    if !instance.enabled || instance.health.reauth_needed {
        return None;
    }
    let interval = TimeDelta::from_std(interval).unwrap_or(TimeDelta::MAX);
    let after = |since: DateTime<Utc>| Some(since.checked_add_signed(interval).unwrap_or(DateTime::<Utc>::MAX_UTC));
    match (instance.sync.last_polled_at, instance.health.last_sync_at) {
        (Some(polled), _) if instance.sync.last_poll_failed => after(polled),
        (_, Some(synced)) => after(synced),
        // Never synced to the end: a new instance, or a backfill still running.
        (_, None) => Some(instance.sync.last_polled_at.unwrap_or(instance.created_at)),
    }
}

/// Whether `instance` is due at `now`.
pub fn is_due(instance: &InstanceRecord, interval: Duration, now: DateTime<Utc>) -> bool {
    next_poll_at(instance, interval).is_some_and(|at| at <= now)
}

/// Whether two schedules are the same at the precision stores keep (milliseconds).
pub fn same_schedule(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> bool {
    a.map(|at| at.timestamp_millis()) == b.map(|at| at.timestamp_millis())
}

/// Writes the stored schedule of `record` when it differs from what the rule gives at
/// `interval` (one write, only then) and updates `record` once it is written; returns whether
/// it wrote. On an error `record` is left as it was.
pub async fn reschedule(
    instances: &dyn InstanceRegistry,
    record: &mut InstanceRecord,
    interval: Duration,
) -> Result<bool, StoreError> {
    let expected = next_poll_at(record, interval);
    if same_schedule(record.next_poll_at, expected) {
        return Ok(false);
    }
    instances.set_next_poll_at(&record.key(), expected).await?;
    record.next_poll_at = expected;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{HealthUpdate, InstanceKey, NewInstance, PollRecord};

    fn polling(interval: Option<u32>, min: Option<u32>, max: Option<u32>) -> PollingDescriptor {
        let mut p: PollingDescriptor = serde_json::from_value(serde_json::json!({
            "endpoint": "https://api.example.com/items", "method": "GET",
            "delta": {"type": "since_id", "idParam": "since", "idPath": "$.id"}, "rateLimitRpm": 60
        }))
        .expect("a polling section");
        p.interval_seconds = interval;
        p.min_interval_seconds = min;
        p.max_interval_seconds = max;
        p
    }

    #[test]
    fn bounds_default_to_the_descriptor_interval_up_to_a_day() {
        let bounds = IntervalBounds::of(&polling(Some(600), None, None), DEFAULT_INTERVAL);
        assert_eq!(
            bounds,
            IntervalBounds { default_seconds: 600, min_seconds: 600, max_seconds: MAX_INTERVAL_SECONDS }
        );
        assert!(bounds.check(599).unwrap_err().contains("between 600 and 86400"));
        assert_eq!(bounds.check(3600), Ok(3600));
        let declared = IntervalBounds::of(&polling(Some(600), Some(60), Some(1200)), DEFAULT_INTERVAL);
        assert_eq!(declared.check(60), Ok(60));
        assert!(declared.check(1201).is_err());
        assert_eq!(declared.effective(Some(5000)), Duration::from_secs(1200));
        assert_eq!(IntervalBounds::of(&polling(None, None, None), DEFAULT_INTERVAL).effective(None), DEFAULT_INTERVAL);
    }

    fn instance(at: DateTime<Utc>) -> InstanceRecord {
        let new = NewInstance { key: InstanceKey::new("p1", "c1"), config: Default::default(), enabled: true };
        InstanceRecord::created(&new, at)
    }

    #[test]
    fn a_new_instance_is_due_at_once_and_then_every_interval() {
        let t0: DateTime<Utc> = "2024-05-01T10:00:00Z".parse().unwrap();
        let minute = Duration::from_secs(60);
        let mut record = instance(t0);
        assert_eq!(next_poll_at(&record, minute), Some(t0));
        assert_eq!(record.next_poll_at, next_poll_at(&record, minute), "a new record carries its schedule");
        assert!(is_due(&record, minute, t0));
        let done = t0 + TimeDelta::seconds(5);
        record.health.apply(&HealthUpdate::Synced { at: done });
        record.sync.apply(&PollRecord {
            started_at: t0,
            items: 3,
            failed: false,
            health: None,
            backfill: None,
            next_poll_at: None,
        });
        assert_eq!(next_poll_at(&record, minute), Some(done + TimeDelta::seconds(60)));
        assert!(!is_due(&record, minute, done + TimeDelta::seconds(59)));
        // A failed run is retried an interval after it started.
        let failed_at = t0 + TimeDelta::seconds(100);
        record.sync.apply(&PollRecord {
            started_at: failed_at,
            items: 0,
            failed: true,
            health: None,
            backfill: None,
            next_poll_at: None,
        });
        assert_eq!(next_poll_at(&record, minute), Some(failed_at + TimeDelta::seconds(60)));
        // Waiting for re-authorisation, or disabled: not polled.
        record.health.reauth_needed = true;
        assert_eq!(next_poll_at(&record, minute), None);
        record.health.reauth_needed = false;
        record.enabled = false;
        assert_eq!(next_poll_at(&record, minute), None);
    }

    #[test]
    fn a_disabled_new_record_has_no_schedule_and_schedules_compare_to_the_millisecond() {
        let t0: DateTime<Utc> = "2024-05-01T10:00:00.123456Z".parse().unwrap();
        let new = NewInstance { key: InstanceKey::new("p1", "c1"), config: Default::default(), enabled: false };
        assert_eq!(InstanceRecord::created(&new, t0).next_poll_at, None);
        let stored: DateTime<Utc> = "2024-05-01T10:00:00.123Z".parse().unwrap();
        assert!(same_schedule(Some(t0), Some(stored)));
        assert!(!same_schedule(Some(t0), Some(stored + TimeDelta::milliseconds(1))));
        assert!(!same_schedule(Some(t0), None));
        assert!(same_schedule(None, None));
        let bounds = IntervalBounds { default_seconds: 300, min_seconds: 60, max_seconds: 600 };
        assert_eq!(bounds.key(), "300/60/600");
    }
}
