//! Connector instances of a project: `/projects/{projectId}/connectors[/{connectorId}]` and
//! `.../enable`.
//!
//! Credentials are write-only: they go to the secret store, and responses only say which keys
//! are set (`credentialsSet`). Every URL an instance's config produces must name a host the
//! connector's `allowedHosts` permits (or the operator admits). A `PATCH` merges the credentials
//! it carries into the stored ones and replaces the whole config map when it carries one; a
//! config change that moves where requests go (`baseUrl`, or config feeding a URL's host) must
//! carry the credentials again, which then replace the stored ones (the rules are in
//! [`service::instances`]).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiBytes, ApiPath, parse_json};
use crate::routes::params::{AuthenticatedErrors, BadBody, BadPath, InstancePath, NoSuchInstance, ProjectPath};
use crate::service;
use crate::service::health::HealthSummary;
use crate::service::instances::{InstanceChanges, InstanceDetails, InstanceValues};
use crate::service::schedule::Schedule;
use crate::state::RegistryState;
use switchboard_core::ports::{InstanceRecord, SubscriptionState, SubscriptionStatus};

/// Header of a `DELETE` whose managed webhook could not be removed at the provider: why, and
/// that it must be deleted there by hand (the instance is deleted all the same).
pub const SUBSCRIPTION_WARNING_HEADER: &str = "x-switchboard-warning";

/// Body of `POST /projects/{projectId}/connectors/{connectorId}` (DESIGN.md §6).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInstanceBody {
    /// Values for the descriptor's `configFields` (strings).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
    /// Values for the descriptor's credential fields (strings). Stored in the secret store and
    /// never returned.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub credentials: Map<String, Value>,
    /// Whether it starts enabled (default `true`).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// Body of `PATCH /projects/{projectId}/connectors/{connectorId}`; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateInstanceBody {
    /// Replaces the whole config map. When it changes where requests go (`baseUrl`, or config
    /// feeding a URL's host), `credentials` must be sent too.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Map<String, Value>>,
    /// Merged into the stored credentials (keys not sent keep their values); replaces them all
    /// when `config` changes where requests go.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Map<String, Value>>,
    /// Enables or disables.
    pub enabled: Option<bool>,
    /// The instance's own polling interval in seconds, within the connector's bounds (see
    /// `sync.pollingIntervalBounds`; polling connectors only).
    #[schema(minimum = 1)]
    pub polling_interval_seconds: Option<u32>,
}

/// Body of `POST .../enable`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnableBody {
    /// `true` to enable, `false` to disable.
    pub enabled: bool,
}

/// An instance as the API shows it: no credential values, only which keys are set.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    /// Project.
    pub project_id: String,
    /// Connector.
    pub connector_id: String,
    /// Disabled instances are neither polled nor accept webhooks.
    pub enabled: bool,
    /// Configuration values as set (descriptor defaults apply to the others).
    pub config: BTreeMap<String, String>,
    /// Keys of the stored credentials (OAuth2 tokens appear as `accessToken`, `refreshToken`).
    pub credentials_set: Vec<String>,
    /// Health as last observed.
    pub health: HealthSummary,
    /// The user must re-authorise (a token refresh answered `invalid_grant`, or the API
    /// rejected the credentials): polling is paused until new credentials are saved (a `PATCH`
    /// with `credentials`, or an OAuth2 connect).
    pub reauth_needed: bool,
    /// Its polling schedule and what its runs did, for connectors that poll (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncView>,
    /// The webhook Switchboard registers at the provider, for connectors that declare a
    /// subscription (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionView>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// An instance's managed webhook subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionView {
    /// `active` (registered), `failed` (see `message`), `manual` (register it by hand: see
    /// `message`) or `deleted` (the instance is disabled).
    pub status: String,
    /// The provider's id of the webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it expires, for webhooks that do (renewed before then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The gateway URL the provider delivers to.
    pub webhook_url: String,
    /// Why it is not active, or what to do by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<SubscriptionState> for SubscriptionView {
    fn from(state: SubscriptionState) -> Self {
        let status = match state.status {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Failed => "failed",
            SubscriptionStatus::Manual => "manual",
            SubscriptionStatus::Deleted => "deleted",
        };
        Self {
            status: status.to_owned(),
            id: state.id,
            expires_at: state.expires_at,
            webhook_url: state.webhook_url,
            message: state.message,
            updated_at: state.updated_at,
        }
    }
}

