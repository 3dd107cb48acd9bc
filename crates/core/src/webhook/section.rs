//! The compiled webhook section of a descriptor: which deliveries are handled (event type from
//! a header or the payload), the delivery id, handshakes answered directly, and the verifier.

use std::time::Duration;

use serde_json::Value;

use super::delivery::{DEFAULT_REPLAY_WINDOW, DeliveryId, DeliveryIdSource, MAX_REPLAY_WINDOW_SECONDS};
use super::handshake::{CompiledHandshake, HandshakeReply, HandshakeRequest};
use super::headers::Headers;
use super::verifier::Verifier;
use crate::jsonpath::{CompiledPath, scalar_text};
use crate::mapping::IssueSink;
use crate::mapping::projection::Projection;
use crate::model::{AuthDescriptor, Issue, Verification, VerificationKeyword, WebhookDescriptor};

/// Compiled webhook settings.
#[derive(Debug, Clone)]
pub struct CompiledWebhook {
    /// Event types handled (empty = all).
    pub event_types: Vec<String>,
    /// Path to the event type in the payload.
    pub event_type_path: CompiledPath,
    /// Header carrying the event type.
    pub event_type_header: Option<String>,
    /// Where deliveries carry the provider's delivery id (`None`: not protected against replay).
    pub delivery_id: Option<DeliveryIdSource>,
    /// How long a delivery id is remembered.
    pub replay_window: Duration,
    /// Signature verifier (`None` when verification is `none`).
    pub verifier: Option<Verifier>,
    /// Handshakes answered directly.
    pub handshakes: Vec<CompiledHandshake>,
    /// What of a payload the fields above read (event type, delivery id, handshakes): the
    /// webhook gateway parses only that much of a body.
    pub projection: Projection,
}

/// A delivery's event type, decided once (by the webhook gateway) and carried in its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// The connector handles it; `None` when the delivery names no event type and the connector
    /// handles every one.
    Handled(Option<String>),
    /// The connector does not handle it: acknowledged, not ingested.
    Ignored {
        /// The event type, when the delivery names one.
        event_type: Option<String>,
        /// Why it is not handled.
        reason: String,
    },
}

impl WebhookEvent {
    /// The event type, handled or not.
    pub fn event_type(&self) -> Option<&str> {
        match self {
            Self::Handled(event_type) | Self::Ignored { event_type, .. } => event_type.as_deref(),
        }
    }
}

impl CompiledWebhook {
    /// Compiles the webhook section found at `at`; `credential_keys` are the descriptor's
    /// credential fields (a verification scheme's `secretField` must name one).
    pub fn compile(
        w: &WebhookDescriptor,
        auth: &AuthDescriptor,
        at: &str,
        credential_keys: &[&str],
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        Self::compile_with_config(w, auth, at, credential_keys, &[], issues)
    }

