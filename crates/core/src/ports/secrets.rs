//! Instance credentials: one secret per instance holding its credential fields and OAuth tokens,
//! with the previous version kept for rotation (and when it was replaced, for a grace period).
//!
//! Writes that must not lose a concurrent one go through [`SecretStore::update_credentials`]:
//! a [`CredentialChange`] applied to the latest version with a compare-and-swap.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
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

    /// Removes one value; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        self.0.remove(key).is_some()
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

/// Field keys of OAuth2 tokens in a credential map: what a token refresh changes, and nothing
/// else (the client id and secret and any other field stay as the user set them).
pub const OAUTH_TOKEN_FIELDS: [&str; 3] = ["accessToken", "refreshToken", "expiresAt"];

/// How long the previous credentials stay acceptable after a rotation unless configured
/// otherwise (e.g. a webhook secret while the provider switches over).
pub const DEFAULT_ROTATION_GRACE: Duration = Duration::from_secs(24 * 60 * 60);

/// Attempts [`SecretStore::update_credentials`] makes before giving up on a contended secret.
pub const MAX_CREDENTIAL_UPDATE_ATTEMPTS: u32 = 8;

/// Which stored version of an instance's credentials a reader saw. Opaque: hand it back to
/// [`SecretStore::put_credentials_if`] to write only if nobody wrote in between.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredentialVersion(String);

impl CredentialVersion {
    /// Wraps an adapter's version identifier (a row version, a Secrets Manager `VersionId`).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The adapter's version identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CredentialVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The current credentials and, after a rotation, the ones they replaced.
#[derive(Debug, Clone)]
pub struct CredentialVersions {
    /// `AWSCURRENT`.
    pub current: Credentials,
    /// The version of `current`, for a compare-and-swap write.
    pub version: CredentialVersion,
    /// `AWSPREVIOUS`, until the next rotation replaces it.
    pub previous: Option<Credentials>,
    /// When `previous` stopped being current (when `current` was written); `None` without a
    /// previous version.
    pub previous_replaced_at: Option<DateTime<Utc>>,
}

impl CredentialVersions {
    /// The previous credentials while they are still within `grace` of being replaced at
    /// `now`; `None` once the grace period is over (or when it is not known when they were
    /// replaced, so an old secret never stays valid by accident).
    pub fn previous_within(&self, grace: Duration, now: DateTime<Utc>) -> Option<&Credentials> {
        let previous = self.previous.as_ref()?;
        let replaced_at = self.previous_replaced_at?;
        let grace = chrono::TimeDelta::from_std(grace).unwrap_or(chrono::TimeDelta::MAX);
        let until = replaced_at.checked_add_signed(grace).unwrap_or(DateTime::<Utc>::MAX_UTC);
        (now < until).then_some(previous)
    }
}

/// A change to stored credentials: fields to set and fields to remove; every other field keeps
/// its latest stored value. `Debug` shows the keys only.
#[derive(Clone, Default)]
pub struct CredentialChange {
    set: Credentials,
    remove: BTreeSet<String>,
    replace: bool,
}

impl CredentialChange {
    /// Sets every field of `credentials`, keeping the other stored fields (a PATCH).
    pub fn merge(credentials: &Credentials) -> Self {
        Self { set: credentials.clone(), ..Self::default() }
    }

    /// Replaces the whole credential map with `credentials` (a new connection).
    pub fn replace_all(credentials: &Credentials) -> Self {
        Self { set: credentials.clone(), replace: true, ..Self::default() }
    }

    /// The token fields ([`OAUTH_TOKEN_FIELDS`]) of refreshed credentials: those present are
    /// set, those absent removed (a refresh that sent no expiry clears the old one); every
    /// other field is left as stored, so a concurrent edit of, say, the client secret survives.
    pub fn oauth_tokens(refreshed: &Credentials) -> Self {
        let mut change = Self::default();
        for field in OAUTH_TOKEN_FIELDS {
            match refreshed.get(field) {
                Some(value) => change.set.insert(field, value.expose_secret()),
                None => {
                    change.remove.insert(field.to_owned());
                }
            }
        }
        change
    }

    /// Also sets `key` to `value`.
    #[must_use]
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.remove.remove(key);
        self.set.insert(key, value);
        self
    }

    /// Also removes `key`.
    #[must_use]
    pub fn without(mut self, key: &str) -> Self {
        self.set.remove(key);
        self.remove.insert(key.to_owned());
        self
    }

    /// The credentials after applying the change to `stored` (none stored: an empty map).
    pub fn apply(&self, stored: Option<&Credentials>) -> Credentials {
        let mut next = match stored {
            Some(stored) if !self.replace => stored.clone(),
            _ => Credentials::new(),
        };
        for key in &self.remove {
            next.remove(key);
        }
        for (key, value) in &self.set.0 {
            next.insert(key.clone(), value.expose_secret());
        }
        next
    }
}

impl fmt::Debug for CredentialChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChange")
            .field("set", &self.set.0.keys().collect::<Vec<_>>())
            .field("remove", &self.remove)
            .field("replace", &self.replace)
            .finish()
    }
}

/// What a credential write stored.
#[derive(Debug, Clone)]
pub struct StoredCredentials {
    /// The secret's reference (its ARN on AWS) for the instance row.
    pub secret_ref: String,
    /// The version just written.
    pub version: CredentialVersion,
    /// The credentials now current.
    pub credentials: Credentials,
}

