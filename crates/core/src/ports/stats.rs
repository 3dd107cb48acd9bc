//! Statistics: signal counts per instance per hour, and the log of sync runs.

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{InstanceKey, StoreError};

/// Counts added for one instance in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalCounts {
    /// Signals produced.
    pub signals: u64,
    /// Items that matched no signal type rule.
    pub ignored: u64,
    /// Signals dropped as duplicates.
    pub duplicates: u64,
    /// Items that failed to map.
    pub failed: u64,
}

impl std::ops::AddAssign for SignalCounts {
    /// Adds each count.
    fn add_assign(&mut self, more: Self) {
        self.signals += more.signals;
        self.ignored += more.ignored;
        self.duplicates += more.duplicates;
        self.failed += more.failed;
    }
}

/// The counts of one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourlyStats {
    /// Start of the hour (UTC).
    pub hour: DateTime<Utc>,
    /// Counts in that hour.
    #[serde(flatten)]
    pub counts: SignalCounts,
}

/// How a sync run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Every page was fetched and enqueued.
    Succeeded,
    /// Some pages were enqueued, then it stopped (rate limit, time budget).
    Partial,
    /// Nothing could be done.
    Failed,
}

impl SyncStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Succeeded, Self::Partial, Self::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

/// One poll of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// How it ended.
    pub status: SyncStatus,
    /// Pages fetched.
    pub pages: u32,
    /// Items enqueued.
    pub items: u64,
    /// Wall time.
    pub duration_ms: u64,
    /// Why it failed or stopped early.
    pub error: Option<String>,
}

/// Statistics store.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds `counts` to the instance's counters for the hour containing `at`.
    async fn add_signal_counts(
        &self,
        key: &InstanceKey,
        at: DateTime<Utc>,
        counts: SignalCounts,
    ) -> Result<(), StoreError>;

    /// Hourly counts with `from <= hour < to`, oldest first; hours without counts are absent.
    async fn signal_counts(
        &self,
        key: &InstanceKey,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<HourlyStats>, StoreError>;

    /// Appends a sync run to the instance's log.
    async fn record_sync_run(&self, key: &InstanceKey, run: &SyncRun) -> Result<(), StoreError>;

    /// The latest `limit` sync runs, newest first.
    async fn recent_sync_runs(&self, key: &InstanceKey, limit: u32) -> Result<Vec<SyncRun>, StoreError>;
}

/// The start of the UTC hour containing `at`.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}
