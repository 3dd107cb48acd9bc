//! Instance health: `POST .../test` runs the descriptor's health check now; `GET .../health`
//! shows what the checks and syncs observed, signal counts and recent sync runs.
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

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use switchboard_core::ports::{HealthUpdate, InstanceHealth, SignalCounts, SyncRun, hour_of, store_now};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::instances::{instance, stored_credentials};
use crate::state::RegistryState;

/// Consecutive failures from which an instance is in `error` rather than `degraded`.
pub const ERROR_AFTER_FAILURES: u32 = 3;

/// How many sync runs `GET .../health` shows.
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

/// Signal counts over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CountsView {
    /// Signals produced.
    pub signals: u64,
    /// Items that matched no signal type rule.
    pub ignored: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Items that failed to map.
    pub failed: u64,
}

impl CountsView {
    fn add(&mut self, counts: &SignalCounts) {
        self.signals += counts.signals;
        self.ignored += counts.ignored;
        self.duplicates += counts.duplicates;
        self.failed += counts.failed;
    }
}

/// Signal counts of the last 24 hours and 7 days, counted in whole UTC hours including the
/// current one (24 and 168 hourly buckets).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalWindows {
    /// The last 24 hours.
    pub last24h: CountsView,
    /// The last 7 days.
    pub last7d: CountsView,
}

/// One sync run.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunView {
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// `succeeded`, `partial` or `failed`.
    pub status: String,
    /// Pages fetched.
    pub pages: u32,
    /// Items enqueued.
    pub items: u64,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// Why it failed or stopped early.
    pub error: Option<String>,
}

impl From<SyncRun> for SyncRunView {
    fn from(run: SyncRun) -> Self {
        Self {
            started_at: run.started_at,
            status: run.status.as_str().to_owned(),
            pages: run.pages,
            items: run.items,
            duration_ms: run.duration_ms,
            error: run.error,
        }
    }
}

/// `GET .../health`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    /// Whether the instance is enabled.
    pub enabled: bool,
    /// Status and last observations.
    #[serde(flatten)]
    pub summary: HealthSummary,
    /// Signal counts.
    pub signals: SignalWindows,
    /// The latest sync runs, newest first.
    pub recent_syncs: Vec<SyncRunView>,
}

/// `POST .../test`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// Whether the health check endpoint answered as expected.
    pub healthy: bool,
    /// The HTTP status received, if any.
    pub http_status: Option<u16>,
    /// Round trip in milliseconds.
    pub latency_ms: u64,
    /// Why it failed, in words for the dashboard.
    pub reason: Option<String>,
    /// Failure class: `auth`, `config`, `rate_limited`, `transient`, ...
    pub failure_class: Option<String>,
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// The instance's health after recording this check.
    pub health: HealthSummary,
}

/// Runs the connector's health check with the instance's config and credentials.
#[utoipa::path(post, path = "/projects/{projectId}/connectors/{connectorId}/test", tag = "health",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 200, description = "The check ran (see `healthy`)", body = TestResult),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub async fn test_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
) -> Result<Json<TestResult>, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    let key = record.key();
    let loaded = state.connector(&connector_id).await?;
    let credentials = stored_credentials(&state, &key).await?.unwrap_or_default();

    let report = loaded.connector.check_health(&record.config, &credentials).await;
    let checked_at = store_now();
    if let Some(refreshed) = &report.refreshed_credentials {
        // A refresh may have rotated the refresh token: losing it would force a reconnect.
        if let Err(err) = state.stores.store_credentials(&key, refreshed).await {
            tracing::error!(project_id, connector_id, error = %err, "could not store refreshed OAuth2 tokens");
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
        project_id,
        connector_id,
        healthy = report.healthy,
        latency_ms = report.latency_ms,
        "health check ran"
    );
    Ok(Json(TestResult {
        healthy: report.healthy,
        http_status: report.status,
        latency_ms: report.latency_ms,
        reason: report.reason,
        failure_class: report.class.map(|c| c.as_str().to_owned()),
        checked_at,
        health: HealthSummary::from(&health),
    }))
}

/// Health, signal counts and recent syncs of an instance.
#[utoipa::path(get, path = "/projects/{projectId}/connectors/{connectorId}/health", tag = "health",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 200, description = "Health", body = HealthView),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub async fn instance_health(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
) -> Result<Json<HealthView>, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    let key = record.key();
    let current_hour = hour_of(Utc::now());
    let day_start = current_hour - TimeDelta::hours(23);
    let week_start = current_hour - TimeDelta::hours(167);
    let hours = state.stores.stats.signal_counts(&key, week_start, current_hour + TimeDelta::hours(1)).await?;
    let mut signals = SignalWindows { last24h: CountsView::default(), last7d: CountsView::default() };
    for hour in &hours {
        signals.last7d.add(&hour.counts);
        if hour.hour >= day_start {
            signals.last24h.add(&hour.counts);
        }
    }
    let runs = state.stores.stats.recent_sync_runs(&key, RECENT_SYNC_RUNS).await?;
    Ok(Json(HealthView {
        enabled: record.enabled,
        summary: HealthSummary::from(&record.health),
        signals,
        recent_syncs: runs.into_iter().map(SyncRunView::from).collect(),
    }))
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
        let fail = HealthUpdate::SyncFailed { error: "HTTP 500".into() };
        health.apply(&fail);
        assert_eq!(HealthStatus::of(&health), HealthStatus::Degraded);
        health.apply(&fail);
        health.apply(&fail);
        assert_eq!(HealthStatus::of(&health), HealthStatus::Error);
        health.apply(&HealthUpdate::Checked { at: Utc::now(), healthy: true, latency_ms: 5, error: None });
        assert_eq!(HealthStatus::of(&health), HealthStatus::Healthy);
    }
}
