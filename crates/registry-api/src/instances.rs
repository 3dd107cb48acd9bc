//! Connector instances of a project: `/projects/{projectId}/connectors[/{connectorId}]` and
//! `.../enable`.
//!
//! Credentials are write-only: they go to the secret store, and responses only say which keys
//! are set (`credentialsSet`). A `PATCH` merges the credentials it carries into the stored ones
//! (so one key can be rotated, and OAuth2 tokens survive a client-secret change) and replaces the
//! whole config map when it carries one.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchboard_core::ports::{Credentials, InstanceKey, InstanceRecord, InstanceUpdate, NewInstance};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::connectors::descriptor_record;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, parse_json};
use crate::fields::FieldCheck;
use crate::health::HealthSummary;
use crate::state::RegistryState;

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
    /// Replaces the whole config map.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Map<String, Value>>,
    /// Merged into the stored credentials (keys not sent keep their values).
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<Map<String, Value>>,
    /// Enables or disables.
    pub enabled: Option<bool>,
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
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl InstanceView {
    fn new(record: InstanceRecord, credentials_set: Vec<String>) -> Self {
        Self {
            health: HealthSummary::from(&record.health),
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
    params(("projectId" = String, Path, description = "Project id")),
    responses(
        (status = 200, description = "The project's instances", body = InstanceList),
        (status = 404, description = "Not a project of the caller", body = ErrorBody),
    ))]
pub async fn list_instances(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(project_id): ApiPath<String>,
) -> Result<Json<InstanceList>, ApiError> {
    caller.check_project(&project_id)?;
    let records = state.stores.instances.list_instances_by_project(&project_id).await?;
    let mut instances = Vec::with_capacity(records.len());
    for record in records {
        instances.push(view(&state, record).await?);
    }
    Ok(Json(InstanceList { instances }))
}

/// One instance.
#[utoipa::path(get, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 200, description = "The instance", body = InstanceView),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub async fn get_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
) -> Result<Json<InstanceView>, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    Ok(Json(view(&state, record).await?))
}

/// Connects a connector to a project.
#[utoipa::path(post, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    request_body = CreateInstanceBody,
    responses(
        (status = 201, description = "Created", body = InstanceView),
        (status = 404, description = "Unknown connector, or not a project of the caller", body = ErrorBody),
        (status = 409, description = "The instance exists", body = ErrorBody),
        (status = 422, description = "Missing or unknown config/credential keys", body = ErrorBody),
    ))]
pub async fn create_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
    body: Bytes,
) -> Result<(StatusCode, Json<InstanceView>), ApiError> {
    caller.check_project(&project_id)?;
    check_project_id(&project_id)?;
    let body: CreateInstanceBody = parse_json(&body)?;
    let descriptor = descriptor_record(&state, &connector_id).await?.descriptor;
    let mut check = FieldCheck::new();
    let config = check.config(&descriptor, &body.config);
    let credentials = check.credentials(&descriptor, &body.credentials);
    check.required_credentials(&descriptor, credentials.keys());
    check.finish(&connector_id)?;

    let new = NewInstance { key: InstanceKey::new(&project_id, &connector_id), config, enabled: body.enabled };
    let record = state.stores.create_instance(&new, &credentials).await?;
    tracing::info!(project_id, connector_id, subject = %caller.subject, "instance created");
    Ok((StatusCode::CREATED, Json(InstanceView::new(record, keys(&credentials)))))
}

/// Changes an instance's config, credentials or enabled flag.
#[utoipa::path(patch, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    request_body = UpdateInstanceBody,
    responses(
        (status = 200, description = "Updated", body = InstanceView),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 422, description = "Missing or unknown config/credential keys", body = ErrorBody),
    ))]
