//! Instance registry on the `instances` table (indexed by connector for the cross-project list).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_core::ports::{
    BackfillProgress, HealthAlert, HealthUpdate, InstanceHealth, InstanceKey, InstanceRecord, InstanceRegistry,
    InstanceUpdate, NewInstance, PollRecord, ScheduleSweep, StoreError, SubscriptionState, SyncState, store_now,
};

use crate::SqliteStore;
use crate::db::Cached;
use crate::db::{DbResult, parse_opt_ts, parse_ts, ts};

const COLUMNS: &str = "project_id, connector_id, enabled, credential_secret_ref, config, last_health_check, healthy, \
                       consecutive_failures, last_error, last_sync_at, last_latency_ms, created_at, updated_at, subscription, \
                       reauth_needed, health_alert, health_alert_changed_at, polling_interval_seconds, last_polled_at, \
                       last_poll_failed, change_count, error_count, backfill, next_poll_at_ms";

/// The raw columns of one row.
struct RawRow {
    project_id: String,
    connector_id: String,
    enabled: bool,
    credential_secret_ref: Option<String>,
    config: String,
    last_health_check: Option<String>,
    healthy: bool,
    consecutive_failures: u32,
    last_error: Option<String>,
    last_sync_at: Option<String>,
    last_latency_ms: Option<i64>,
    created_at: String,
    updated_at: String,
    subscription: Option<String>,
    reauth_needed: bool,
    health_alert: Option<String>,
    health_alert_changed_at: Option<String>,
    polling_interval_seconds: Option<u32>,
    last_polled_at: Option<String>,
    last_poll_failed: bool,
    change_count: i64,
    error_count: i64,
    backfill: Option<String>,
    next_poll_at_ms: Option<i64>,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        project_id: row.get(0)?,
        connector_id: row.get(1)?,
        enabled: row.get(2)?,
        credential_secret_ref: row.get(3)?,
        config: row.get(4)?,
        last_health_check: row.get(5)?,
        healthy: row.get(6)?,
        consecutive_failures: row.get(7)?,
        last_error: row.get(8)?,
        last_sync_at: row.get(9)?,
        last_latency_ms: row.get(10)?,
        created_at: row.get(11)?,
        updated_at: row.get(12)?,
        subscription: row.get(13)?,
        reauth_needed: row.get(14)?,
        health_alert: row.get(15)?,
        health_alert_changed_at: row.get(16)?,
        polling_interval_seconds: row.get(17)?,
        last_polled_at: row.get(18)?,
        last_poll_failed: row.get(19)?,
        change_count: row.get(20)?,
        error_count: row.get(21)?,
        backfill: row.get(22)?,
        next_poll_at_ms: row.get(23)?,
    })
}

fn to_record(raw: RawRow) -> Result<InstanceRecord, StoreError> {
    let config: BTreeMap<String, String> = serde_json::from_str(&raw.config)
        .map_err(|err| StoreError::Corrupt(format!("stored instance config does not parse: {err}")))?;
    let subscription =
        raw.subscription.as_deref().map(SubscriptionState::from_json).transpose().map_err(StoreError::Corrupt)?;
    let backfill: Option<BackfillProgress> = raw
        .backfill
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|err| StoreError::Corrupt(format!("stored backfill progress does not parse: {err}")))?;
    Ok(InstanceRecord {
        project_id: raw.project_id,
        connector_id: raw.connector_id,
        enabled: raw.enabled,
        credential_secret_ref: raw.credential_secret_ref,
        config,
        health: InstanceHealth {
            last_health_check: parse_opt_ts(raw.last_health_check)?,
            healthy: raw.healthy,
            consecutive_failures: raw.consecutive_failures,
            last_error: raw.last_error,
            last_sync_at: parse_opt_ts(raw.last_sync_at)?,
            last_latency_ms: raw.last_latency_ms.and_then(|ms| u64::try_from(ms).ok()),
            reauth_needed: raw.reauth_needed,
            alert: raw.health_alert.as_deref().map(HealthAlert::parse).transpose()?,
            alert_changed_at: parse_opt_ts(raw.health_alert_changed_at)?,
        },
        polling_interval_seconds: raw.polling_interval_seconds,
        sync: SyncState {
            last_polled_at: parse_opt_ts(raw.last_polled_at)?,
            last_poll_failed: raw.last_poll_failed,
            change_count: u64::try_from(raw.change_count).unwrap_or_default(),
            error_count: u64::try_from(raw.error_count).unwrap_or_default(),
            backfill,
        },
        subscription,
        next_poll_at: raw.next_poll_at_ms.map(from_millis).transpose()?,
        created_at: parse_ts(&raw.created_at)?,
        updated_at: parse_ts(&raw.updated_at)?,
    })
}

