//! The raw envelope: what the webhook gateway and the poller put on the ingest queue, and what
//! the normaliser maps into signals.

use std::collections::BTreeMap;

use chrono::{DateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::ids::{ConnectorId, ProjectId};
use crate::ports::InstanceKey;
use crate::signal::{IngestionKind, NormalisedSignal};

/// Version of the envelope format, so consumers can reject what they do not understand.
pub const ENVELOPE_VERSION: u32 = 1;

/// One unit of raw input: a webhook delivery or one polled item. The payload is parsed JSON
/// (`P = Value`), or its text borrowed from the message ([`BorrowedEnvelope`]), for a consumer
/// that parses only the parts it reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<P = Value> {
    /// Envelope format version ([`ENVELOPE_VERSION`]).
    pub version: u32,
    /// Connector id.
    pub connector_id: ConnectorId,
    /// Project of the instance.
    pub project_id: ProjectId,
    /// Webhook delivery or polled item.
    pub ingestion: IngestionKind,
    /// When Switchboard received it. On the wire: RFC 3339 UTC with milliseconds
    /// (`2024-01-01T00:00:00.123Z`); any RFC 3339 time is read.
    #[serde(with = "wire_time")]
    pub received_at: DateTime<Utc>,
    /// Webhook event type (from the descriptor's header or payload path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The provider's delivery id (e.g. `X-GitHub-Delivery`), for tracing duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<String>,
    /// The webhook body or the polled item.
    pub payload: P,
    /// The instance config values the connector's mapping reads (`{{baseUrl}}` /
    /// `{{config.<key>}}` in a `urlTemplate`; see `Descriptor::mapping_config`), so the
    /// normaliser maps without loading the instance. Absent when the mapping reads none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// A signal Switchboard raised itself about the instance (a `connector_health` notice,
    /// [`crate::health_notice`]): the normaliser passes it on as it is, deduplicated by its id,
    /// instead of mapping `payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Box<NormalisedSignal>>,
}

impl<P> Envelope<P> {
    /// A verified webhook delivery, received at `received_at` (kept to the millisecond, the
    /// precision of the wire format). The payload is parsed JSON, or what the gateway passes on
    /// of a body (`webhook::form::PassedOn`): both are written alike.
    pub fn webhook(
        connector_id: ConnectorId,
        project_id: ProjectId,
        received_at: DateTime<Utc>,
        event_type: Option<String>,
        delivery_id: Option<String>,
        payload: P,
    ) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            connector_id,
            project_id,
            ingestion: IngestionKind::Webhook,
            received_at: received_at.trunc_subsecs(3),
            event_type,
            delivery_id,
            payload,
            config: BTreeMap::new(),
            notice: None,
        }
    }

    /// The envelope carrying the instance config values its mapping reads.
    pub fn with_config(mut self, config: BTreeMap<String, String>) -> Self {
        self.config = config;
        self
    }

    /// Serialises for the queue.
    pub fn to_json(&self) -> String
    where
        P: Serialize,
    {
        // Serialising plain strings and a `Value` or a `RawValue` cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The key of the instance the envelope belongs to.
    pub fn key(&self) -> InstanceKey {
        InstanceKey::from_ids(&self.connector_id, &self.project_id)
    }
}

impl Envelope {
    /// One polled item, received at `received_at` (kept to the millisecond).
    pub fn polled(
        connector_id: ConnectorId,
        project_id: ProjectId,
        received_at: DateTime<Utc>,
        payload: Value,
    ) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            connector_id,
            project_id,
            ingestion: IngestionKind::Polling,
            received_at: received_at.trunc_subsecs(3),
            event_type: None,
            delivery_id: None,
            payload,
            config: BTreeMap::new(),
            notice: None,
        }
    }

    /// A signal Switchboard raised about the instance, sent by the poller (kept to the
    /// millisecond).
    pub fn notice(
        connector_id: ConnectorId,
        project_id: ProjectId,
        received_at: DateTime<Utc>,
        signal: NormalisedSignal,
    ) -> Self {
        Self { notice: Some(Box::new(signal)), ..Self::polled(connector_id, project_id, received_at, Value::Null) }
    }

    /// Parses a queue message body, naming what is wrong.
    pub fn from_json(text: &str) -> Result<Self, EnvelopeError> {
        parse(text)
    }
}

/// An envelope whose payload is its JSON text in the queue message, not parsed yet.
pub type BorrowedEnvelope<'a> = Envelope<&'a RawValue>;

impl<'a> Envelope<&'a RawValue> {
    /// Parses a queue message body, leaving the payload as text (checked to be JSON); names
    /// what is wrong as [`Envelope::from_json`] does.
    pub fn from_json_borrowed(text: &'a str) -> Result<Self, EnvelopeError> {
        parse(text)
    }
}

fn parse<'a, P: Deserialize<'a>>(text: &'a str) -> Result<Envelope<P>, EnvelopeError> {
    let envelope: Envelope<P> = serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    if envelope.version != ENVELOPE_VERSION {
        return Err(EnvelopeError::UnsupportedVersion(envelope.version));
    }
    Ok(envelope)
}

