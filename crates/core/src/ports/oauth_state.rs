//! OAuth2 authorisation `state` values: created when a user starts connecting an instance,
//! consumed once by the callback, and expiring after a few minutes (CSRF protection).
//!
//! A pending state also holds what only the server may know about the flow: the PKCE code
//! verifier and the hash of the browser-binding nonce (see `docs/functions.md`, "OAuth2
//! connect").

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// What a pending authorisation remembers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthState {
    /// The unguessable `state` parameter (at least 128 random bits, URL-safe).
    pub state: String,
    /// Project of the instance being connected.
    pub project_id: String,
    /// Connector of the instance being connected.
    pub connector_id: String,
    /// The redirect URI sent to the provider (must be sent again on code exchange).
    pub redirect_uri: String,
    /// Who started the flow (the caller's subject), for the audit log.
    pub started_by: String,
    /// The PKCE code verifier (RFC 7636) to send with the code exchange; `None` when the
    /// descriptor turns PKCE off. Never sent to the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// SHA-256 (URL-safe base64) of the nonce in the cookie set on the browser that started the flow; the
    /// callback must present that cookie. Empty never matches.
    #[serde(default)]
    pub browser_binding: String,
    /// Where to send the browser after the callback, already checked to be on the dashboard's
    /// origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Leaves out the state value, the code verifier and the binding: each one is a secret of the
/// flow.
impl std::fmt::Debug for OAuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthState")
            .field("project_id", &self.project_id)
            .field("connector_id", &self.connector_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("started_by", &self.started_by)
            .field("pkce", &self.code_verifier.is_some())
            .field("return_to", &self.return_to)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Stores pending authorisations.
#[async_trait]
pub trait OAuthStateStore: Send + Sync {
    /// Stores a new state; [`StoreError::AlreadyExists`] if the value is already in use.
    async fn put_oauth_state(&self, state: &OAuthState) -> Result<(), StoreError>;

    /// Removes and returns a state if it exists and has not expired. A second call with the same
    /// value returns `None`, so a callback URL cannot be replayed.
    async fn take_oauth_state(&self, state: &str) -> Result<Option<OAuthState>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secret_of_the_flow() {
        let state = OAuthState {
            state: "STATE-VALUE".to_owned(),
            project_id: "acme".to_owned(),
            connector_id: "slack".to_owned(),
            redirect_uri: "https://api.example/oauth/callback".to_owned(),
            started_by: "alice".to_owned(),
            code_verifier: Some("VERIFIER-VALUE".to_owned()),
            browser_binding: "BINDING-HASH".to_owned(),
            return_to: None,
            expires_at: Utc::now(),
        };
        let text = format!("{state:?}");
        for secret in ["STATE-VALUE", "VERIFIER-VALUE", "BINDING-HASH"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("acme") && text.contains("pkce: true"), "{text}");
    }

    #[test]
    fn states_stored_before_pkce_and_binding_still_parse() {
        let old = r#"{"state":"s","projectId":"p","connectorId":"c","redirectUri":"https://x/cb",
            "startedBy":"alice","expiresAt":"2030-01-01T00:00:00Z"}"#;
        let state: OAuthState = serde_json::from_str(old).unwrap();
        assert_eq!(state.code_verifier, None);
        assert!(state.browser_binding.is_empty(), "an old state matches no browser");
    }
}
