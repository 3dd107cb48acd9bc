//! The checks that run before any secret is read: the path names valid ids, the instance
//! exists and is enabled, and its connector receives webhooks.

use switchboard_core::catalog::{CatalogError, LoadedConnector};
use switchboard_core::ports::{InstanceKey, InstanceRecord};
use switchboard_core::{ConnectorId, ProjectId};

use crate::error::GatewayError;
use crate::state::GatewayState;

impl GatewayError {
    /// The one 404 for every "nothing to deliver to here".
    pub(crate) fn not_found(key: &InstanceKey) -> Self {
        Self::NotFound { connector_id: key.connector_id.clone(), project_id: key.project_id.clone() }
    }
}

/// The instance a webhook path names, its ids parsed once here.
pub(crate) struct Target {
    /// The connector id in the path.
    pub(crate) connector_id: ConnectorId,
    /// The project id in the path.
    pub(crate) project_id: ProjectId,
    /// The same two ids as the stores' key.
    pub(crate) key: InstanceKey,
}

impl Target {
    /// Parses the path's ids. An id no instance could have gets the same 404 as an unknown
    /// instance: the answer reveals nothing more.
    pub(crate) fn parse(connector_id: &str, project_id: &str) -> Result<Self, GatewayError> {
        let not_found =
            || GatewayError::NotFound { connector_id: connector_id.to_owned(), project_id: project_id.to_owned() };
        let connector_id = ConnectorId::parse(connector_id).map_err(|_| not_found())?;
        let project_id = ProjectId::parse(project_id).map_err(|_| not_found())?;
        let key = InstanceKey::from_ids(&connector_id, &project_id);
        Ok(Self { connector_id, project_id, key })
    }
}

/// The instance, if it exists and is enabled (404 otherwise).
pub(crate) async fn enabled_instance(state: &GatewayState, key: &InstanceKey) -> Result<InstanceRecord, GatewayError> {
    match state.instances.get_instance(key).await {
        Ok(Some(instance)) if instance.enabled => Ok(instance),
        Ok(Some(_)) => {
            tracing::debug!("instance is disabled");
            Err(GatewayError::not_found(key))
        }
        Ok(None) => Err(GatewayError::not_found(key)),
        Err(source) => Err(GatewayError::Unavailable {
            action: "looking up the instance",
            retry_after: state.settings.unavailable_retry_after,
            source,
        }),
    }
}

/// The instance's connector, if its descriptor declares webhook ingestion (404 otherwise).
pub(crate) async fn webhook_connector(
    state: &GatewayState,
    key: &InstanceKey,
) -> Result<LoadedConnector, GatewayError> {
    match state.catalog.get(&key.connector_id).await {
        Ok(Some(loaded)) if loaded.connector.receives_webhooks() => Ok(loaded),
        Ok(Some(_)) => {
            tracing::debug!("connector does not receive webhooks");
            Err(GatewayError::not_found(key))
        }
        Ok(None) => Err(GatewayError::not_found(key)),
        Err(CatalogError::Store(source)) => Err(GatewayError::Unavailable {
            action: "loading the connector descriptor",
            retry_after: state.settings.unavailable_retry_after,
            source,
        }),
        Err(other) => Err(GatewayError::Internal(other)),
    }
}