/// Stores one secret per instance.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The instance's credentials, or `None` when none were stored. May come from a short
    /// cache (hot paths); use [`Self::read_latest_credentials`] before a compare-and-swap.
    async fn get_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError>;

    /// The instance's credentials as stored right now, never from a cache.
    async fn read_latest_credentials(&self, key: &InstanceKey) -> Result<Option<CredentialVersions>, StoreError>;

    /// Stores new credentials unconditionally; the ones they replace become `previous`.
    /// Returns the secret's reference (its ARN on AWS) for the instance row.
    async fn put_credentials(&self, key: &InstanceKey, credentials: &Credentials) -> Result<String, StoreError>;

    /// Stores new credentials only if the current version is still `expected` (`None`: only if
    /// the instance has no secret yet); the ones they replace become `previous`.
    /// [`StoreError::ConditionFailed`] when another write came first.
    async fn put_credentials_if(
        &self,
        key: &InstanceKey,
        expected: Option<&CredentialVersion>,
        credentials: &Credentials,
    ) -> Result<StoredCredentials, StoreError>;

    /// Deletes the secret at once (no recovery window); does nothing when there is none.
    async fn delete_credentials(&self, key: &InstanceKey) -> Result<(), StoreError>;

    /// Applies `change` to the latest stored credentials with a compare-and-swap: reads the
    /// latest version, applies the change, writes it only if that version is still current, and
    /// starts again on a conflict (at most [`MAX_CREDENTIAL_UPDATE_ATTEMPTS`] times). Two writers
    /// changing different fields at the same time therefore both see their change survive.
    async fn update_credentials(
        &self,
        key: &InstanceKey,
        change: &CredentialChange,
    ) -> Result<StoredCredentials, StoreError> {
        for attempt in 1..=MAX_CREDENTIAL_UPDATE_ATTEMPTS {
            let latest = self.read_latest_credentials(key).await?;
            let next = change.apply(latest.as_ref().map(|v| &v.current));
            match self.put_credentials_if(key, latest.as_ref().map(|v| &v.version), &next).await {
                Err(StoreError::ConditionFailed(_)) => {
                    tracing::debug!(instance = %key, attempt, "credentials changed while being updated; retrying");
                }
                outcome => return outcome,
            }
        }
        Err(StoreError::ConditionFailed(format!(
            "the credentials of {key} kept changing during {MAX_CREDENTIAL_UPDATE_ATTEMPTS} update attempts"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_keys_but_never_values() {
        let credentials: Credentials =
            [("apiKey", "sk_live_very_secret"), ("user", "alice-hidden")].into_iter().collect();
        let versions = CredentialVersions {
            current: credentials.clone(),
            version: CredentialVersion::new("1"),
            previous: Some(credentials.clone()),
            previous_replaced_at: None,
        };
        let change = CredentialChange::merge(&credentials).without("old");
        let debug = format!("{versions:?} {:#?} {change:?}", versions.current);
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

    fn versions_replaced_at(at: DateTime<Utc>) -> CredentialVersions {
        CredentialVersions {
            current: [("secret", "new")].into_iter().collect(),
            version: CredentialVersion::new("2"),
            previous: Some([("secret", "old")].into_iter().collect()),
            previous_replaced_at: Some(at),
        }
    }

    #[test]
    fn the_previous_secret_is_offered_only_within_the_grace_period() {
        let rotated = chrono::Utc::now();
        let versions = versions_replaced_at(rotated);
        let grace = Duration::from_secs(3600);
        let within = versions.previous_within(grace, rotated + chrono::TimeDelta::minutes(59)).unwrap();
        assert_eq!(within.get("secret").unwrap().expose_secret(), "old");
        assert!(versions.previous_within(grace, rotated + chrono::TimeDelta::minutes(60)).is_none());
        assert!(versions.previous_within(DEFAULT_ROTATION_GRACE, rotated + chrono::TimeDelta::hours(25)).is_none());
        assert!(versions.previous_within(Duration::MAX, rotated + chrono::TimeDelta::days(3650)).is_some());
        let unknown = CredentialVersions { previous_replaced_at: None, ..versions };
        assert!(unknown.previous_within(grace, rotated).is_none(), "an unknown rotation time is not trusted");
    }

    #[test]
    fn a_merge_sets_its_fields_and_keeps_the_rest() {
        let stored: Credentials = [("clientId", "c"), ("clientSecret", "s1")].into_iter().collect();
        let sent: Credentials = [("clientSecret", "s2")].into_iter().collect();
        let next = CredentialChange::merge(&sent).apply(Some(&stored));
        assert_eq!(next.get("clientId").unwrap().expose_secret(), "c");
        assert_eq!(next.get("clientSecret").unwrap().expose_secret(), "s2");
        let replaced = CredentialChange::replace_all(&sent).apply(Some(&stored));
        assert_eq!(replaced.keys().collect::<Vec<_>>(), ["clientSecret"]);
        assert_eq!(CredentialChange::merge(&sent).apply(None).keys().collect::<Vec<_>>(), ["clientSecret"]);
    }

    #[test]
    fn a_token_refresh_changes_only_the_token_fields() {
        let stored: Credentials = [
            ("clientId", "c"),
            ("clientSecret", "edited"),
            ("accessToken", "a0"),
            ("expiresAt", "2020-01-01T00:00:00Z"),
        ]
        .into_iter()
        .collect();
        // The poller's snapshot predates the edit of the client secret and has no expiry.
        let refreshed: Credentials =
            [("clientId", "c"), ("clientSecret", "stale"), ("accessToken", "a1"), ("refreshToken", "r1")]
                .into_iter()
                .collect();
        let next = CredentialChange::oauth_tokens(&refreshed).apply(Some(&stored));
        assert_eq!(next.get("clientSecret").unwrap().expose_secret(), "edited");
        assert_eq!(next.get("accessToken").unwrap().expose_secret(), "a1");
        assert_eq!(next.get("refreshToken").unwrap().expose_secret(), "r1");
        assert!(next.get("expiresAt").is_none(), "an expiry the refresh did not send is cleared");
    }
}
