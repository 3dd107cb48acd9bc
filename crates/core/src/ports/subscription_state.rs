//! An instance's managed webhook subscription as stored on the instance: where it stands, the
//! provider's id and expiry, the gateway URL it delivers to, and why it is not active. The
//! webhook secret is not here: it is a credential, kept with the others.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an instance's managed webhook subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// Registered at the provider.
    Active,
    /// Registering, renewing or deleting it failed (`message` says why).
    Failed,
    /// Not registered by Switchboard: no public URL is configured, or the instance lacks the
    /// config values the requests read (`message` says which, and what to do by hand).
    Manual,
    /// Removed at the provider (the instance is disabled).
    Deleted,
}

/// The managed webhook subscription of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionState {
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// The provider's id of the subscription, once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it expires, for subscriptions that do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The gateway URL the provider delivers to.
    pub webhook_url: String,
    /// Which of the connector's alternative subscriptions was created (0: the first, or the
    /// only one); it is renewed and deleted the same way.
    #[serde(default, skip_serializing_if = "is_first")]
    pub variant: usize,
    /// Why it is not active, or what to do by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

fn is_first(variant: &usize) -> bool {
    *variant == 0
}

impl SubscriptionState {
    /// The state as stored (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a stored state; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("stored webhook subscription does not parse: {e}"))
    }
}
