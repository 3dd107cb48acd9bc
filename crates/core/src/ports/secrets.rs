//! Instance credentials: one secret per instance holding its credential fields and OAuth tokens,
//! with the previous version kept for rotation.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use super::{InstanceKey, StoreError};

/// Credential values by field key (`apiKey`, `accessToken`, …). `Debug` shows the keys only.
#[derive(Clone, Default)]
pub struct Credentials(BTreeMap<String, SecretString>);

impl Credentials {
    /// No credentials.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), SecretString::from(value.into()));
    }

    /// One value.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.0.get(key)
    }

    /// The field keys, in order (safe to show: `credentialsSet`).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Serialises to the JSON object stored in the secret (`{"apiKey": "..."}`).
    pub fn to_json(&self) -> SecretString {
        let map: serde_json::Map<String, serde_json::Value> =
            self.0.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose_secret().to_owned()))).collect();
        SecretString::from(serde_json::Value::Object(map).to_string())
    }

    /// Parses the JSON object stored in a secret. The error never quotes the text.
    pub fn from_json(text: &str) -> Result<Self, StoreError> {
        let map: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|_| StoreError::Corrupt("a stored secret is not a JSON object of strings".into()))?;
        Ok(Self(map.into_iter().map(|(k, v)| (k, SecretString::from(v))).collect()))
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Credentials {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut credentials = Self::new();
        for (k, v) in iter {
            credentials.insert(k, v);
        }
        credentials
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("keys", &self.0.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

/// The current credentials and, after a rotation, the ones they replaced.
#[derive(Debug, Clone)]
pub struct CredentialVersions {
    /// `AWSCURRENT`.
    pub current: Credentials,
    /// `AWSPREVIOUS`, until the next rotation replaces it.
    pub previous: Option<Credentials>,
}

/// Stores one secret per instance.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The instance's credentials, or `None` when none were stored.
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError>;

    /// Stores new credentials; the ones they replace become `previous`. Returns the secret's
    /// reference (its ARN on AWS) for the instance row.
    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError>;

    /// Deletes the secret at once (no recovery window); does nothing when there is none.
    async fn delete_credentials(&self, key: &InstanceKey) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_keys_but_never_values() {
        let credentials: Credentials =
            [("apiKey", "sk_live_very_secret"), ("user", "alice-hidden")].into_iter().collect();
        let versions = CredentialVersions { current: credentials.clone(), previous: Some(credentials) };
        let debug = format!("{versions:?} {:#?}", versions.current);
        assert!(debug.contains("apiKey"));
        assert!(!debug.contains("sk_live_very_secret"));
        assert!(!debug.contains("alice-hidden"));
    }

    #[test]
    fn credentials_round_trip_through_json() {
        let credentials: Credentials = [("apiKey", "k1"), ("token", "t\"2")].into_iter().collect();
        let back = Credentials::from_json(credentials.to_json().expose_secret()).unwrap();
        assert_eq!(back.get("token").unwrap().expose_secret(), "t\"2");
        assert_eq!(back.keys().collect::<Vec<_>>(), ["apiKey", "token"]);
    }

    #[test]
    fn unreadable_secret_json_error_does_not_quote_the_text() {
        let err = Credentials::from_json("not json sk_live_leak").unwrap_err();
        assert!(!err.to_string().contains("sk_live_leak"));
    }
}
