//! OAuth2 authorisation `state` values: created when a user starts connecting an instance,
//! consumed once by the callback, and expiring after a few minutes (CSRF protection).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// What a pending authorisation remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
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
