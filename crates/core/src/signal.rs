//! `NormalisedSignal`: the one shape every connector's data is mapped into.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::model::Priority;

/// How an item reached Switchboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IngestionKind {
    /// Pushed by the tool.
    Webhook,
    /// Fetched by the poller.
    Polling,
}

impl IngestionKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Polling => "polling",
        }
    }
}

/// A signal in Switchboard's normalised form (camelCase JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalisedSignal {
    /// Deterministic id: the same source item version always gives the same id.
    pub id: String,
    /// Connector id.
    pub source: String,
    /// Project the instance belongs to.
    pub project_id: String,
    /// The item's id in the source tool.
    pub external_id: String,
    /// Signal type from the descriptor's rules.
    pub signal_type: String,
    /// When the item changed, RFC 3339 UTC.
    pub timestamp: String,
    /// When Switchboard received it, RFC 3339 UTC.
    pub received_at: String,
    /// Human-readable one-liner.
    pub summary: String,
    /// Priority, when a priority rule matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// People involved.
    #[serde(default)]
    pub participants: Vec<String>,
    /// Tags and labels.
    #[serde(default)]
    pub tags: Vec<String>,
    /// References to related items.
    #[serde(default)]
    pub related_items: Vec<String>,
    /// Link back to the item in the source tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Webhook or polling.
    pub ingestion: IngestionKind,
    /// The webhook event type, for webhook signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The descriptor's `rawFields`, keyed as written there.
    #[serde(default)]
    pub raw: Map<String, Value>,
}

/// Formats a UTC time as RFC 3339 with a `Z` suffix and only the sub-second digits it needs.
pub fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The deterministic signal id: a hash of what identifies one version of one source item.
pub fn signal_id(source: &str, project_id: &str, external_id: &str, timestamp: &str, signal_type: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [source, project_id, external_id, timestamp, signal_type] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    format!("sig_{}", hex::encode(&digest[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_unambiguous() {
        let a = signal_id("gh", "p1", "42", "2024-01-01T00:00:00Z", "pr_opened");
        assert_eq!(a, signal_id("gh", "p1", "42", "2024-01-01T00:00:00Z", "pr_opened"));
        assert_ne!(a, signal_id("gh", "p1", "42", "2024-01-01T00:00:01Z", "pr_opened"));
        // Length-prefixing keeps "ab"+"c" distinct from "a"+"bc".
        assert_ne!(signal_id("ab", "c", "", "", ""), signal_id("a", "bc", "", "", ""));
    }
}
