//! An instance's credential map: secret values that never show in `Debug`, logs or errors.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Credential values of one connector instance, by key (the descriptor's `credentialFields`, plus
/// OAuth2 tokens: `accessToken`, `refreshToken`, `expiresAt`).
///
/// `Debug` prints the keys only. Values are read with [`Credentials::expose`].
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Credentials(BTreeMap<String, SecretString>);

impl Credentials {
    /// An empty credential map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a credential map from plain strings (e.g. a decrypted secret).
    pub fn from_plain<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.into(), SecretString::from(v.into()))).collect())
    }

    /// Sets a value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), SecretString::from(value.into()));
    }

    /// Removes a value.
    pub fn remove(&mut self, key: &str) {
        self.0.remove(key);
    }

    /// The secret under `key`.
    pub fn get(&self, key: &str) -> Option<&SecretString> {
        self.0.get(key)
    }

    /// The value under `key`, exposed; only for building requests.
    pub fn expose(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|s| s.expose_secret())
    }

    /// The keys present.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Every value exposed, for writing the map to a secret store.
    pub fn expose_all(&self) -> BTreeMap<String, String> {
        self.0.iter().map(|(k, v)| (k.clone(), v.expose_secret().to_owned())).collect()
    }

    /// The non-trivial secret values, for scrubbing them out of error text.
    pub(crate) fn values_for_redaction(&self) -> Vec<&str> {
        self.0.values().map(|s| s.expose_secret()).filter(|v| v.len() >= 4).collect()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("keys", &self.0.keys().collect::<Vec<_>>()).finish()
    }
}

/// Replaces every secret value found in `text` with `***`.
pub(crate) fn redact(text: &str, credentials: &Credentials) -> String {
    let mut out = text.to_owned();
    for secret in credentials.values_for_redaction() {
        if out.contains(secret) {
            out = out.replace(secret, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_keys_but_not_values() {
        let creds = Credentials::from_plain([("token", "ghp_supersecret")]);
        let shown = format!("{creds:?}");
        assert!(shown.contains("token"), "{shown}");
        assert!(!shown.contains("supersecret"), "{shown}");
    }

    #[test]
    fn redaction_removes_secret_values() {
        let creds = Credentials::from_plain([("token", "ghp_supersecret")]);
        assert_eq!(redact("bad token ghp_supersecret here", &creds), "bad token *** here");
    }
}
