//! The provider's delivery id: where a descriptor says it is (a header, or a JSONPath into the
//! body), and how long the webhook gateway remembers it to refuse replays.
//!
//! The id alone identifies a delivery: headers that are not signed (GitHub's `X-GitHub-Event`)
//! play no part, so a replay with an edited event header is still the same delivery.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::headers::Headers;
use crate::jsonpath::{CompiledPath, scalar_text};

/// How long a delivery id is remembered when the descriptor does not say: 72 hours, at least the
/// retry window of every built-in provider (GitHub lets a person redeliver deliveries of the past
/// 3 days; Slack and PagerDuty retry for minutes).
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// The longest replay window a descriptor may ask for (30 days).
pub const MAX_REPLAY_WINDOW_SECONDS: u64 = 30 * 24 * 3600;

/// The longest delivery id accepted; a longer value is treated as absent.
pub const MAX_DELIVERY_ID_CHARS: usize = 512;

/// Where a connector's deliveries carry their id.
#[derive(Debug, Clone)]
pub enum DeliveryIdSource {
    /// A request header (case-insensitive), e.g. `X-GitHub-Delivery`.
    Header(String),
    /// The first match of a JSONPath in the body, e.g. Slack's `$.event_id`.
    Path(CompiledPath),
}

/// A delivery's id, as its connector names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryId {
    /// The connector names no delivery id: its deliveries are not protected against replay.
    NotNamed,
    /// The connector names one, and this delivery does not carry it (or carries an empty or
    /// over-long one).
    Missing {
        /// Where it was looked for, e.g. `header X-GitHub-Delivery` or `$.event_id`.
        expected_in: String,
    },
    /// The delivery's id.
    Found(String),
}

impl DeliveryId {
    /// The id, when found.
    pub fn found(&self) -> Option<&str> {
        match self {
            Self::Found(id) => Some(id),
            Self::NotNamed | Self::Missing { .. } => None,
        }
    }
}

impl DeliveryIdSource {
    /// The delivery's id, read from its headers or its (verified) payload.
    pub fn find(&self, headers: &Headers, payload: &Value) -> DeliveryId {
        let value = match self {
            Self::Header(name) => headers.get(name).map(|v| v.trim().to_owned()),
            Self::Path(path) => path.first(payload).and_then(scalar_text).map(|v| v.trim().to_owned()),
        };
        match value {
            Some(id) if !id.is_empty() && id.chars().count() <= MAX_DELIVERY_ID_CHARS => DeliveryId::Found(id),
            _ => DeliveryId::Missing { expected_in: self.to_string() },
        }
    }
}

impl fmt::Display for DeliveryIdSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header(name) => write!(f, "header {name}"),
            Self::Path(path) => write!(f, "body at {}", path.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_header_id_is_read_case_insensitively_and_trimmed() {
        let headers: Headers = [("x-github-delivery", " 72d3162e-cc78-11e3-81ab-4c9367dc0958 ")].into_iter().collect();
        let source = DeliveryIdSource::Header("X-GitHub-Delivery".into());
        assert_eq!(source.find(&headers, &json!({})).found(), Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
    }

    #[test]
    fn a_body_id_is_read_from_its_path_and_numbers_count_as_text() {
        let source = DeliveryIdSource::Path(CompiledPath::parse("$.event.id").unwrap());
        let headers = Headers::default();
        assert_eq!(source.find(&headers, &json!({"event": {"id": "01BZ"}})).found(), Some("01BZ"));
        assert_eq!(source.find(&headers, &json!({"event": {"id": 42}})).found(), Some("42"));
    }

    #[test]
    fn absent_empty_and_over_long_ids_are_missing_and_say_where_they_were_expected() {
        let source = DeliveryIdSource::Path(CompiledPath::parse("$.event_id").unwrap());
        let headers = Headers::default();
        let missing = DeliveryId::Missing { expected_in: "body at $.event_id".into() };
        assert_eq!(source.find(&headers, &json!({})), missing);
        assert_eq!(source.find(&headers, &json!({"event_id": "  "})), missing);
        assert_eq!(source.find(&headers, &json!({"event_id": {"nested": 1}})), missing);
        assert_eq!(source.find(&headers, &json!({"event_id": "x".repeat(MAX_DELIVERY_ID_CHARS + 1)})), missing);
        let header = DeliveryIdSource::Header("Request-ID".into());
        assert_eq!(header.find(&headers, &json!({})), DeliveryId::Missing { expected_in: "header Request-ID".into() });
    }
}