    /// As [`compile`](Self::compile), with the descriptor's config fields (an Ed25519 public
    /// key or a JWT audience may be read from the instance's config).
    pub fn compile_with_config(
        w: &WebhookDescriptor,
        auth: &AuthDescriptor,
        at: &str,
        credential_keys: &[&str],
        config_keys: &[&str],
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let before = issues.len();
        let event_type_path = IssueSink(issues).path(&w.event_type_path, format!("{at}/eventTypePath"));
        let vat = format!("{at}/verification");
        let verifier = match (&w.verification, auth) {
            (Verification::Keyword(VerificationKeyword::None), _) => None,
            (Verification::Keyword(keyword), AuthDescriptor::WebhookSecret(secret)) => {
                Verifier::from_webhook_secret(*keyword, secret, &vat).map_err(|mut e| issues.append(&mut e)).ok()
            }
            (Verification::Keyword(_), other) => {
                issues.push(Issue::new(
                    &vat,
                    format!("\"signature\"/\"token\" verification uses auth.method webhook_secret, but auth.method is {:?}; describe the scheme as a verification object instead", other.method_name()),
                ));
                None
            }
            (Verification::Scheme(spec), _) => {
                Verifier::from_spec_with_config(spec, &vat, credential_keys, config_keys)
                    .map_err(|mut e| issues.append(&mut e))
                    .ok()
            }
        };
        let delivery_id = compile_delivery_id(w, at, issues);
        let replay_window = compile_replay_window(w.replay_window_seconds, at, issues);
        let handshakes: Vec<CompiledHandshake> = w
            .handshakes
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                CompiledHandshake::compile(h, &format!("{at}/handshakes/{i}"), credential_keys, issues)
            })
            .collect();
        if issues.len() > before {
            return None;
        }
        let event_type_path = event_type_path?;
        let projection = payload_projection(&event_type_path, delivery_id.as_ref(), &handshakes);
        Some(Self {
            event_types: w.event_types.clone(),
            event_type_path,
            event_type_header: w.event_type_header.clone(),
            delivery_id,
            replay_window,
            verifier,
            handshakes,
            projection,
        })
    }

    /// The delivery's event type (the event type header, else `eventTypePath` in the payload)
    /// and whether the connector handles it.
    pub fn event(&self, headers: &Headers, payload: &Value) -> WebhookEvent {
        let event_type = header_value(headers, self.event_type_header.as_deref())
            .or_else(|| self.event_type_path.first(payload).and_then(scalar_text));
        self.judge(event_type)
    }

    /// Whether the connector handles deliveries of this event type.
    pub fn judge(&self, event_type: Option<String>) -> WebhookEvent {
        match self.unhandled_reason(event_type.as_deref()) {
            None => WebhookEvent::Handled(event_type),
            Some(reason) => WebhookEvent::Ignored { event_type, reason },
        }
    }

    /// The provider's delivery id of a verified delivery.
    pub fn delivery_id(&self, headers: &Headers, payload: &Value) -> DeliveryId {
        match &self.delivery_id {
            Some(source) => source.find(headers, payload),
            None => DeliveryId::NotNamed,
        }
    }

    /// The credential field holding the webhook secret, when deliveries are verified.
    pub fn secret_field(&self) -> Option<&str> {
        self.verifier.as_ref().and_then(Verifier::secret_field)
    }

    /// Why a payload with this event type is not handled, or `None` when it is.
    fn unhandled_reason(&self, event_type: Option<&str>) -> Option<String> {
        if self.event_types.is_empty() {
            return None;
        }
        match event_type {
            Some(e) if self.event_types.iter().any(|t| t == e) => None,
            Some(e) => Some(format!("event type {e:?} is not handled by this connector")),
            None => Some("the payload has no event type".to_owned()),
        }
    }

    /// The handshake this payload is, if any, with the value to answer: the first handshake
    /// that echoes a body field and matches (what `switchboard test` and the older
    /// [`crate::Connector::handshake`] ask).
    pub fn handshake(&self, payload: &Value) -> Option<(&CompiledHandshake, Value)> {
        let request = HandshakeRequest { headers: &Headers::default(), query: &[], payload: Some(payload) };
        self.handshakes.iter().find_map(|h| match h.reply(&request) {
            Some(HandshakeReply::Echo(value)) => Some((h, value)),
            _ => None,
        })
    }

    /// The first handshake `request` is, with its reply, among those that may be answered now:
    /// before verification (`verified = false`) only handshakes declared with `verify: false`.
    pub fn handshake_reply(&self, request: &HandshakeRequest<'_>, verified: bool) -> Option<HandshakeReply> {
        self.handshakes.iter().filter(|h| verified || !h.verify).find_map(|h| h.reply(request))
    }
}

/// What the event type path, the delivery id's path and the handshakes read of a payload.
fn payload_projection(
    event_type_path: &CompiledPath,
    delivery_id: Option<&DeliveryIdSource>,
    handshakes: &[CompiledHandshake],
) -> Projection {
    let mut projection = Projection::of_whole(event_type_path);
    if let Some(DeliveryIdSource::Path(path)) = delivery_id {
        projection = projection.union(Projection::of_whole(path));
    }
    handshakes.iter().fold(projection, |projection, handshake| projection.union(handshake.projection()))
}

/// Where deliveries carry their id: `deliveryIdHeader` or `deliveryIdPath`, not both.
fn compile_delivery_id(w: &WebhookDescriptor, at: &str, issues: &mut Vec<Issue>) -> Option<DeliveryIdSource> {
    match (&w.delivery_id_header, &w.delivery_id_path) {
        (Some(_), Some(_)) => {
            let message = "name the delivery id either in a header (deliveryIdHeader) or in the body, not both";
            issues.push(Issue::new(format!("{at}/deliveryIdPath"), message));
            None
        }
        (Some(header), None) if header.trim().is_empty() => {
            issues.push(Issue::new(format!("{at}/deliveryIdHeader"), "the delivery id header name is empty"));
            None
        }
        (Some(header), None) => Some(DeliveryIdSource::Header(header.trim().to_owned())),
        (None, Some(path)) => IssueSink(issues).path(path, format!("{at}/deliveryIdPath")).map(DeliveryIdSource::Path),
        (None, None) => None,
    }
}

/// `replayWindowSeconds`, between 1 s and 30 days; the default when absent.
fn compile_replay_window(seconds: Option<u64>, at: &str, issues: &mut Vec<Issue>) -> Duration {
    match seconds {
        None => DEFAULT_REPLAY_WINDOW,
        Some(seconds @ 1..=MAX_REPLAY_WINDOW_SECONDS) => Duration::from_secs(seconds),
        Some(other) => {
            issues.push(Issue::new(
                format!("{at}/replayWindowSeconds"),
                format!("must be between 1 and {MAX_REPLAY_WINDOW_SECONDS} seconds (30 days), not {other}"),
            ));
            DEFAULT_REPLAY_WINDOW
        }
    }
}

/// A header's trimmed value, when the header is named and not blank.
fn header_value(headers: &Headers, name: Option<&str>) -> Option<String> {
    let value = headers.get(name?)?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}
