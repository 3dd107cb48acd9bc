//! Hourly signal counters (`signal_stats`) and the sync-run log (`sync_runs`, kept 30 days).

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::params;
use switchboard_core::ports::{
    HourlyStats, InstanceKey, SignalCounts, StatsStore, StoreError, SyncRun, SyncStatus, hour_of, store_now,
};

use crate::SqliteStore;
use crate::db::Cached;
use crate::db::{parse_ts, ts};

/// How long sync runs are kept (the AWS adapter's TTL matches).
const SYNC_RUN_RETENTION_DAYS: i64 = 30;

fn count(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[async_trait]
impl StatsStore for SqliteStore {
    async fn add_signal_counts(
        &self,
        key: &InstanceKey,
        at: DateTime<Utc>,
        counts: SignalCounts,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        let hour = ts(hour_of(at));
        self.db
            .write("adding signal counts", move |conn| {
                conn.exec(
                    "INSERT INTO signal_stats (project_id, connector_id, hour, signals, ignored, duplicates, failed)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (project_id, connector_id, hour) DO UPDATE SET
                         signals = signals + excluded.signals, ignored = ignored + excluded.ignored,
                         duplicates = duplicates + excluded.duplicates, failed = failed + excluded.failed",
                    params![
                        key.project_id,
                        key.connector_id,
                        hour,
                        count(counts.signals),
                        count(counts.ignored),
                        count(counts.duplicates),
                        count(counts.failed)
                    ],
                )?;
                Ok(())
            })
            .await
    }

    async fn signal_counts(
        &self,
        key: &InstanceKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HourlyStats>, StoreError> {
        let key = key.clone();
        let (from, to) = (ts(hour_of(from)), ts(to));
        self.db
            .read("reading signal counts", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT hour, signals, ignored, duplicates, failed FROM signal_stats
                     WHERE project_id = ?1 AND connector_id = ?2 AND hour >= ?3 AND hour < ?4 ORDER BY hour",
                )?;
                let rows = stmt
                    .query_map(params![key.project_id, key.connector_id, from, to], |row| {
                        Ok((row.get::<_, String>(0)?, [row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?]))
                    })?
                    .collect::<Result<Vec<(String, [u64; 4])>, _>>()?;
                Ok(rows
                    .into_iter()
                    .map(|(hour, [signals, ignored, duplicates, failed])| {
                        Ok(HourlyStats {
                            hour: parse_ts(&hour)?,
                            counts: SignalCounts { signals, ignored, duplicates, failed },
                        })
                    })
                    .collect::<Result<_, StoreError>>()?)
            })
            .await
    }

    async fn record_sync_run(&self, key: &InstanceKey, run: &SyncRun) -> Result<(), StoreError> {
        let key = key.clone();
        let run = run.clone();
        let cutoff = ts(store_now() - TimeDelta::days(SYNC_RUN_RETENTION_DAYS));
        self.db
            .write("recording a sync run", move |conn| {
                conn.exec(
                    "INSERT INTO sync_runs (project_id, connector_id, started_at, status, pages, items, duration_ms, error)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        key.project_id,
                        key.connector_id,
                        ts(run.started_at),
                        run.status.as_str(),
                        run.pages,
                        count(run.items),
                        count(run.duration_ms),
                        run.error
                    ],
                )?;
                conn.exec(
                    "DELETE FROM sync_runs WHERE project_id = ?1 AND connector_id = ?2 AND started_at < ?3",
                    params![key.project_id, key.connector_id, cutoff],
                )?;
                Ok(())
            })
            .await
    }

    async fn recent_sync_runs(&self, key: &InstanceKey, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        let key = key.clone();
        self.db
            .read("reading sync runs", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT started_at, status, pages, items, duration_ms, error FROM sync_runs
                     WHERE project_id = ?1 AND connector_id = ?2 ORDER BY started_at DESC, id DESC LIMIT ?3",
                )?;
                let rows = stmt
                    .query_map(params![key.project_id, key.connector_id, limit], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, u32>(2)?,
                            row.get::<_, u64>(3)?,
                            row.get::<_, u64>(4)?,
                            row.get::<_, Option<String>>(5)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .map(|(started_at, status, pages, items, duration_ms, error)| {
                        let status = SyncStatus::parse(&status)
                            .ok_or_else(|| StoreError::Corrupt(format!("unknown sync status `{status}`")))?;
                        Ok(SyncRun { started_at: parse_ts(&started_at)?, status, pages, items, duration_ms, error })
                    })
                    .collect::<Result<_, StoreError>>()?)
            })
            .await
    }
}
