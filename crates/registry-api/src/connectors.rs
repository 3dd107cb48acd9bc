//! The connector catalogue and descriptor CRUD: `/connectors` and `/connectors/{connectorId}`.
//!
//! Anyone authenticated may read the catalogue; writes need an admin caller. Every written
//! descriptor goes through the same validator as `switchboard validate`, and a failure lists every
//! problem with its JSON pointer (422). Built-in descriptors ship with Switchboard and are replaced
//! by each release, so they can be neither changed nor deleted (409).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::Descriptor;
use switchboard_core::Issue;
use switchboard_core::model::{ConnectorCategory, ConnectorDescriptor, ConnectorKind, IngestionDescriptor};
use switchboard_core::ports::DescriptorRecord;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery, parse_json};
use crate::state::RegistryState;

const CATEGORIES: [ConnectorCategory; 5] = [
    ConnectorCategory::ProjectManagement,
    ConnectorCategory::Communication,
    ConnectorCategory::CodeAndDevops,
    ConnectorCategory::Documents,
    ConnectorCategory::Custom,
];

/// Catalogue filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Only this category: `project_management`, `communication`, `code_and_devops`,
    /// `documents` or `custom`.
    pub category: Option<String>,
    /// Case-insensitive text searched in the id, name and description.
    pub q: Option<String>,
}

/// A catalogue card.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSummary {
    /// Connector id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short description.
    pub description: String,
    /// Catalogue category.
    pub category: String,
    /// Icon name or URL.
    pub icon: String,
    /// `generic` or `native`.
    pub kind: String,
    /// `oauth2`, `api_key`, `pat`, `basic`, `webhook_secret` or `none`.
    pub auth_method: String,
    /// `polling`, `webhook` or `polling_and_webhook`.
    pub ingestion: String,
    /// Shipped with Switchboard.
    pub built_in: bool,
    /// Descriptor version.
    pub version: String,
}

/// The catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorList {
    /// Matching connectors, ordered by id.
    pub connectors: Vec<ConnectorSummary>,
}

