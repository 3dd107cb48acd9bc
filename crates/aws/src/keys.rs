//! The single-table key scheme (DESIGN §5, seed §5.1). Every record names its kind in `type`.
//!
//! | record | PK | SK | GSI2PK / GSI2SK | TTL (`expiresAt`) |
//! |---|---|---|---|---|
//! | descriptor | `CONNECTOR#{c}` | `DESCRIPTOR` | `DESCRIPTORS` / `CONNECTOR#{c}` | – |
//! | instance | `PROJECT#{p}` | `CONNECTOR_INSTANCE#{c}` | `CONNECTOR#{c}` / `PROJECT#{p}` | – |
//! | schedule sweep | `SCHEDULE_SWEEP#{c}` | `SCHEDULE_SWEEP` | – | – |
//! | checkpoint | `PROJECT#{p}` | `CHECKPOINT#{c}` | – | – |
//! | lease | `PROJECT#{p}` | `LEASE#{c}` | – | lease expiry |
//! | dedup record | `DEDUP#{id}` | `DEDUP` | – | record expiry |
//! | hourly stats | `PROJECT#{p}` | `STATS#{c}#{hour}` | – | 90 days |
//! | sync run | `PROJECT#{p}` | `SYNCRUN#{c}#{startedAt}#{n}` | – | 30 days |
//! | recent signal | `PROJECT#{p}#SIGNALS` | `{timestamp}#{signalId}` | – | the caller's TTL |
//! | signal by reference | `PROJECT#{p}#REF#{reference}` | `{timestamp}#{signalId}` | – | its signal's |
//! | rate limit counter | `RATE#{key}` | `WINDOW#{windowMs}#{windowStartMs}` | – | end of the window |
//! | OAuth state | `OAUTH_STATE#{state}` | `OAUTH_STATE` | – | state expiry |
//!
//! A recent signal's `{timestamp}` is UTC at fixed nanosecond width
//! ([`switchboard_core::ports::SignalSortKey`]), so the sort key orders signals in time. Each of
//! its first related items ([`switchboard_core::ports::indexed_references`]) has an index item
//! with a copy of the signal, written in the signal's transaction; project ids hold no `#`, so
//! `PROJECT#{p}#REF#` cannot be confused with another project's key.
//!
//! `GSI2` is overloaded: the seed's per-connector instance listing, plus one partition listing
//! every descriptor so that no operation scans the table.
//!
//! `GSI3` is sparse: an instance that can be scheduled carries `GSI3PK=SCHEDULE#{c}`,
//! `GSI3SK={nextPollAt}#{p}` (`nextPollAt` in epoch milliseconds, zero-padded to 20 digits, so
//! the sort key orders by time), written in the same update as what moves its schedule and
//! removed when it cannot be scheduled. A scheduled run queries `GSI3SK` below the next
//! millisecond: only the instances due.

use switchboard_core::ports::InstanceKey;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// The GSI's partition key attribute.
pub const GSI2PK: &str = "GSI2PK";
/// The GSI's sort key attribute.
pub const GSI2SK: &str = "GSI2SK";
/// The GSI's name.
pub const GSI2: &str = "GSI2";
/// The schedule index's partition key attribute.
pub const GSI3PK: &str = "GSI3PK";
/// The schedule index's sort key attribute.
pub const GSI3SK: &str = "GSI3SK";
/// The schedule index's name (sparse: instances that can be scheduled).
pub const GSI3: &str = "GSI3";
/// The TTL attribute (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expiresAt";

pub(crate) const DESCRIPTOR_SK: &str = "DESCRIPTOR";
pub(crate) const DESCRIPTORS_GSI2PK: &str = "DESCRIPTORS";
pub(crate) const INSTANCE_SK_PREFIX: &str = "CONNECTOR_INSTANCE#";
pub(crate) const DEDUP_SK: &str = "DEDUP";
pub(crate) const OAUTH_STATE_SK: &str = "OAUTH_STATE";
pub(crate) const SCHEDULE_SWEEP_SK: &str = "SCHEDULE_SWEEP";

pub(crate) fn connector(connector_id: &str) -> String {
    format!("CONNECTOR#{connector_id}")
}

pub(crate) fn project(project_id: &str) -> String {
    format!("PROJECT#{project_id}")
}

pub(crate) fn instance_sk(connector_id: &str) -> String {
    format!("{INSTANCE_SK_PREFIX}{connector_id}")
}

pub(crate) fn checkpoint_sk(key: &InstanceKey) -> String {
    format!("CHECKPOINT#{}", key.connector_id)
}

pub(crate) fn lease_sk(key: &InstanceKey) -> String {
    format!("LEASE#{}", key.connector_id)
}

pub(crate) fn dedup_pk(id: &str) -> String {
    format!("DEDUP#{id}")
}

pub(crate) fn stats_sk_prefix(key: &InstanceKey) -> String {
    format!("STATS#{}#", key.connector_id)
}

pub(crate) fn sync_run_sk_prefix(key: &InstanceKey) -> String {
    format!("SYNCRUN#{}#", key.connector_id)
}

pub(crate) fn signals_pk(project_id: &str) -> String {
    format!("PROJECT#{project_id}#SIGNALS")
}

pub(crate) fn signal_ref_pk(project_id: &str, reference: &str) -> String {
    format!("PROJECT#{project_id}#REF#{reference}")
}

pub(crate) fn rate_pk(key: &str) -> String {
    format!("RATE#{key}")
}

pub(crate) fn rate_sk(length_ms: i64, start_ms: i64) -> String {
    format!("WINDOW#{length_ms}#{start_ms}")
}

pub(crate) fn oauth_state_pk(state: &str) -> String {
    format!("OAUTH_STATE#{state}")
}

pub(crate) fn schedule_sweep_pk(connector_id: &str) -> String {
    format!("SCHEDULE_SWEEP#{connector_id}")
}

pub(crate) fn schedule_pk(connector_id: &str) -> String {
    format!("SCHEDULE#{connector_id}")
}

/// The schedule index's sort key: the time rounded down to the millisecond (times before 1970
/// sort first), then the project.
pub(crate) fn schedule_sk(at: chrono::DateTime<chrono::Utc>, project_id: &str) -> String {
    format!("{:020}#{project_id}", at.timestamp_millis().max(0))
}

/// Every schedule sort key at or before `now` is below this one.
pub(crate) fn schedule_until(now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{:020}", now.timestamp_millis().max(0).saturating_add(1))
}
