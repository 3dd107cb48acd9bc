//! The connector catalogue and descriptor CRUD: `/connectors` and `/connectors/{connectorId}`.
//!
//! Anyone authenticated may read the catalogue; writes need an admin caller. Every written
//! descriptor goes through the same validator as `switchboard validate`, and a failure lists every
//! problem with its JSON pointer (422). Built-in descriptors can be neither changed nor deleted,
//! nor can descriptors still in use be deleted (409); the rules are [`service::connectors`]'.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::model::{ConnectorDescriptor, ConnectorKind, IngestionDescriptor};
use switchboard_core::ports::DescriptorRecord;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiBytes, ApiPath, ApiQuery, parse_json};
use crate::routes::params::{AuthenticatedErrors, BadBody, BadPath, ConnectorPath};
use crate::service;
use crate::service::connectors::CatalogueFilter;
use crate::state::RegistryState;

/// Catalogue filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogueQuery {
    /// Only this category (empty: every category).
    #[param(schema_with = category_schema, example = "code_and_devops")]
    pub category: Option<String>,
    /// Case-insensitive text searched in the id, name and description (empty: no filter).
    #[param(example = "github")]
    pub q: Option<String>,
}

/// `category`'s schema: a category name, or empty for all (the values
/// [`service::connectors::list`] accepts).
fn category_schema() -> Object {
    let mut names = vec![""];
    names.extend(service::connectors::CATEGORIES.iter().map(|c| c.as_str()));
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).build()
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
    /// `oauth2`, `api_key`, `pat`, `basic`, `webhook_secret`, `none`,
    /// `oauth2_client_credentials`, `jwt_assertion` or `session_token`.
    pub auth_method: String,
    /// `polling`, `webhook` or `polling_and_webhook`.
    pub ingestion: String,
    /// Whether the descriptor declares a health check, i.e. whether `POST .../test` can run
    /// (a webhook-only connector may declare none).
    pub has_health_check: bool,
    /// Shipped with Switchboard.
    pub built_in: bool,
    /// A user-registered descriptor holding the id of a connector this release ships built
    /// in: the built-in is not installed until this descriptor is deleted.
    pub shadows_built_in: bool,
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
    /// A user-registered descriptor holding the id of a connector this release ships built
    /// in: the built-in is not installed until this descriptor is deleted.
    pub shadows_built_in: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<DescriptorRecord> for DescriptorView {
    fn from(record: DescriptorRecord) -> Self {
        Self {
            shadows_built_in: service::connectors::shadows_built_in(&record),
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
            has_health_check: d.health_check.is_some() || d.kind == ConnectorKind::Native,
            built_in: record.built_in,
            shadows_built_in: service::connectors::shadows_built_in(record),
            version: d.version.clone(),
        }
    }
}

/// Lists the catalogue.
#[utoipa::path(get, path = "/connectors", tag = "catalogue", params(CatalogueQuery),
    responses(
        (status = 200, description = "Matching connectors", body = ConnectorList),
        (status = 400, description = "Unknown category, or a query that does not decode (`bad_request`)", body = ErrorBody),
        AuthenticatedErrors,
    ))]
pub async fn list_connectors(
    State(state): State<RegistryState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<CatalogueQuery>,
) -> Result<Json<ConnectorList>, ApiError> {
    let filter = CatalogueFilter { category: query.category.as_deref(), text: query.q.as_deref() };
    let records = service::connectors::list(&state, filter).await?;
    Ok(Json(ConnectorList { connectors: records.iter().map(ConnectorSummary::from).collect() }))
}

/// Registers a descriptor (its id comes from the body).
#[utoipa::path(post, path = "/connectors", tag = "catalogue",
    request_body(content = Object, description = "A connector descriptor (see `descriptors/descriptor.schema.json`)"),
    responses(
        (status = 201, description = "Registered", body = DescriptorView),
        BadBody,
        AuthenticatedErrors,
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn register_connector(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<DescriptorView>), ApiError> {
    let admin = service::access::admin(&caller, "registering a connector descriptor")?;
    let value: Value = parse_json(&body)?;
    let descriptor = service::connectors::validate(&value, None)?;
    let record = service::connectors::register(&state, admin, &descriptor).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Registers a descriptor under the id in the path (the body's `id` must match).
#[utoipa::path(post, path = "/connectors/{connectorId}", tag = "catalogue",
    params(ConnectorPath),
    request_body(content = Object, description = "A connector descriptor (see `descriptors/descriptor.schema.json`)"),
    responses(
        (status = 201, description = "Registered", body = DescriptorView),
        BadBody,
        AuthenticatedErrors,
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 409, description = "The id is taken", body = ErrorBody),
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn register_connector_at(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(ConnectorPath { connector_id }): ApiPath<ConnectorPath>,
    ApiBytes(body): ApiBytes,
) -> Result<(StatusCode, Json<DescriptorView>), ApiError> {
    let admin = service::access::admin(&caller, "registering a connector descriptor")?;
    let value: Value = parse_json(&body)?;
    let descriptor = service::connectors::validate(&value, Some(connector_id.as_str()))?;
    let record = service::connectors::register(&state, admin, &descriptor).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// One descriptor.
#[utoipa::path(get, path = "/connectors/{connectorId}", tag = "catalogue",
    params(ConnectorPath),
    responses(
        (status = 200, description = "The descriptor", body = DescriptorView),
        BadPath,
        AuthenticatedErrors,
        (status = 404, description = "No such connector", body = ErrorBody),
    ))]
pub async fn get_connector(
    State(state): State<RegistryState>,
    _caller: Caller,
    ApiPath(ConnectorPath { connector_id }): ApiPath<ConnectorPath>,
) -> Result<Json<DescriptorView>, ApiError> {
    Ok(Json(service::connectors::get(&state, connector_id.as_str()).await?.into()))
}

/// Replaces a user-registered descriptor.
#[utoipa::path(put, path = "/connectors/{connectorId}", tag = "catalogue",
    params(ConnectorPath),
    request_body(content = Object, description = "The new descriptor (same id)"),
    responses(
        (status = 200, description = "Replaced", body = DescriptorView),
        BadBody,
        AuthenticatedErrors,
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "Built-in descriptors cannot be changed", body = ErrorBody),
        (status = 422, description = "Invalid descriptor; `details` lists every problem", body = ErrorBody),
    ))]
pub async fn update_connector(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(ConnectorPath { connector_id }): ApiPath<ConnectorPath>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<DescriptorView>, ApiError> {
    let admin = service::access::admin(&caller, "changing a connector descriptor")?;
    service::connectors::check_replaceable(&state, admin, connector_id.as_str()).await?;
    let value: Value = parse_json(&body)?;
    let descriptor = service::connectors::validate(&value, Some(connector_id.as_str()))?;
    Ok(Json(service::connectors::replace(&state, admin, &descriptor).await?.into()))
}

/// Deletes a user-registered descriptor that no instance uses.
#[utoipa::path(delete, path = "/connectors/{connectorId}", tag = "catalogue",
    params(ConnectorPath),
    responses(
        (status = 204, description = "Deleted"),
        BadPath,
        AuthenticatedErrors,
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such connector", body = ErrorBody),
        (status = 409, description = "Built in, or still used by instances", body = ErrorBody),
    ))]
pub async fn delete_connector(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(ConnectorPath { connector_id }): ApiPath<ConnectorPath>,
) -> Result<StatusCode, ApiError> {
    let admin = service::access::admin(&caller, "deleting a connector descriptor")?;
    service::connectors::delete(&state, admin, connector_id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}
