//! Instance registry on the `instances` table (indexed by connector for the cross-project list).

use std::collections::BTreeMap;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use switchboard_core::ports::{
    HealthUpdate, InstanceHealth, InstanceKey, InstanceRecord, InstanceRegistry, InstanceUpdate, NewInstance,
    StoreError, SubscriptionState, store_now,
};

use crate::SqliteStore;
use crate::db::Cached;
use crate::db::{DbResult, parse_opt_ts, parse_ts, ts};

const COLUMNS: &str = "project_id, connector_id, enabled, credential_secret_ref, config, last_health_check, healthy, \
                       consecutive_failures, last_error, last_sync_at, last_latency_ms, created_at, updated_at, subscription";

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
    })
}

fn to_record(raw: RawRow) -> Result<InstanceRecord, StoreError> {
    let config: BTreeMap<String, String> = serde_json::from_str(&raw.config)
        .map_err(|err| StoreError::Corrupt(format!("stored instance config does not parse: {err}")))?;
    let subscription =
        raw.subscription.as_deref().map(SubscriptionState::from_json).transpose().map_err(StoreError::Corrupt)?;
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
        },
        subscription,
        created_at: parse_ts(&raw.created_at)?,
        updated_at: parse_ts(&raw.updated_at)?,
    })
}

fn config_json(config: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(config).map_err(|err| StoreError::Invalid(format!("config does not serialise: {err}")))
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
             updated_at = ?12, subscription = ?13
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
        self.db
            .write("creating an instance", move |conn| {
                let inserted = conn.exec(
                    "INSERT INTO instances (project_id, connector_id, enabled, config, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (project_id, connector_id) DO NOTHING",
                    params![key.project_id, key.connector_id, enabled, config, ts(now)],
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
