//! Instance health: the status rule, running a health check now, and what checks, syncs and
//! signal counts observed.
//!
//! # The status rule
//!
//! From the instance's health fields (`consecutiveFailures` counts failed health checks and
//! failed syncs in a row; any success resets it):
//!
//! | status | when |
//! |---|---|
//! | `error` | 3 or more consecutive failures ([`ERROR_AFTER_FAILURES`]) |
//! | `degraded` | 1 or 2 consecutive failures |
//! | `healthy` | no failure since the last success, and at least one check or sync has run |
//! | `unknown` | nothing has run yet (a new instance) |

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use switchboard_core::model::ConnectorKind;
use switchboard_core::polling::HealthReport;
use switchboard_core::ports::{
    CredentialChange, HealthUpdate, InstanceHealth, InstanceRecord, SignalCounts, SyncRun, hour_of, store_now,
};
use utoipa::ToSchema;

use crate::service::error::ServiceError;
use crate::service::{connectors, instances};
use crate::state::RegistryState;

/// Consecutive failures from which an instance is in `error` rather than `degraded`.
pub const ERROR_AFTER_FAILURES: u32 = 3;

/// How many sync runs [`overview`] shows.
pub const RECENT_SYNC_RUNS: u32 = 10;

/// The dashboard's traffic light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Working.
    Healthy,
    /// Failing recently, not yet for long.
    Degraded,
    /// Failing repeatedly.
    Error,
    /// Never checked or synced.
    Unknown,
}

impl HealthStatus {
    /// Applies the status rule (module docs) to an instance's health fields.
    pub fn of(health: &InstanceHealth) -> Self {
        match health.consecutive_failures {
            n if n >= ERROR_AFTER_FAILURES => Self::Error,
            n if n > 0 => Self::Degraded,
            _ if health.last_health_check.is_none() && health.last_sync_at.is_none() => Self::Unknown,
            _ => Self::Healthy,
        }
    }
}

/// Health as last observed, part of every instance view.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthSummary {
    /// Derived with the status rule.
    pub status: HealthStatus,
    /// When the last health check ran.
    pub last_health_check: Option<DateTime<Utc>>,
    /// Whether that check passed.
    pub last_check_passed: bool,
    /// When the last successful sync finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Latency of the last health check, in milliseconds.
    pub latency_ms: Option<u64>,
    /// Failed checks or syncs in a row.
    pub consecutive_failures: u32,
    /// The last failure's message.
    pub last_error: Option<String>,
}

impl From<&InstanceHealth> for HealthSummary {
    fn from(health: &InstanceHealth) -> Self {
        Self {
            status: HealthStatus::of(health),
            last_health_check: health.last_health_check,
            last_check_passed: health.healthy,
            last_sync_at: health.last_sync_at,
            latency_ms: health.last_latency_ms,
            consecutive_failures: health.consecutive_failures,
            last_error: health.last_error.clone(),
        }
    }
}

/// Signal counts of the last 24 hours and 7 days, counted in whole UTC hours including the
/// current one (24 and 168 hourly buckets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountWindows {
    /// The last 24 hours.
    pub last24h: SignalCounts,
    /// The last 7 days.
    pub last7d: SignalCounts,
}

/// A health check that ran now.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// What the check found.
    pub report: HealthReport,
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// The instance's health after recording it.
    pub health: InstanceHealth,
}

/// What checks, syncs and the normaliser observed of an instance.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Signal counts.
    pub signals: CountWindows,
    /// The latest sync runs ([`RECENT_SYNC_RUNS`]), newest first.
    pub recent_syncs: Vec<SyncRun>,
}

/// Runs the connector's health check with the instance's config and credentials, keeps
/// refreshed OAuth2 tokens, and records the outcome in the instance's health. A generic
/// connector that declares no `healthCheck` (a webhook-only one) has nothing to run: that is a
/// `Conflict`, and the instance's health is left as it is.
pub async fn check(state: &RegistryState, record: &InstanceRecord) -> Result<CheckOutcome, ServiceError> {
    let key = record.key();
    let loaded = connectors::compiled(state, &key.connector_id).await?;
    if loaded.descriptor.kind() == ConnectorKind::Generic && loaded.descriptor.health_check().is_none() {
        return Err(ServiceError::Conflict(format!(
            "connector `{}` declares no healthCheck, so there is nothing to test: a webhook-only connector shows \
             that it works by its deliveries (see the instance's health and signals)",
            key.connector_id
        )));
    }
    let credentials = instances::stored_credentials(state, &key).await?.unwrap_or_default();

    let report = loaded.connector.check_health(&record.config, &credentials).await;
    let checked_at = store_now();
    if let Some(refreshed) = &report.refreshed_credentials {
        // A refresh may have rotated the refresh token: losing it would force a reconnect.
        if let Err(err) = state.stores.update_credentials(&key, &CredentialChange::oauth_tokens(refreshed)).await {
            tracing::error!(
                project_id = key.project_id.as_str(),
                connector_id = key.connector_id.as_str(),
                error = %err,
                "could not store refreshed OAuth2 tokens"
            );
        }
    }
    let update = HealthUpdate::Checked {
        at: checked_at,
        healthy: report.healthy,
        latency_ms: report.latency_ms,
        error: report.reason.clone(),
    };
    let health = state.stores.instances.record_health(&key, &update).await?;
    tracing::info!(
        project_id = key.project_id.as_str(),
        connector_id = key.connector_id.as_str(),
        healthy = report.healthy,
        latency_ms = report.latency_ms,
        "health check ran"
    );
    Ok(CheckOutcome { report, checked_at, health })
}

/// Signal counts and recent sync runs of an instance.
pub async fn overview(state: &RegistryState, record: &InstanceRecord) -> Result<Overview, ServiceError> {
    let key = record.key();
    let current_hour = hour_of(Utc::now());
    let day_start = current_hour - TimeDelta::hours(23);
    let week_start = current_hour - TimeDelta::hours(167);
    let hours = state.stores.stats.signal_counts(&key, week_start, current_hour + TimeDelta::hours(1)).await?;
    let mut signals = CountWindows::default();
    for hour in &hours {
        signals.last7d += hour.counts;
        if hour.hour >= day_start {
            signals.last24h += hour.counts;
        }
    }
    let recent_syncs = state.stores.stats.recent_sync_runs(&key, RECENT_SYNC_RUNS).await?;
    Ok(Overview { signals, recent_syncs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_consecutive_failures() {
        let mut health = InstanceHealth::default();
        assert_eq!(HealthStatus::of(&health), HealthStatus::Unknown);
        health.apply(&HealthUpdate::Synced { at: Utc::now() });
        assert_eq!(HealthStatus::of(&health), HealthStatus::Healthy);
        let fail = HealthUpdate::SyncFailed { error: "HTTP 500".into(), reauth: false };
        health.apply(&fail);
        assert_eq!(HealthStatus::of(&health), HealthStatus::Degraded);
        health.apply(&fail);
        health.apply(&fail);
        assert_eq!(HealthStatus::of(&health), HealthStatus::Error);
        health.apply(&HealthUpdate::Checked { at: Utc::now(), healthy: true, latency_ms: 5, error: None });
        assert_eq!(HealthStatus::of(&health), HealthStatus::Healthy);
    }
}