pub async fn update_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
    body: Bytes,
) -> Result<Json<InstanceView>, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    let body: UpdateInstanceBody = parse_json(&body)?;
    let key = record.key();
    let descriptor = descriptor_record(&state, &connector_id).await?.descriptor;

    let mut check = FieldCheck::new();
    let config = body.config.as_ref().map(|config| check.config(&descriptor, config));
    let merged = match &body.credentials {
        None => None,
        Some(sent) => {
            let sent = check.credentials(&descriptor, sent);
            let mut merged = stored_credentials(&state, &key).await?.unwrap_or_default();
            for k in sent.keys() {
                if let Some(value) = sent.get(k) {
                    merged.insert(k, value.expose_secret());
                }
            }
            check.required_credentials(&descriptor, merged.keys());
            Some(merged)
        }
    };
    check.finish(&connector_id)?;

    if let Some(credentials) = &merged {
        state.stores.store_credentials(&key, credentials).await?;
    }
    let update = InstanceUpdate { config, enabled: body.enabled, credential_secret_ref: None };
    let record = state.stores.instances.update_instance(&key, &update).await?;
    tracing::info!(
        project_id,
        connector_id,
        subject = %caller.subject,
        credentials_changed = merged.is_some(),
        "instance updated"
    );
    Ok(Json(view(&state, record).await?))
}

/// Disconnects: deletes the instance, its credentials and its poll checkpoint.
#[utoipa::path(delete, path = "/projects/{projectId}/connectors/{connectorId}", tag = "instances",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub async fn delete_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    state.stores.delete_instance(&record.key()).await?;
    tracing::info!(project_id, connector_id, subject = %caller.subject, "instance deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Enables or disables an instance.
#[utoipa::path(post, path = "/projects/{projectId}/connectors/{connectorId}/enable", tag = "instances",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    request_body = EnableBody,
    responses(
        (status = 200, description = "The instance", body = InstanceView),
        (status = 404, description = "No such instance", body = ErrorBody),
    ))]
pub async fn enable_instance(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
    body: Bytes,
) -> Result<Json<InstanceView>, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    let EnableBody { enabled } = parse_json(&body)?;
    let update = InstanceUpdate { enabled: Some(enabled), ..InstanceUpdate::default() };
    let record = state.stores.instances.update_instance(&record.key(), &update).await?;
    tracing::info!(project_id, connector_id, enabled, subject = %caller.subject, "instance enabled flag set");
    Ok(Json(view(&state, record).await?))
}

/// The instance, after checking the caller may see its project; 404 otherwise.
pub(crate) async fn instance(
    state: &RegistryState,
    caller: &Caller,
    project_id: &str,
    connector_id: &str,
) -> Result<InstanceRecord, ApiError> {
    caller.check_project(project_id)?;
    state.stores.instances.get_instance(&InstanceKey::new(project_id, connector_id)).await?.ok_or_else(|| {
        ApiError::NotFound(format!("connector `{connector_id}` is not connected to project `{project_id}`"))
    })
}

/// The instance's current credentials, if any were stored.
pub(crate) async fn stored_credentials(
    state: &RegistryState,
    key: &InstanceKey,
) -> Result<Option<Credentials>, ApiError> {
    Ok(state.stores.secrets.get_credentials(key).await?.map(|versions| versions.current))
}

async fn view(state: &RegistryState, record: InstanceRecord) -> Result<InstanceView, ApiError> {
    let set = match record.credential_secret_ref {
        None => Vec::new(),
        Some(_) => stored_credentials(state, &record.key()).await?.map(|c| keys(&c)).unwrap_or_default(),
    };
    Ok(InstanceView::new(record, set))
}

fn keys(credentials: &Credentials) -> Vec<String> {
    credentials.keys().map(str::to_owned).collect()
}

/// Project ids become parts of storage keys and secret names: keep them to a safe alphabet.
fn check_project_id(project_id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&project_id.len())
        && project_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !project_id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "project id `{project_id}` is not valid: use 1 to 64 letters, digits, `-`, `_` or `.`"
        )))
    }
}
