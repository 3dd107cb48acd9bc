//! Connector descriptors as stored in the registry (seed §5.1: `PK=CONNECTOR#{id}, SK=DESCRIPTOR`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::model::ConnectorDescriptor;

/// A stored descriptor: the authored JSON plus registry bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescriptorRecord {
    /// The descriptor as authored (its `id` is the connector id).
    pub descriptor: ConnectorDescriptor,
    /// Shipped with Switchboard; cannot be deleted.
    pub built_in: bool,
    /// When it was first registered.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl DescriptorRecord {
    /// The connector id.
    pub fn connector_id(&self) -> &str {
        &self.descriptor.id
    }
}

/// Stores connector descriptors. Callers validate a descriptor before storing it.
#[async_trait]
pub trait DescriptorRegistry: Send + Sync {
    /// Every descriptor, ordered by connector id.
    async fn list_descriptors(&self) -> Result<Vec<DescriptorRecord>, StoreError>;

    /// One descriptor, or `None`.
    async fn get_descriptor(&self, connector_id: &str) -> Result<Option<DescriptorRecord>, StoreError>;

    /// Registers a new descriptor; [`StoreError::AlreadyExists`] when its id is taken.
    async fn register_descriptor(
        &self,
        descriptor: &ConnectorDescriptor,
        built_in: bool,
    ) -> Result<DescriptorRecord, StoreError>;

    /// Replaces an existing descriptor, keeping its `builtIn` flag and `createdAt`;
    /// [`StoreError::NotFound`] when there is none.
    async fn update_descriptor(&self, descriptor: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError>;

    /// Writes a shipped descriptor at start-up: creates it, or replaces it and marks it built in.
    async fn upsert_built_in(&self, descriptor: &ConnectorDescriptor) -> Result<DescriptorRecord, StoreError>;

    /// Deletes a user-registered descriptor. [`StoreError::BuiltInProtected`] for built-ins,
    /// [`StoreError::NotFound`] when there is none.
    async fn delete_descriptor(&self, connector_id: &str) -> Result<(), StoreError>;
}
