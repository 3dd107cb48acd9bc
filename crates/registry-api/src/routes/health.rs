//! Instance health: `POST .../test` runs the descriptor's health check now; `GET .../health`
//! shows what the checks and syncs observed, signal counts and recent sync runs. The status
//! rule is [`service::health`]'s.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use switchboard_core::ports::{SignalCounts, SyncRun};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::routes::params::{AuthenticatedErrors, BadPath, InstancePath, NoSuchInstance};
use crate::service;
use crate::service::health::{CountWindows, HealthSummary};
use crate::state::RegistryState;

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

impl From<SignalCounts> for CountsView {
    fn from(counts: SignalCounts) -> Self {
        Self { signals: counts.signals, ignored: counts.ignored, duplicates: counts.duplicates, failed: counts.failed }
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

impl From<CountWindows> for SignalWindows {
    fn from(windows: CountWindows) -> Self {
        Self { last24h: windows.last24h.into(), last7d: windows.last7d.into() }
    }
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
    params(InstancePath),
    responses((status = 200, description = "The check ran (see `healthy`)", body = TestResult), BadPath,
        AuthenticatedErrors, NoSuchInstance,
        (status = 409, description = "The connector declares no health check (a webhook-only connector)",
            body = ErrorBody)))]
pub async fn test_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
) -> Result<Json<TestResult>, ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    let outcome = service::health::check(&state, &record).await?;
    let report = outcome.report;
    Ok(Json(TestResult {
        healthy: report.healthy,
        http_status: report.status,
        latency_ms: report.latency_ms,
        reason: report.reason,
        failure_class: report.class.map(|c| c.as_str().to_owned()),
        checked_at: outcome.checked_at,
        health: HealthSummary::from(&outcome.health),
    }))
}

/// Health, signal counts and recent syncs of an instance.
#[utoipa::path(get, path = "/projects/{projectId}/connectors/{connectorId}/health", tag = "health",
    params(InstancePath),
    responses((status = 200, description = "Health", body = HealthView), BadPath, AuthenticatedErrors,
        NoSuchInstance))]
pub async fn instance_health(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
) -> Result<Json<HealthView>, ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    let overview = service::health::overview(&state, &record).await?;
    Ok(Json(HealthView {
        enabled: record.enabled,
        summary: HealthSummary::from(&record.health),
        signals: overview.signals.into(),
        recent_syncs: overview.recent_syncs.into_iter().map(SyncRunView::from).collect(),
    }))
}