/// An instance's polling schedule and what its poll runs did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    /// The interval it polls at: its own (`PATCH` `pollingIntervalSeconds`) or the connector's.
    pub polling_interval_seconds: u64,
    /// What `pollingIntervalSeconds` may be set to.
    pub polling_interval_bounds: IntervalBoundsView,
    /// When the last run started.
    pub last_polled_at: Option<DateTime<Utc>>,
    /// When it is polled next (at or before now: due at the next poller run); `null` while it is
    /// disabled or waits for re-authorisation.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Items its runs have put on the ingest queue.
    pub change_count: u64,
    /// Runs that failed.
    pub error_count: u64,
    /// The last failure's message (cleared by a successful sync).
    pub last_error: Option<String>,
    /// The backfill under way (from the start date to the first complete run), if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillView>,
}

/// The bounds of an instance's polling interval, from its connector's descriptor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntervalBoundsView {
    /// The connector's interval (`intervalSeconds`).
    pub default_seconds: u32,
    /// The shortest allowed (`minIntervalSeconds`, default `intervalSeconds`).
    pub min_seconds: u32,
    /// The longest allowed (`maxIntervalSeconds`, default one day).
    pub max_seconds: u32,
}

/// A backfill's progress, added up over its runs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackfillView {
    /// When its first run started.
    pub started_at: DateTime<Utc>,
    /// Pages enqueued so far.
    pub pages: u64,
    /// Items enqueued so far.
    pub items: u64,
    /// Partitions whose backfill is done (partitioned streams).
    pub partitions_done: u32,
    /// Partitions listed by the last run (partitioned streams).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions_total: Option<u32>,
}

impl SyncView {
    fn new(record: &InstanceRecord, schedule: &Schedule) -> Self {
        let sync = &record.sync;
        Self {
            polling_interval_seconds: schedule.interval_seconds,
            polling_interval_bounds: IntervalBoundsView {
                default_seconds: schedule.bounds.default_seconds,
                min_seconds: schedule.bounds.min_seconds,
                max_seconds: schedule.bounds.max_seconds,
            },
            last_polled_at: sync.last_polled_at,
            next_poll_at: schedule.next_poll_at,
            change_count: sync.change_count,
            error_count: sync.error_count,
            last_error: record.health.last_error.clone(),
            backfill: sync.backfill.as_ref().map(|b| BackfillView {
                started_at: b.started_at,
                pages: b.pages,
                items: b.items,
                partitions_done: b.partitions_done,
                partitions_total: b.partitions_total,
            }),
        }
    }
}

impl From<InstanceDetails> for InstanceView {
    fn from(InstanceDetails { record, credentials_set, schedule }: InstanceDetails) -> Self {
        Self {
            sync: schedule.as_ref().map(|schedule| SyncView::new(&record, schedule)),
            reauth_needed: record.health.reauth_needed,
            health: HealthSummary::from(&record.health),
            subscription: record.subscription.map(SubscriptionView::from),
            project_id: record.project_id,
            connector_id: record.connector_id,
            enabled: record.enabled,
            config: record.config,
            credentials_set,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// A project's instances.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceList {
    /// Ordered by connector id.
    pub instances: Vec<InstanceView>,
}

/// Lists a project's instances.
#[utoipa::path(get, path = "/projects/{projectId}/connectors", tag = "instances",
    params(ProjectPath),
    responses(
        (status = 200, description = "The project's instances", body = InstanceList),
        BadPath,
        AuthenticatedErrors,
        (status = 404, description = "Not a project of the caller", body = ErrorBody),
    ))]
pub async fn list_instances(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(ProjectPath { project_id }): ApiPath<ProjectPath>,
) -> Result<Json<InstanceList>, ApiError> {
    let instances = service::instances::list(&state, &caller, project_id.as_str()).await?;
    Ok(Json(InstanceList { instances: instances.into_iter().map(InstanceView::from).collect() }))
}