/// `receivedAt` on the wire: written in one format, read in any RFC 3339 form (messages queued
/// by older builds carry whole seconds or a `+00:00` offset).
mod wire_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&time.to_rfc3339_opts(SecondsFormat::Millis, true))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| serde::de::Error::custom(format!("receivedAt {text:?} is not RFC 3339")))
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

    fn ids() -> (ConnectorId, ProjectId) {
        (ConnectorId::parse("github-prs").unwrap(), ProjectId::parse("p1").unwrap())
    }

    #[test]
    fn round_trips_and_rejects_unknown_versions() {
        let (connector_id, project_id) = ids();
        let received_at = "2024-01-01T00:00:00Z".parse().unwrap();
        let envelope = Envelope::webhook(
            connector_id,
            project_id,
            received_at,
            Some("pull_request".into()),
            Some("d-1".into()),
            json!({"action": "opened"}),
        );
        assert_eq!(Envelope::from_json(&envelope.to_json()), Ok(envelope.clone()));
        let newer = envelope.to_json().replace("\"version\":1", "\"version\":9");
        assert_eq!(Envelope::from_json(&newer), Err(EnvelopeError::UnsupportedVersion(9)));
        assert!(matches!(Envelope::from_json("{"), Err(EnvelopeError::Malformed(_))));
    }

    #[test]
    fn a_borrowed_envelope_holds_the_payload_text() {
        let (connector_id, project_id) = ids();
        let received_at = "2024-01-01T00:00:00Z".parse().unwrap();
        let envelope = Envelope::polled(connector_id, project_id, received_at, json!({"id": 7, "t": "x"}));
        let text = envelope.to_json();
        let borrowed = Envelope::from_json_borrowed(&text).unwrap();
        assert_eq!(borrowed.key(), envelope.key());
        assert_eq!(borrowed.received_at, envelope.received_at);
        assert_eq!(serde_json::from_str::<Value>(borrowed.payload.get()).unwrap(), envelope.payload);
        let newer = text.replace("\"version\":1", "\"version\":9");
        assert_eq!(Envelope::from_json_borrowed(&newer).unwrap_err(), EnvelopeError::UnsupportedVersion(9));
        assert!(matches!(
            Envelope::from_json_borrowed(r#"{"version":1,"payload":{"#),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn the_wire_shape_is_unchanged() {
        let (connector_id, project_id) = ids();
        let received_at = "2024-01-01T00:00:00.123456Z".parse().unwrap();
        let envelope = Envelope::polled(connector_id, project_id, received_at, json!({"n": 1}));
        let wire: Value = serde_json::from_str(&envelope.to_json()).unwrap();
        assert_eq!(
            wire,
            json!({
                "version": 1, "connectorId": "github-prs", "projectId": "p1", "ingestion": "polling",
                "receivedAt": "2024-01-01T00:00:00.123Z", "payload": {"n": 1}
            })
        );
        // Kept to the millisecond, so what is read back equals what was built.
        assert_eq!(Envelope::from_json(&envelope.to_json()), Ok(envelope.clone()));
        // Config values travel only when the mapping reads some.
        let config = BTreeMap::from([("baseUrl".to_owned(), "https://gitlab.example.com".to_owned())]);
        let wire: Value = serde_json::from_str(&envelope.with_config(config.clone()).to_json()).unwrap();
        assert_eq!(wire["config"], json!({"baseUrl": "https://gitlab.example.com"}));
        assert_eq!(Envelope::from_json(&wire.to_string()).unwrap().config, config);
    }

    #[test]
    fn reads_received_at_in_every_format_older_builds_wrote() {
        let body = |received_at: &str| {
            json!({
                "version": 1, "connectorId": "github-prs", "projectId": "p1", "ingestion": "webhook",
                "receivedAt": received_at, "payload": {}
            })
            .to_string()
        };
        let whole: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        for (text, millis) in [
            ("2024-01-01T00:00:00Z", 0),
            ("2024-01-01T00:00:00.123Z", 123),
            ("2024-01-01T00:00:00+00:00", 0),
            ("2024-01-01T01:00:00.5+01:00", 500),
        ] {
            let envelope = Envelope::from_json(&body(text)).unwrap();
            assert_eq!(envelope.received_at, whole + chrono::Duration::milliseconds(millis), "{text}");
        }
        assert!(
            matches!(Envelope::from_json(&body("yesterday")), Err(EnvelopeError::Malformed(m)) if m.contains("RFC 3339"))
        );
    }

    #[test]
    fn ids_are_checked_when_read() {
        let bad = r#"{"version":1,"connectorId":"GitHub","projectId":"p1","ingestion":"webhook","receivedAt":"2024-01-01T00:00:00Z","payload":{}}"#;
        assert!(matches!(Envelope::from_json(bad), Err(EnvelopeError::Malformed(_))));
    }
}