/// A stored descriptor.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DescriptorView {
    /// The descriptor as authored (see `descriptors/descriptor.schema.json`).
    #[schema(value_type = Object)]
    pub descriptor: ConnectorDescriptor,
    /// Shipped with Switchboard (read-only).
    pub built_in: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<DescriptorRecord> for DescriptorView {
    fn from(record: DescriptorRecord) -> Self {
        Self {
            descriptor: record.descriptor,
            built_in: record.built_in,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

impl From<&DescriptorRecord> for ConnectorSummary {
    fn from(record: &DescriptorRecord) -> Self {
        let d = &record.descriptor;
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            category: d.category.as_str().to_owned(),
            icon: d.icon.clone(),
            kind: match d.kind {
                ConnectorKind::Generic => "generic",
                ConnectorKind::Native => "native",
            }
            .to_owned(),
            auth_method: d.auth.method_name().to_owned(),
            ingestion: match d.ingestion {
                IngestionDescriptor::Polling(_) => "polling",
                IngestionDescriptor::Webhook(_) => "webhook",
                IngestionDescriptor::PollingAndWebhook(_) => "polling_and_webhook",
            }
            .to_owned(),
            built_in: record.built_in,
            version: d.version.clone(),
        }
    }
}

/// Lists the catalogue.
#[utoipa::path(get, path = "/connectors", tag = "catalogue", params(CatalogueQuery),
    responses(
        (status = 200, description = "Matching connectors", body = ConnectorList),
        (status = 400, description = "Unknown category", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn list_connectors(
    State(state): State<RegistryState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<CatalogueQuery>,
) -> Result<Json<ConnectorList>, ApiError> {
    let category = match query.category.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(name) => Some(CATEGORIES.into_iter().find(|c| c.as_str() == name).ok_or_else(|| {
            let known: Vec<&str> = CATEGORIES.iter().map(|c| c.as_str()).collect();
            ApiError::BadRequest(format!("unknown category `{name}` (expected one of: {})", known.join(", ")))
        })?),
    };
    let needle = query.q.as_deref().map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let records = state.stores.descriptors.list_descriptors().await?;
    let connectors = records
        .iter()
        .filter(|r| category.is_none_or(|c| r.descriptor.category == c))
        .filter(|r| needle.as_deref().is_none_or(|n| matches_text(&r.descriptor, n)))
        .map(ConnectorSummary::from)
        .collect();
    Ok(Json(ConnectorList { connectors }))
}

fn matches_text(descriptor: &ConnectorDescriptor, needle: &str) -> bool {
    [&descriptor.id, &descriptor.name, &descriptor.description].iter().any(|text| text.to_lowercase().contains(needle))
}

/// Registers a descriptor (its id comes from the body).
#[utoipa::path(post, path = "/connectors", tag = "catalogue",
    request_body(content = Object, description = "A connector descriptor"),
    responses(
        (status = 201, description = "Registered", body = DescriptorView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn register_connector(
    State(state): State<RegistryState>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<DescriptorView>), ApiError> {
    caller.check_admin("registering a connector descriptor")?;
    let descriptor = validate(&body, None)?;
    register(&state, &caller, &descriptor).await
}

/// Registers a descriptor under the id in the path (the body's `id` must match).
#[utoipa::path(post, path = "/connectors/{connectorId}", tag = "catalogue",
    params(("connectorId" = String, Path, description = "Connector id")),
    request_body(content = Object, description = "A connector descriptor"),
    responses(
        (status = 201, description = "Registered", body = DescriptorView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn register_connector_at(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(connector_id): ApiPath<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<DescriptorView>), ApiError> {
    caller.check_admin("registering a connector descriptor")?;
    let descriptor = validate(&body, Some(&connector_id))?;
    register(&state, &caller, &descriptor).await
}

async fn register(
    state: &RegistryState,
    caller: &Caller,
    descriptor: &Descriptor,
) -> Result<(StatusCode, Json<DescriptorView>), ApiError> {
    let record = state.stores.descriptors.register_descriptor(descriptor.model(), false).await?;
    tracing::info!(connector_id = descriptor.id(), subject = %caller.subject, "connector descriptor registered");
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// One descriptor.
#[utoipa::path(get, path = "/connectors/{connectorId}", tag = "catalogue",
    params(("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 200, description = "The descriptor", body = DescriptorView),
        (status = 404, description = "No such connector", body = ErrorBody),
    ))]
pub async fn get_connector(
    State(state): State<RegistryState>,
    _caller: Caller,
    ApiPath(connector_id): ApiPath<String>,
) -> Result<Json<DescriptorView>, ApiError> {
    Ok(Json(descriptor_record(&state, &connector_id).await?.into()))
}

/// Replaces a user-registered descriptor.
#[utoipa::path(put, path = "/connectors/{connectorId}", tag = "catalogue",
    params(("connectorId" = String, Path, description = "Connector id")),
    request_body(content = Object, description = "The new descriptor (same id)"),
    responses(
        (status = 200, description = "Replaced", body = DescriptorView),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "Built-in descriptors cannot be changed", body = ErrorBody),
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn update_connector(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(connector_id): ApiPath<String>,
    body: Bytes,
) -> Result<Json<DescriptorView>, ApiError> {
    caller.check_admin("changing a connector descriptor")?;
    let existing = descriptor_record(&state, &connector_id).await?;
    if existing.built_in {
        return Err(ApiError::Conflict(format!(
            "connector descriptor `{connector_id}` is built in and cannot be changed (Switchboard releases \
             replace it); register a copy under another id"
        )));
    }
    let descriptor = validate(&body, Some(&connector_id))?;
    let record = state.stores.descriptors.update_descriptor(descriptor.model()).await?;
    tracing::info!(connector_id, subject = %caller.subject, "connector descriptor replaced");
    Ok(Json(record.into()))
}

/// Deletes a user-registered descriptor that no instance uses.
#[utoipa::path(delete, path = "/connectors/{connectorId}", tag = "catalogue",
    params(("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "Built in, or still used by instances", body = ErrorBody),
    ))]
pub async fn delete_connector(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(connector_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.check_admin("deleting a connector descriptor")?;
    let existing = descriptor_record(&state, &connector_id).await?;
    if existing.built_in {
        return Err(ApiError::Conflict(format!(
            "connector descriptor `{connector_id}` is built in and cannot be deleted"
        )));
    }
    let in_use = state.stores.instances.list_instances_by_connector(&connector_id).await?;
    if !in_use.is_empty() {
        return Err(ApiError::Conflict(format!(
            "connector descriptor `{connector_id}` is used by {} instance(s); delete them first",
            in_use.len()
        )));
    }
    state.stores.descriptors.delete_descriptor(&connector_id).await?;
    tracing::info!(connector_id, subject = %caller.subject, "connector descriptor deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The stored descriptor, or 404.
pub(crate) async fn descriptor_record(state: &RegistryState, connector_id: &str) -> Result<DescriptorRecord, ApiError> {
    state
        .stores
        .descriptors
        .get_descriptor(connector_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("connector `{connector_id}` not found")))
}

/// Validates a descriptor body; `path_id` is the id the URL names, which the body must carry.
fn validate(body: &[u8], path_id: Option<&str>) -> Result<Descriptor, ApiError> {
    let value: Value = parse_json(body)?;
    let descriptor =
        Descriptor::from_value(&value, "request body").map_err(|e| ApiError::InvalidDescriptor(e.issues))?;
    match path_id {
        Some(id) if id != descriptor.id() => Err(ApiError::InvalidDescriptor(vec![Issue::new(
            "/id",
            format!("the descriptor's id `{}` does not match `{id}` in the URL", descriptor.id()),
        )])),
        _ => Ok(descriptor),
    }
}
