//! Secrets Manager adapter: one secret per instance, named `{prefix}/{project}/{connector}`,
//! holding the JSON of its credentials. `PutSecretValue` makes the new value `AWSCURRENT` and
//! the one it replaces `AWSPREVIOUS`. Reads are cached per warm process for a short TTL.
//!
//! Compare-and-swap writes: Secrets Manager has no conditional put, but moving a staging label
//! is conditional. The new value is added under the [`PENDING_STAGE`] label (leaving
//! `AWSCURRENT` alone), then `UpdateSecretVersionStage` moves `AWSCURRENT` to it *from the
//! version the writer read*; if `AWSCURRENT` has moved on since, that call fails and nothing
//! changed (the pending version is left without `AWSCURRENT`, and later puts take its label).
//! The version token is the `AWSCURRENT` `VersionId`. When `AWSCURRENT` moves, Secrets Manager
//! moves `AWSPREVIOUS` to the version it left. Unconditional writes take the same path (from
//! whatever version is current), so every write moves `AWSCURRENT` the same way. The previous
//! version was replaced when the current one was created (its `CreatedDate`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::primitives::DateTime as AwsDateTime;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use switchboard_core::ports::{
    CredentialChange, CredentialVersion, CredentialVersions, Credentials, InstanceKey, SecretStore, StoreError,
    StoredCredentials,
};

use crate::LazyClient;
use crate::error::backend;

/// The version stage of the value a rotation replaced.
const PREVIOUS_STAGE: &str = "AWSPREVIOUS";
/// The version stage of the value being read.
const CURRENT_STAGE: &str = "AWSCURRENT";
/// The staging label of a value written by a compare-and-swap before it becomes current.
pub const PENDING_STAGE: &str = "SWITCHBOARD_PENDING";

/// One version of a secret.
struct StoredVersion {
    credentials: Credentials,
    version_id: String,
    created: Option<DateTime<Utc>>,
}

fn chrono_time(at: &AwsDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

fn conflict(key: &InstanceKey) -> StoreError {
    StoreError::ConditionFailed(format!("the credentials of {key} were changed by another writer"))
}

/// Secrets Manager adapter of the secret port, with a warm cache.
#[derive(Debug)]
pub struct SecretsManagerStore {
    client: LazyClient<Client>,
    prefix: String,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, CredentialVersions)>>,
}

impl SecretsManagerStore {
    /// Names secrets `{prefix}/{project}/{connector}`; caches reads for `cache_ttl` (zero: never).
    /// `client` is built already, or on its first use.
    pub fn new(client: impl Into<LazyClient<Client>>, prefix: impl Into<String>, cache_ttl: Duration) -> Self {
        Self {
            client: client.into(),
            prefix: prefix.into().trim_end_matches('/').to_owned(),
            cache_ttl,
            cache: Mutex::default(),
        }
    }

    /// The secret's name for an instance.
    pub fn secret_name(&self, key: &InstanceKey) -> String {
        format!("{}/{}/{}", self.prefix, key.project_id, key.connector_id)
    }

    fn cached(&self, name: &str) -> Option<CredentialVersions> {
        let cache = self.cache.lock().ok()?;
        let (stored_at, versions) = cache.get(name)?;
        (stored_at.elapsed() < self.cache_ttl).then(|| versions.clone())
    }

    fn remember(&self, name: &str, versions: Option<&CredentialVersions>) {
        if let Ok(mut cache) = self.cache.lock() {
            match versions {
                Some(versions) if !self.cache_ttl.is_zero() => {
                    cache.insert(name.to_owned(), (Instant::now(), versions.clone()));
                }
                _ => {
                    cache.remove(name);
                }
            }
        }
    }