/// A stored schedule (epoch milliseconds) as a time.
fn from_millis(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt(format!("stored next poll time {ms} is out of range")))
}

/// A schedule as stored: epoch milliseconds, rounded down (so an index range up to a time
/// finds every instance due by then).
fn to_millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn config_json(config: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|err| StoreError::Invalid(format!("config does not serialise: {err}")))
}

fn backfill_json(backfill: &BackfillProgress) -> Result<String, StoreError> {
    serde_json::to_string(backfill)
        .map_err(|err| StoreError::Invalid(format!("backfill progress does not serialise: {err}")))
}

fn select_where(conn: &Connection, filter: &str, args: &[&str]) -> DbResult<Vec<InstanceRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM instances WHERE {filter}");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().map(to_record).collect::<Result<_, _>>()?)
}

fn select_one(conn: &Connection, key: &InstanceKey) -> DbResult<Option<InstanceRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM instances WHERE project_id = ?1 AND connector_id = ?2");
    let row = conn.row(&sql, [&key.project_id, &key.connector_id], from_row).optional()?;
    Ok(row.map(to_record).transpose()?)
}

/// Writes every mutable column of `record` back.
fn write_back(conn: &Connection, record: &InstanceRecord) -> DbResult<()> {
    let h = &record.health;
    conn.exec(
        "UPDATE instances SET enabled = ?3, credential_secret_ref = ?4, config = ?5, last_health_check = ?6,
             healthy = ?7, consecutive_failures = ?8, last_error = ?9, last_sync_at = ?10, last_latency_ms = ?11,
             updated_at = ?12, subscription = ?13, reauth_needed = ?14, polling_interval_seconds = ?15,
             last_polled_at = ?16, last_poll_failed = ?17, change_count = ?18, error_count = ?19, backfill = ?20,
             next_poll_at_ms = ?21
         WHERE project_id = ?1 AND connector_id = ?2",
        params![
            record.project_id,
            record.connector_id,
            record.enabled,
            record.credential_secret_ref,
            config_json(&record.config)?,
            h.last_health_check.map(ts),
            h.healthy,
            h.consecutive_failures,
            h.last_error,
            h.last_sync_at.map(ts),
            h.last_latency_ms.and_then(|ms| i64::try_from(ms).ok()),
            ts(record.updated_at),
            record.subscription.as_ref().map(SubscriptionState::to_json),
            h.reauth_needed,
            record.polling_interval_seconds,
            record.sync.last_polled_at.map(ts),
            record.sync.last_poll_failed,
            i64::try_from(record.sync.change_count).unwrap_or(i64::MAX),
            i64::try_from(record.sync.error_count).unwrap_or(i64::MAX),
            record.sync.backfill.as_ref().map(backfill_json).transpose()?,
            record.next_poll_at.map(to_millis),
        ],
    )?;
    Ok(())
}

