//! The raw envelope: what the webhook gateway and the poller put on the ingest queue, and what
//! the normaliser maps into signals.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::signal::IngestionKind;

/// Version of the envelope format, so consumers can reject what they do not understand.
pub const ENVELOPE_VERSION: u32 = 1;

/// One unit of raw input: a webhook delivery or one polled item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Envelope format version ([`ENVELOPE_VERSION`]).
    pub version: u32,
    /// Connector id.
    pub connector_id: String,
    /// Project of the instance.
    pub project_id: String,
    /// Webhook delivery or polled item.
    pub ingestion: IngestionKind,
    /// When Switchboard received it, RFC 3339 UTC.
    pub received_at: String,
    /// Webhook event type (from the descriptor's header or payload path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The provider's delivery id (e.g. `X-GitHub-Delivery`), for tracing duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// The webhook body (parsed JSON) or the polled item.
    pub payload: Value,
}

impl Envelope {
    /// Parses a queue message body, naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self, EnvelopeError> {
        let envelope: Self = serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if envelope.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(envelope.version));
        }
        Ok(envelope)
    }

    /// Serialises for the queue.
    pub fn to_json(&self) -> String {
        // Serialising plain strings and a `Value` cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a queue message is not a usable envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or not the envelope's shape.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// Written by a newer Switchboard.
    #[error("unsupported envelope version {0} (this build reads version {ENVELOPE_VERSION})")]
    UnsupportedVersion(u32),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            connector_id: "github-prs".into(),
            project_id: "p1".into(),
            ingestion: IngestionKind::Webhook,
            received_at: "2024-01-01T00:00:00Z".into(),
            event_type: Some("pull_request".into()),
            delivery_id: Some("d-1".into()),
            payload: json!({"action": "opened"}),
        };
        assert_eq!(Envelope::from_json(&envelope.to_json()), Ok(envelope.clone()));
        let newer = envelope.to_json().replace("\"version\":1", "\"version\":9");
        assert_eq!(Envelope::from_json(&newer), Err(EnvelopeError::UnsupportedVersion(9)));
        assert!(matches!(Envelope::from_json("{"), Err(EnvelopeError::Malformed(_))));
    }
}
