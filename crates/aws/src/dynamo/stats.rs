//! Hourly counters (`SK=STATS#{c}#{hour}`, atomic `ADD`) and the sync-run log
//! (`SK=SYNCRUN#{c}#{startedAt}#{n}`, read newest first), both in the project's partition and
//! removed by TTL (90 and 30 days).

use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::ports::{
    HourlyStats, InstanceKey, SignalCounts, StatsStore, StoreError, SyncRun, SyncStatus, hour_of, store_now,
};

use super::DynamoStore;
use crate::error::backend;
use crate::item::{Item, get_n, get_s, get_ts, n, opt_n, opt_s, s, ts};
use crate::keys::{PK, SK, TTL_ATTRIBUTE, project, stats_sk_prefix, sync_run_sk_prefix};

/// How long hourly counters are kept.
const STATS_RETENTION: TimeDelta = TimeDelta::days(90);
/// How long sync runs are kept (the embedded store prunes at the same age).
const SYNC_RUN_RETENTION: TimeDelta = TimeDelta::days(30);

/// Makes sort keys of runs started in the same millisecond distinct.
static RUN_SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn to_run(item: &Item) -> Result<SyncRun, StoreError> {
    let status = get_s(item, "status")?;
    Ok(SyncRun {
        started_at: get_ts(item, "startedAt")?,
        status: SyncStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown sync status `{status}`")))?,
        pages: get_n(item, "pages")?,
        items: get_n(item, "items")?,
        duration_ms: get_n(item, "durationMs")?,
        error: opt_s(item, "error"),
    })
}

#[async_trait]
impl StatsStore for DynamoStore {
    async fn add_signal_counts(
        &self,
        key: &InstanceKey,
        at: DateTime<Utc>,
        counts: SignalCounts,
    ) -> Result<(), StoreError> {
        let hour = hour_of(at);
        let expires = (hour + STATS_RETENTION).timestamp();
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(project(&key.project_id)))
            .key(SK, s(format!("{}{}", stats_sk_prefix(key), ts(hour))))
            .update_expression(
                "ADD signals :signals, ignored :ignored, duplicates :duplicates, failed :failed \
                 SET #type = :type, #hour = :hour, #ttl = :ttl",
            )
            .expression_attribute_names("#type", "type")
            .expression_attribute_names("#hour", "hour")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":signals", n(counts.signals))
            .expression_attribute_values(":ignored", n(counts.ignored))
            .expression_attribute_values(":duplicates", n(counts.duplicates))
            .expression_attribute_values(":failed", n(counts.failed))
            .expression_attribute_values(":type", s("stats"))
            .expression_attribute_values(":hour", s(ts(hour)))
            .expression_attribute_values(":ttl", n(expires))
            .send()
            .await
            .map_err(|e| backend("adding signal counts", e))?;
        Ok(())
    }

    async fn signal_counts(
        &self,
        key: &InstanceKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HourlyStats>, StoreError> {
        let prefix = stats_sk_prefix(key);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(project(&key.project_id)))
            .expression_attribute_values(":from", s(format!("{prefix}{}", ts(hour_of(from)))))
            .expression_attribute_values(":to", s(format!("{prefix}{}", ts(to))))
            .consistent_read(true);
        let items = self.query_all("reading signal counts", query).await?;
        let mut hours = Vec::with_capacity(items.len());
        for item in &items {
            let hour = get_ts(item, "hour")?;
            if hour >= to {
                continue;
            }
            let count = |name| opt_n(item, name).map(Option::unwrap_or_default);
            let counts = SignalCounts {
                signals: count("signals")?,
                ignored: count("ignored")?,
                duplicates: count("duplicates")?,
                failed: count("failed")?,
            };
            hours.push(HourlyStats { hour, counts });
        }
        Ok(hours)
    }

    async fn record_sync_run(&self, key: &InstanceKey, run: &SyncRun) -> Result<(), StoreError> {
        let sequence = RUN_SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let sk = format!("{}{}#{}{sequence:08}", sync_run_sk_prefix(key), ts(run.started_at), std::process::id());
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(project(&key.project_id)))
            .item(SK, s(sk))
            .item("type", s("syncRun"))
            .item("startedAt", s(ts(run.started_at)))
            .item("status", s(run.status.as_str()))
            .item("pages", n(run.pages))
            .item("items", n(run.items))
            .item("durationMs", n(run.duration_ms))
            .item(TTL_ATTRIBUTE, n((store_now() + SYNC_RUN_RETENTION).timestamp()));
        if let Some(error) = &run.error {
            request = request.item("error", s(error));
        }
        request.send().await.map_err(|e| backend("recording a sync run", e))?;
        Ok(())
    }

    async fn recent_sync_runs(&self, key: &InstanceKey, limit: u32) -> Result<Vec<SyncRun>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", s(project(&key.project_id)))
            .expression_attribute_values(":prefix", s(sync_run_sk_prefix(key)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend("reading sync runs", e))?;
        out.items().iter().map(to_run).collect()
    }
}