/// One instance.
#[utoipa::path(get, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(InstancePath),
    responses((status = 200, description = "The instance", body = InstanceView), BadPath, AuthenticatedErrors,
        NoSuchInstance))]
pub async fn get_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
) -> Result<Json<InstanceView>, ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    Ok(Json(service::instances::details(&state, record).await?.into()))
}

/// Connects a connector to a project.
#[utoipa::path(post, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(InstancePath),
    request_body = CreateInstanceBody,
    responses(
        (status = 201, description = "Created", body = InstanceView),
        (status = 400, description = "A project id outside the id rule, an empty body, not JSON, or not the \
            expected shape (wrong type, unknown field), or a path id outside its pattern (`bad_request`)",
            body = ErrorBody),
        (status = 413, description = "The body is over 2 MiB (`payload_too_large`)", body = ErrorBody),
        AuthenticatedErrors,
        (status = 404, description = "Unknown connector, or not a project of the caller", body = ErrorBody),
        (status = 409, description = "The instance exists", body = ErrorBody),
        (status = 422, description = "Missing or unknown config/credential keys, or a URL whose host the \
            connector may not reach (pointer to the config field, e.g. `/config/baseUrl`)", body = ErrorBody),
    ))]
pub async fn create_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<InstanceView>), ApiError> {
    let project = service::instances::new_instance_project(&caller, path.project_id.as_str())?;
    let CreateInstanceBody { config, credentials, enabled } = parse_json(&body)?;
    let values = InstanceValues { config, credentials, enabled };
    let created = service::instances::create(&state, project, path.connector_id.as_str(), values).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Changes an instance's config, credentials or enabled flag.
#[utoipa::path(patch, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(InstancePath),
    request_body = UpdateInstanceBody,
    responses(
        (status = 200, description = "Updated", body = InstanceView),
        BadBody,
        AuthenticatedErrors,
        NoSuchInstance,
        (status = 422, description = "Missing or unknown config/credential keys, a URL whose host the \
            connector may not reach, a config change that moves where requests go without the \
            credentials (pointer `/credentials`), or a `pollingIntervalSeconds` outside the connector's \
            bounds or for a connector that does not poll (pointer `/pollingIntervalSeconds`)", body = ErrorBody),
    ))]
pub async fn update_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<InstanceView>, ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    let UpdateInstanceBody { config, credentials, enabled, polling_interval_seconds } = parse_json(&body)?;
    let changes = InstanceChanges { config, credentials, enabled, polling_interval_seconds };
    Ok(Json(service::instances::update(&state, &caller, record, changes).await?.into()))
}

/// Disconnects: deletes the instance's managed webhook at the provider, the instance, its
/// credentials and its poll checkpoint.
#[utoipa::path(delete, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(InstancePath),
    responses((status = 204, description = "Deleted. When the managed webhook could not be deleted at the \
        provider, the `X-Switchboard-Warning` header says why (delete it there by hand).",
        headers(("X-Switchboard-Warning" = String, description = "Why the webhook was not deleted at the provider"))),
        BadPath, AuthenticatedErrors, NoSuchInstance))]
pub async fn delete_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
) -> Result<(StatusCode, HeaderMap), ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    let warning = service::instances::delete(&state, &caller, &record).await?;
    let mut headers = HeaderMap::new();
    if let Some(value) = warning.and_then(|w| HeaderValue::from_str(&w.replace(['\r', '\n'], " ")).ok()) {
        headers.insert(SUBSCRIPTION_WARNING_HEADER, value);
    }
    Ok((StatusCode::NO_CONTENT, headers))
}

/// Enables or disables an instance.
#[utoipa::path(post, path = "/projects/{projectId}/connectors/{connectorId}/enable", tag = "instances",
    params(InstancePath),
    request_body = EnableBody,
    responses((status = 200, description = "The instance", body = InstanceView), BadBody, AuthenticatedErrors,
        NoSuchInstance))]
pub async fn enable_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(path): ApiPath<InstancePath>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<InstanceView>, ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    let EnableBody { enabled } = parse_json(&body)?;
    Ok(Json(service::instances::set_enabled(&state, &caller, record, enabled).await?.into()))
}