/// Reads, changes and writes one instance (inside the writer's transaction, so nothing writes in
/// between).
fn modify<T>(
    conn: &Connection,
    key: &InstanceKey,
    change: impl FnOnce(&mut InstanceRecord) -> T,
) -> DbResult<(InstanceRecord, T)> {
    let mut record = select_one(conn, key)?.ok_or_else(|| StoreError::instance_not_found(key))?;
    let out = change(&mut record);
    write_back(conn, &record)?;
    Ok((record, out))
}

#[async_trait]
impl InstanceRegistry for SqliteStore {
    async fn list_instances_by_project(&self, project_id: &str) -> Result<Vec<InstanceRecord>, StoreError> {
        let project = project_id.to_owned();
        self.db
            .read("listing a project's instances", move |conn| {
                select_where(conn, "project_id = ?1 ORDER BY connector_id", &[&project])
            })
            .await
    }

    async fn list_instances_by_connector(&self, connector_id: &str) -> Result<Vec<InstanceRecord>, StoreError> {
        let connector = connector_id.to_owned();
        self.db
            .read("listing a connector's instances", move |conn| {
                select_where(conn, "connector_id = ?1 ORDER BY project_id", &[&connector])
            })
            .await
    }

    async fn list_due_instances(
        &self,
        connector_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<InstanceRecord>, StoreError> {
        let connector = connector_id.to_owned();
        let until = to_millis(now);
        self.db
            .read("listing a connector's due instances", move |conn| {
                let sql = format!(
                    "SELECT {COLUMNS} FROM instances INDEXED BY instances_by_schedule
                     WHERE connector_id = ?1 AND next_poll_at_ms <= ?2 ORDER BY project_id"
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                let rows = stmt.query_map(params![connector, until], from_row)?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows.into_iter().map(to_record).collect::<Result<_, _>>()?)
            })
            .await
    }

    async fn set_next_poll_at(&self, key: &InstanceKey, at: Option<DateTime<Utc>>) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .write("storing an instance's next poll time", move |conn| {
                let changed = conn.exec(
                    "UPDATE instances SET next_poll_at_ms = ?3 WHERE project_id = ?1 AND connector_id = ?2",
                    params![key.project_id, key.connector_id, at.map(to_millis)],
                )?;
                if changed == 0 {
                    return Err(StoreError::instance_not_found(&key).into());
                }
                Ok(())
            })
            .await
    }

    async fn schedule_sweep(&self, connector_id: &str) -> Result<Option<ScheduleSweep>, StoreError> {
        let connector = connector_id.to_owned();
        let row = self
            .db
            .lookup("reading a connector's schedule sweep", move |conn| {
                Ok(conn
                    .row("SELECT bounds, swept_at FROM schedule_sweeps WHERE connector_id = ?1", [&connector], |row| {
                        Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                    })
                    .optional()?)
            })
            .await?;
        row.map(|(bounds, swept_at)| Ok(ScheduleSweep { bounds, swept_at: parse_ts(&swept_at)? })).transpose()
    }

    async fn record_schedule_sweep(&self, connector_id: &str, sweep: &ScheduleSweep) -> Result<(), StoreError> {
        let connector = connector_id.to_owned();
        let sweep = sweep.clone();
        self.db
            .write("recording a connector's schedule sweep", move |conn| {
                conn.exec(
                    "INSERT INTO schedule_sweeps (connector_id, bounds, swept_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (connector_id) DO UPDATE SET bounds = excluded.bounds, swept_at = excluded.swept_at",
                    params![connector, sweep.bounds, ts(sweep.swept_at)],
                )?;
                Ok(())
            })
            .await
    }

