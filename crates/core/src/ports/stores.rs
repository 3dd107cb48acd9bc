//! [`Stores`]: one adapter per port, and the operations that span several of them.

use std::sync::Arc;

use super::{
    CheckpointStore, CredentialChange, Credentials, DedupStore, DescriptorRegistry, InstanceKey, InstanceRecord,
    InstanceRegistry, InstanceUpdate, LeaseStore, NewInstance, OAuthStateStore, RateLimiter, SecretStore, SignalStore,
    StatsStore, StoreError, StoredCredentials,
};

/// Every storage port, wired to one backend. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    /// Connector descriptors.
    pub descriptors: Arc<dyn DescriptorRegistry>,
    /// Connector instances.
    pub instances: Arc<dyn InstanceRegistry>,
    /// Poll checkpoints.
    pub checkpoints: Arc<dyn CheckpointStore>,
    /// Poller leases.
    pub leases: Arc<dyn LeaseStore>,
    /// Instance credentials.
    pub secrets: Arc<dyn SecretStore>,
    /// Signal deduplication.
    pub dedup: Arc<dyn DedupStore>,
    /// Signal counts and sync runs.
    pub stats: Arc<dyn StatsStore>,
    /// Recent signals per project.
    pub signals: Arc<dyn SignalStore>,
    /// Request counters shared by every process.
    pub rate_limits: Arc<dyn RateLimiter>,
    /// Pending OAuth2 authorisations.
    pub oauth_states: Arc<dyn OAuthStateStore>,
}

impl Stores {
    /// Creates an instance of a registered connector and stores its credentials (if any).
    ///
    /// The row is created first, conditionally, so an existing instance's secret is never
    /// overwritten; if storing the secret fails, the row is removed again.
    pub async fn create_instance(
        &self,
        new: &NewInstance,
        credentials: &Credentials,
    ) -> Result<InstanceRecord, StoreError> {
        if self.descriptors.get_descriptor(&new.key.connector_id).await?.is_none() {
            return Err(StoreError::descriptor_not_found(&new.key.connector_id));
        }
        let record = self.instances.create_instance(new).await?;
        if credentials.is_empty() {
            return Ok(record);
        }
        match self.store_credentials(&new.key, credentials).await {
            Ok(record) => Ok(record),
            Err(err) => {
                if let Err(cleanup) = self.instances.delete_instance(&new.key).await {
                    tracing::error!(instance = %new.key, error = %cleanup, "could not remove instance after its secret failed");
                }
                Err(err)
            }
        }
    }

    /// Replaces an existing instance's credentials (the old ones become `previous`) and records
    /// the secret's reference on the instance. New credentials end a wait for re-authorisation.
    pub async fn store_credentials(
        &self,
        key: &InstanceKey,
        credentials: &Credentials,
    ) -> Result<InstanceRecord, StoreError> {
        if self.instances.get_instance(key).await?.is_none() {
            return Err(StoreError::instance_not_found(key));
        }
        let secret_ref = self.secrets.put_credentials(key, credentials).await?;
        let update = InstanceUpdate {
            credential_secret_ref: Some(Some(secret_ref)),
            reauth_needed: Some(false),
            ..InstanceUpdate::default()
        };
        self.instances.update_instance(key, &update).await
    }

    /// Changes an existing instance's credentials without losing a concurrent change: `change`
    /// is applied to the latest stored version with a compare-and-swap
    /// ([`super::SecretStore::update_credentials`]); then the secret's reference is recorded on
    /// the instance (which marks it changed). Use [`CredentialChange::merge`] for a PATCH, [`CredentialChange::replace_all`]
    /// for a new connection and [`CredentialChange::oauth_tokens`] after a token refresh.
    pub async fn update_credentials(
        &self,
        key: &InstanceKey,
        change: &CredentialChange,
    ) -> Result<StoredCredentials, StoreError> {
        if self.instances.get_instance(key).await?.is_none() {
            return Err(StoreError::instance_not_found(key));
        }
        let stored = self.secrets.update_credentials(key, change).await?;
        // Also bumps `updatedAt`: an instance waiting for re-authorisation is due again.
        let update = InstanceUpdate {
            credential_secret_ref: Some(Some(stored.secret_ref.clone())),
            ..InstanceUpdate::default()
        };
        self.instances.update_instance(key, &update).await?;
        Ok(stored)
    }

    /// Deletes an instance with its secret and checkpoint. Safe to retry: the row goes last, so a
    /// failure half-way leaves it in place for the next attempt. (A poller's lease simply expires.)
    pub async fn delete_instance(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let Some(record) = self.instances.get_instance(key).await? else {
            return Err(StoreError::instance_not_found(key));
        };
        self.secrets.delete_credentials(key).await?;
        self.checkpoints.delete_checkpoint(key).await?;
        self.instances.delete_instance(&record.key()).await
    }
}