    /// One version stage's value, or `None` when the secret or the stage does not exist. The
    /// stage is always named: moto answers a read without one with the version that was current
    /// before the last `UpdateSecretVersionStage`.
    async fn read_stage(&self, name: &str, stage: &str) -> Result<Option<StoredVersion>, StoreError> {
        let result = self.client.get_secret_value().secret_id(name).version_stage(stage).send().await;
        match result {
            Ok(out) => {
                let text = out
                    .secret_string()
                    .ok_or_else(|| StoreError::Corrupt(format!("secret `{name}` has no string value")))?;
                let version_id = out
                    .version_id()
                    .ok_or_else(|| StoreError::Corrupt(format!("secret `{name}` has a version without an id")))?;
                Ok(Some(StoredVersion {
                    credentials: Credentials::from_json(text)?,
                    version_id: version_id.to_owned(),
                    created: out.created_date().and_then(chrono_time),
                }))
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(backend("reading a secret", e)),
        }
    }

    /// Current and previous versions, read now (and remembered for the cache).
    async fn read_versions(&self, name: &str) -> Result<Option<CredentialVersions>, StoreError> {
        let Some(current) = self.read_stage(name, CURRENT_STAGE).await? else {
            self.remember(name, None);
            return Ok(None);
        };
        let previous = self.read_stage(name, PREVIOUS_STAGE).await?;
        let versions = CredentialVersions {
            previous_replaced_at: previous.as_ref().and(current.created),
            previous: previous.map(|p| p.credentials),
            current: current.credentials,
            version: CredentialVersion::new(current.version_id),
        };
        self.remember(name, Some(&versions));
        Ok(Some(versions))
    }

    /// Creates the secret only if there is none; `ConditionFailed` when there is one.
    async fn create_new(&self, key: &InstanceKey, name: &str, value: &str) -> Result<(String, String), StoreError> {
        let created = self
            .client
            .create_secret()
            .name(name)
            .description(format!("Switchboard credentials of {key}"))
            .secret_string(value)
            .send()
            .await;
        match created {
            Ok(out) => Ok((
                out.arn().map(str::to_owned).ok_or_else(no_arn)?,
                out.version_id().map(str::to_owned).ok_or_else(no_version)?,
            )),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => Err(conflict(key)),
            Err(e) => Err(backend("creating a secret", e)),
        }
    }

    /// Adds `value` as a pending version, then moves `AWSCURRENT` to it from `expected`.
    async fn replace_from(
        &self,
        key: &InstanceKey,
        name: &str,
        expected: &CredentialVersion,
        value: &str,
    ) -> Result<(String, String), StoreError> {
        let put = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .version_stages(PENDING_STAGE)
            .send()
            .await;
        let (arn, version_id) = match put {
            Ok(out) => (
                out.arn().map(str::to_owned).ok_or_else(no_arn)?,
                out.version_id().map(str::to_owned).ok_or_else(no_version)?,
            ),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                return Err(conflict(key));
            }
            Err(e) => return Err(backend("storing a secret", e)),
        };
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage(CURRENT_STAGE)
            .remove_from_version_id(expected.as_str())
            .move_to_version_id(&version_id)
            .send()
            .await;
        match moved {
            Ok(_) => Ok((arn, version_id)),
            Err(e) => {
                // The call fails when `AWSCURRENT` is no longer on `expected`: a conflict. Any
                // other failure leaves it there.
                let current = self.read_stage(name, CURRENT_STAGE).await?;
                if current.is_none_or(|c| c.version_id != expected.as_str()) {
                    Err(conflict(key))
                } else {
                    Err(backend("making a secret version current", e))
                }
            }
        }
    }
}

fn no_arn() -> StoreError {
    StoreError::backend("storing a secret", "Secrets Manager returned no ARN")
}

fn no_version() -> StoreError {
    StoreError::backend("storing a secret", "Secrets Manager returned no version id")
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        let name = self.secret_name(key);
        if let Some(versions) = self.cached(&name) {
            return Ok(Some(versions));
        }
        self.read_versions(&name).await
    }

    async fn read_latest_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        self.read_versions(&self.secret_name(key)).await
    }

    async fn put_credentials_if(
        &self,
        key: &InstanceKey,
        expected: Option<&CredentialVersion>,
        credentials: &Credentials,
    ) -> Result<StoredCredentials, StoreError> {
        let name = self.secret_name(key);
        let value = credentials.to_json();
        self.remember(&name, None);
        let written = match expected {
            None => self.create_new(key, &name, value.expose_secret()).await,
            Some(expected) => self.replace_from(key, &name, expected, value.expose_secret()).await,
        };
        self.remember(&name, None);
        let (secret_ref, version_id) = written?;
        Ok(StoredCredentials {
            secret_ref,
            version: CredentialVersion::new(version_id),
            credentials: credentials.clone(),
        })
    }

    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError> {
        // Through the same label move as every other write, so `AWSCURRENT` only ever moves one
        // way (moto's plain `PutSecretValue` does not see a move made by `UpdateSecretVersionStage`).
        let replace = CredentialChange::replace_all(credentials);
        Ok(self.update_credentials(key, &replace).await?.secret_ref)
    }

    async fn delete_credentials(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let name = self.secret_name(key);
        self.remember(&name, None);
        let result = self.client.delete_secret().secret_id(&name).force_delete_without_recovery(true).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(()),
            Err(e) => Err(backend("deleting a secret", e)),
        }
    }
}
