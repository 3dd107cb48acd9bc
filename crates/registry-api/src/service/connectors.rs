//! The connector catalogue's rules: filtering, descriptor validation, and which descriptors may
//! change. Built-in descriptors ship with Switchboard and are replaced by each newer release, so
//! they can be neither changed nor deleted; a descriptor still used by instances cannot be
//! deleted. A user descriptor registered under an id a later release ships as built in is kept
//! (start-up registration never overwrites it) and is marked as shadowing that built-in.

use serde_json::Value;
use switchboard_core::builtin::is_built_in_id;
use switchboard_core::catalog::{CatalogError, LoadedConnector};
use switchboard_core::model::{ConnectorCategory, ConnectorDescriptor};
use switchboard_core::ports::DescriptorRecord;
use switchboard_core::{Descriptor, Issue};

use crate::service::access::Admin;
use crate::service::error::ServiceError;
use crate::state::RegistryState;

/// The catalogue categories, in the order the dashboard shows them.
pub const CATEGORIES: [ConnectorCategory; 5] = [
    ConnectorCategory::ProjectManagement,
    ConnectorCategory::Communication,
    ConnectorCategory::CodeAndDevops,
    ConnectorCategory::Documents,
    ConnectorCategory::Custom,
];

/// Catalogue filters; empty values do not filter.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogueFilter<'a> {
    /// A category name (`project_management`, ...).
    pub category: Option<&'a str>,
    /// Case-insensitive text searched in the id, name and description.
    pub text: Option<&'a str>,
}

/// The catalogue entries matching `filter`, ordered by id.
pub async fn list(state: &RegistryState, filter: CatalogueFilter<'_>) -> Result<Vec<DescriptorRecord>, ServiceError> {
    let category = match filter.category.filter(|c| !c.is_empty()) {
        None => None,
        Some(name) => Some(CATEGORIES.into_iter().find(|c| c.as_str() == name).ok_or_else(|| {
            let known: Vec<&str> = CATEGORIES.iter().map(|c| c.as_str()).collect();
            ServiceError::Invalid(format!("unknown category `{name}` (expected one of: {})", known.join(", ")))
        })?),
    };
    let needle = filter.text.map(|q| q.trim().to_lowercase()).filter(|q| !q.is_empty());
    let mut records = state.stores.descriptors.list_descriptors().await?;
    records.retain(|r| {
        category.is_none_or(|c| r.descriptor.category == c)
            && needle.as_deref().is_none_or(|n| matches_text(&r.descriptor, n))
    });
    Ok(records)
}

fn matches_text(descriptor: &ConnectorDescriptor, needle: &str) -> bool {
    [&descriptor.id, &descriptor.name, &descriptor.description].iter().any(|text| text.to_lowercase().contains(needle))
}

/// Whether `record` is a user-registered descriptor holding the id of a connector this release
/// ships built in: the built-in is not installed while it exists (deleting it lets the next
/// start install the built-in).
pub fn shadows_built_in(record: &DescriptorRecord) -> bool {
    !record.built_in && is_built_in_id(record.connector_id())
}

/// The stored descriptor, or `NotFound`.
pub async fn get(state: &RegistryState, connector_id: &str) -> Result<DescriptorRecord, ServiceError> {
    state
        .stores
        .descriptors
        .get_descriptor(connector_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("connector `{connector_id}` not found")))
}

/// The compiled connector registered under `connector_id` (for health checks and OAuth2), or
/// `NotFound`.
pub async fn compiled(state: &RegistryState, connector_id: &str) -> Result<LoadedConnector, ServiceError> {
    match state.catalog.get(connector_id).await {
        Ok(Some(loaded)) => Ok(loaded),
        Ok(None) => Err(ServiceError::NotFound(format!("connector `{connector_id}` not found"))),
        Err(CatalogError::Store(error)) => Err(error.into()),
        Err(error) => Err(ServiceError::internal("compiling a stored descriptor", error)),
    }
}

/// Validates a descriptor with the same validator as `switchboard validate`; `path_id` is the id
/// the URL names, which the descriptor must carry.
pub fn validate(value: &Value, path_id: Option<&str>) -> Result<Descriptor, ServiceError> {
    let descriptor =
        Descriptor::from_value(value, "request body").map_err(|e| ServiceError::InvalidDescriptor(e.issues))?;
    match path_id {
        Some(id) if id != descriptor.id() => Err(ServiceError::InvalidDescriptor(vec![Issue::new(
            "/id",
            format!("the descriptor's id `{}` does not match `{id}` in the URL", descriptor.id()),
        )])),
        _ => Ok(descriptor),
    }
}

/// Registers a user descriptor (`Conflict` when the id is taken).
pub async fn register(
    state: &RegistryState,
    admin: Admin<'_>,
    descriptor: &Descriptor,
) -> Result<DescriptorRecord, ServiceError> {
    let record = state.stores.descriptors.register_descriptor(descriptor.model(), false).await?;
    tracing::info!(connector_id = descriptor.id(), subject = %admin.subject(), "connector descriptor registered");
    Ok(record)
}

/// Checks that the descriptor exists and is not built in, before its replacement is read.
pub async fn check_replaceable(
    state: &RegistryState,
    _admin: Admin<'_>,
    connector_id: &str,
) -> Result<(), ServiceError> {
    if get(state, connector_id).await?.built_in {
        return Err(ServiceError::Conflict(format!(
            "connector descriptor `{connector_id}` is built in and cannot be changed (Switchboard releases \
             replace it); register a copy under another id"
        )));
    }
    Ok(())
}

/// Replaces a user descriptor (checked with [`check_replaceable`]).
pub async fn replace(
    state: &RegistryState,
    admin: Admin<'_>,
    descriptor: &Descriptor,
) -> Result<DescriptorRecord, ServiceError> {
    let record = state.stores.descriptors.update_descriptor(descriptor.model()).await?;
    tracing::info!(connector_id = descriptor.id(), subject = %admin.subject(), "connector descriptor replaced");
    Ok(record)
}

/// Deletes a user descriptor that no instance uses.
pub async fn delete(state: &RegistryState, admin: Admin<'_>, connector_id: &str) -> Result<(), ServiceError> {
    if get(state, connector_id).await?.built_in {
        return Err(ServiceError::Conflict(format!(
            "connector descriptor `{connector_id}` is built in and cannot be deleted"
        )));
    }
    let in_use = state.stores.instances.list_instances_by_connector(connector_id).await?;
    if !in_use.is_empty() {
        return Err(ServiceError::Conflict(format!(
            "connector descriptor `{connector_id}` is used by {} instance(s); delete them first",
            in_use.len()
        )));
    }
    state.stores.descriptors.delete_descriptor(connector_id).await?;
    tracing::info!(connector_id, subject = %admin.subject(), "connector descriptor deleted");
    Ok(())
}