    async fn get_instance(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>, StoreError> {
        let key = key.clone();
        self.db.lookup("reading an instance", move |conn| select_one(conn, &key)).await
    }

    async fn create_instance(&self, new: &NewInstance) -> Result<InstanceRecord, StoreError> {
        let now = store_now();
        let record = InstanceRecord::created(new, now);
        let config = config_json(&record.config)?;
        let key = new.key.clone();
        let enabled = new.enabled;
        let next_poll_at = record.next_poll_at.map(to_millis);
        self.db
            .write("creating an instance", move |conn| {
                let inserted = conn.exec(
                    "INSERT INTO instances (project_id, connector_id, enabled, config, created_at, updated_at,
                         next_poll_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6) ON CONFLICT (project_id, connector_id) DO NOTHING",
                    params![key.project_id, key.connector_id, enabled, config, ts(now), next_poll_at],
                )?;
                if inserted == 0 {
                    return Err(StoreError::instance_exists(&key).into());
                }
                Ok(())
            })
            .await?;
        Ok(record)
    }

    async fn update_instance(&self, key: &InstanceKey, update: &InstanceUpdate) -> Result<InstanceRecord, StoreError> {
        let key = key.clone();
        let update = update.clone();
        self.db
            .write("updating an instance", move |conn| {
                let (record, ()) = modify(conn, &key, |record| {
                    if let Some(config) = update.config {
                        record.config = config;
                    }
                    if let Some(enabled) = update.enabled {
                        record.enabled = enabled;
                    }
                    if let Some(secret_ref) = update.credential_secret_ref {
                        record.credential_secret_ref = secret_ref;
                    }
                    if let Some(subscription) = update.subscription {
                        record.subscription = subscription;
                    }
                    if let Some(interval) = update.polling_interval_seconds {
                        record.polling_interval_seconds = interval;
                    }
                    if let Some(reauth_needed) = update.reauth_needed {
                        record.health.reauth_needed = reauth_needed;
                    }
                    // Disabled or waiting for re-authorisation: no schedule, whatever its interval
                    // (the other changes are rescheduled by the caller, who knows it).
                    if update.enabled == Some(false) || update.reauth_needed == Some(true) {
                        record.next_poll_at = None;
                    }
                    record.updated_at = store_now();
                })?;
                Ok(record)
            })
            .await
    }

    async fn record_health(&self, key: &InstanceKey, update: &HealthUpdate) -> Result<InstanceHealth, StoreError> {
        let key = key.clone();
        let update = update.clone();
        self.db
            .write("recording instance health", move |conn| {
                let (record, ()) = modify(conn, &key, |record| record.health.apply(&update))?;
                Ok(record.health)
            })
            .await
    }

    async fn record_poll(&self, key: &InstanceKey, poll: &PollRecord) -> Result<InstanceRecord, StoreError> {
        let key = key.clone();
        let poll = poll.clone();
        self.db
            .write("recording a poll run", move |conn| {
                let (record, ()) = modify(conn, &key, |record| record.apply_poll(&poll))?;
                Ok(record)
            })
            .await
    }

    async fn set_health_alert(
        &self,
        key: &InstanceKey,
        expected_at: Option<DateTime<Utc>>,
        alert: Option<HealthAlert>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = key.clone();
        self.db
            .write("setting the notified health state", move |conn| {
                let changed = conn.exec(
                    "UPDATE instances SET health_alert = ?3, health_alert_changed_at = ?4
                     WHERE project_id = ?1 AND connector_id = ?2 AND health_alert_changed_at IS ?5",
                    params![
                        key.project_id,
                        key.connector_id,
                        alert.map(HealthAlert::as_str),
                        ts(at),
                        expected_at.map(ts)
                    ],
                )?;
                if changed == 0 && select_one(conn, &key)?.is_none() {
                    return Err(StoreError::instance_not_found(&key).into());
                }
                Ok(changed == 1)
            })
            .await
    }

    async fn delete_instance(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.db
            .write("deleting an instance", move |conn| {
                let deleted = conn.exec(
                    "DELETE FROM instances WHERE project_id = ?1 AND connector_id = ?2",
                    [&key.project_id, &key.connector_id],
                )?;
                if deleted == 0 {
                    return Err(StoreError::instance_not_found(&key).into());
                }
                Ok(())
            })
            .await
    }
}
