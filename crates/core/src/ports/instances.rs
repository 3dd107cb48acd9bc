//! Connector instances: a connector configured for one project (seed §5.1:
//! `PK=PROJECT#{p}, SK=CONNECTOR_INSTANCE#{c}`, listed per connector through `GSI2`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::key::InstanceKey;
use super::subscription_state::SubscriptionState;

/// Health as last observed by health checks and syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceHealth {
    /// When the last health check ran.
    pub last_health_check: Option<DateTime<Utc>>,
    /// Whether the last health check passed (`false` until one has).
    pub healthy: bool,
    /// Failed checks or syncs in a row.
    pub consecutive_failures: u32,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the last successful sync finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Latency of the last health check.
    pub last_latency_ms: Option<u64>,
}

/// A stored instance. Credentials are not here: the secret store holds them and
/// `credential_secret_ref` points at them (a Secrets Manager ARN on AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    /// The project.
    pub project_id: String,
    /// The connector id.
    pub connector_id: String,
    /// Disabled instances are neither polled nor accept webhooks.
    pub enabled: bool,
    /// Where the credentials are (`credentialSecretArn` in DynamoDB), once stored.
    pub credential_secret_ref: Option<String>,
    /// Non-secret configuration values (`baseUrl`, `projectKey`, …).
    pub config: BTreeMap<String, String>,
    /// Health fields.
    #[serde(flatten)]
    pub health: InstanceHealth,
    /// The webhook subscription Switchboard manages at the provider, once it tried to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionState>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl InstanceRecord {
    /// The record of a just-created instance: no credentials yet, no health observed.
    pub fn created(new: &NewInstance, at: DateTime<Utc>) -> Self {
        Self {
            project_id: new.key.project_id.clone(),
            connector_id: new.key.connector_id.clone(),
            enabled: new.enabled,
            credential_secret_ref: None,
            config: new.config.clone(),
            health: InstanceHealth::default(),
            subscription: None,
            created_at: at,
            updated_at: at,
        }
    }

    /// This instance's key.
    pub fn key(&self) -> InstanceKey {
        InstanceKey::new(&self.project_id, &self.connector_id)
    }
}

/// What creating an instance needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// Which connector in which project.
    pub key: InstanceKey,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Whether it starts enabled.
    pub enabled: bool,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceUpdate {
    /// Replaces the whole config map.
    pub config: Option<BTreeMap<String, String>>,
    /// Enables or disables.
    pub enabled: Option<bool>,
    /// Sets (`Some(Some(..))`) or clears (`Some(None)`) the credential reference.
    pub credential_secret_ref: Option<Option<String>>,
    /// Sets (`Some(Some(..))`) or clears (`Some(None)`) the managed webhook subscription.
    pub subscription: Option<Option<SubscriptionState>>,
}

/// The outcome of one health check or sync, folded into [`InstanceHealth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthUpdate {
    /// A health check ran.
    Checked {
        /// When.
        at: DateTime<Utc>,
        /// Whether it passed.
        healthy: bool,
        /// How long it took.
        latency_ms: u64,
        /// Why it failed.
        error: Option<String>,
    },
    /// A sync succeeded.
    Synced {
        /// When it finished.
        at: DateTime<Utc>,
    },
    /// A sync failed, or another scheduled task of the instance did (renewing its webhook
    /// subscription): the message says which.
    SyncFailed {
        /// Why.
        error: String,
    },
}

impl InstanceHealth {
    /// Applies one health event: failures count up, a success resets the count.
    pub fn apply(&mut self, update: &HealthUpdate) {
        match update {
            HealthUpdate::Checked { at, healthy, latency_ms, error } => {
                self.last_health_check = Some(*at);
                self.healthy = *healthy;
                self.last_latency_ms = Some(*latency_ms);
                if *healthy {
                    self.consecutive_failures = 0;
                    self.last_error = None;
                } else {
                    self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                    self.last_error = error.clone();
                }
            }
            HealthUpdate::Synced { at } => {
                self.last_sync_at = Some(*at);
                self.consecutive_failures = 0;
                self.last_error = None;
            }
            HealthUpdate::SyncFailed { error } => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_error = Some(error.clone());
            }
        }
    }
}

/// Stores connector instances.
#[async_trait]
pub trait InstanceRegistry: Send + Sync {
    /// Instances of one project, ordered by connector id.
    async fn list_instances_by_project(&self, project_id: &str) -> Result<Vec<InstanceRecord>, StoreError>;

    /// Instances of one connector across projects, ordered by project id (the `GSI2` query).
    async fn list_instances_by_connector(&self, connector_id: &str) -> Result<Vec<InstanceRecord>, StoreError>;

    /// One instance, or `None`.
    async fn get_instance(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>, StoreError>;

    /// Creates an instance; [`StoreError::AlreadyExists`] when it exists.
    async fn create_instance(&self, new: &NewInstance) -> Result<InstanceRecord, StoreError>;

    /// Applies a partial update; [`StoreError::NotFound`] when there is no such instance.
    async fn update_instance(&self, key: &InstanceKey, update: &InstanceUpdate) -> Result<InstanceRecord, StoreError>;

    /// Enables or disables; [`StoreError::NotFound`] when there is no such instance.
    async fn enable_instance(&self, key: &InstanceKey, enabled: bool) -> Result<(), StoreError> {
        self.update_instance(key, &InstanceUpdate { enabled: Some(enabled), ..InstanceUpdate::default() }).await?;
        Ok(())
    }

    /// Records a health check or sync outcome; returns the new health.
    async fn record_health(&self, key: &InstanceKey, update: &HealthUpdate) -> Result<InstanceHealth, StoreError>;

    /// Deletes the instance row only; [`StoreError::NotFound`] when there is none.
    /// Use [`super::Stores::delete_instance`] to remove its secret and checkpoint too.
    async fn delete_instance(&self, key: &InstanceKey) -> Result<(), StoreError>;
}
