//! Secrets Manager adapter: one secret per instance, named `{prefix}/{project}/{connector}`,
//! holding the JSON of its credentials. `PutSecretValue` makes the new value `AWSCURRENT` and
//! the one it replaces `AWSPREVIOUS`. Reads are cached per warm process for a short TTL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use secrecy::ExposeSecret;
use switchboard_core::ports::{CredentialVersions, Credentials, InstanceKey, SecretStore, StoreError};

use crate::error::backend;

/// The version stage of the value a rotation replaced.
const PREVIOUS_STAGE: &str = "AWSPREVIOUS";

/// Secrets Manager adapter of the secret port, with a warm cache.
#[derive(Debug)]
pub struct SecretsManagerStore {
    client: Client,
    prefix: String,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, CredentialVersions)>>,
}

impl SecretsManagerStore {
    /// Names secrets `{prefix}/{project}/{connector}`; caches reads for `cache_ttl` (zero: never).
    pub fn new(client: Client, prefix: impl Into<String>, cache_ttl: Duration) -> Self {
        Self { client, prefix: prefix.into().trim_end_matches('/').to_owned(), cache_ttl, cache: Mutex::default() }
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

    /// One version stage's value, or `None` when the secret or the stage does not exist.
    async fn read_stage(&self, name: &str, stage: Option<&str>) -> Result<Option<Credentials>, StoreError> {
        let result =
            self.client.get_secret_value().secret_id(name).set_version_stage(stage.map(str::to_owned)).send().await;
        match result {
            Ok(out) => {
                let text = out
                    .secret_string()
                    .ok_or_else(|| StoreError::Corrupt(format!("secret `{name}` has no string value")))?;
                Credentials::from_json(text).map(Some)
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => Ok(None),
            Err(e) => Err(backend("reading a secret", e)),
        }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError> {
        let name = self.secret_name(key);
        if let Some(versions) = self.cached(&name) {
            return Ok(Some(versions));
        }
        let Some(current) = self.read_stage(&name, None).await? else { return Ok(None) };
        let previous = self.read_stage(&name, Some(PREVIOUS_STAGE)).await?;
        let versions = CredentialVersions { current, previous };
        self.remember(&name, Some(&versions));
        Ok(Some(versions))
    }

    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError> {
        let name = self.secret_name(key);
        let value = credentials.to_json();
        self.remember(&name, None);
        let put = self.client.put_secret_value().secret_id(&name).secret_string(value.expose_secret()).send().await;
        let arn = match put {
            Ok(out) => out.arn().map(str::to_owned),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                let created = self
                    .client
                    .create_secret()
                    .name(&name)
                    .description(format!("Switchboard credentials of {key}"))
                    .secret_string(value.expose_secret())
                    .send()
                    .await;
                match created {
                    Ok(out) => out.arn().map(str::to_owned),
                    // Another writer created it first: rotate on top of theirs.
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_exists_exception()) => self
                        .client
                        .put_secret_value()
                        .secret_id(&name)
                        .secret_string(value.expose_secret())
                        .send()
                        .await
                        .map_err(|e| backend("storing a secret", e))?
                        .arn()
                        .map(str::to_owned),
                    Err(e) => return Err(backend("creating a secret", e)),
                }
            }
            Err(e) => return Err(backend("storing a secret", e)),
        };
        arn.ok_or_else(|| StoreError::backend("storing a secret", "Secrets Manager returned no ARN"))
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
