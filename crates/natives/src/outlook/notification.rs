//! Microsoft Graph change notifications (`{"value": [changeNotification, …]}`) for the inbox's
//! messages: the `clientState` check, and what each notification means.
//!
//! A basic notification names the message and the kind of change, not the message itself. A
//! `created` notification is the message's `email_received` signal under the same id as the
//! poll gives it (so the two paths make one signal); what changed in an `updated` one (a flag,
//! a read mark) is unknown until the next poll, which reports it. Lifecycle notifications
//! (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) concern the subscription, which
//! the managed subscription renews; they make no signal.

use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use switchboard_core::mapping::{IgnoredItem, MapContext, MapReport};
use switchboard_core::signal::{NormalisedSignal, rfc3339, signal_id};
use switchboard_core::webhook::VerifyError;

use super::message::EMAIL_RECEIVED;

/// The notifications of a delivery.
pub fn notifications(payload: &Value) -> &[Value] {
    payload["value"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Every notification of the delivery must carry one of the instance's client states (current
/// first, then previous), compared in constant time. A delivery with no notification is
/// refused: nothing in it could be checked.
pub fn check_client_state(payload: &Value, secrets: &[&str]) -> Result<(), VerifyError> {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        return Err(VerifyError::NoSecretConfigured);
    }
    let all = notifications(payload);
    if all.is_empty() {
        return Err(VerifyError::MalformedPayload("no change notification in $.value".to_owned()));
    }
    for notification in all {
        let Some(state) = notification["clientState"].as_str() else {
            return Err(VerifyError::MalformedPayload("a change notification has no clientState".to_owned()));
        };
        // `ct_eq` on slices of different lengths is false; only the length can leak.
        if !secrets.iter().any(|secret| bool::from(state.as_bytes().ct_eq(secret.as_bytes()))) {
            return Err(VerifyError::NoSignatureMatched);
        }
    }
    Ok(())
}

/// The delivery's event type: the first notification's `lifecycleEvent`, else its
/// `changeType`.
pub fn event_type(payload: &Value) -> Option<String> {
    let first = notifications(payload).first()?;
    first["lifecycleEvent"].as_str().or_else(|| first["changeType"].as_str()).map(str::to_owned)
}

/// The signals of a verified delivery, and the notifications that make none (with why).
pub fn report(payload: &Value, ctx: &MapContext<'_>) -> MapReport {
    let mut report = MapReport::default();
    for (index, notification) in notifications(payload).iter().enumerate() {
        let message_id = notification["resourceData"]["id"].as_str().filter(|s| !s.is_empty());
        let ignore = |reason: String| IgnoredItem { index, external_id: message_id.map(str::to_owned), reason };
        if let Some(event) = notification["lifecycleEvent"].as_str() {
            report.ignored.push(ignore(format!(
                "lifecycle notification {event}: it concerns the subscription, not a message (the poll catches up on missed changes)"
            )));
            continue;
        }
        match (notification["changeType"].as_str(), message_id) {
            (Some("created"), Some(id)) => report.signals.push(created(notification, id, ctx)),
            (Some("created"), None) => {
                report.ignored.push(ignore("a created notification names no message (resourceData.id)".to_owned()))
            }
            (change, _) => report.ignored.push(ignore(format!(
                "change type {}: the next poll reports what changed",
                change.unwrap_or("(none)")
            ))),
        }
    }
    report
}

/// A new message: the `email_received` signal the poll gives it, with what the notification
/// tells (no subject or sender: a basic notification carries none).
fn created(notification: &Value, id: &str, ctx: &MapContext<'_>) -> NormalisedSignal {
    let mut raw = Map::new();
    for key in ["subscriptionId", "resource", "changeType"] {
        if let Some(value) = notification[key].as_str() {
            raw.insert(key.into(), json!(value));
        }
    }
    NormalisedSignal {
        id: signal_id(ctx.connector_id, ctx.project_id, id, "", EMAIL_RECEIVED),
        source: ctx.connector_id.to_owned(),
        project_id: ctx.project_id.to_owned(),
        external_id: id.to_owned(),
        signal_type: EMAIL_RECEIVED.to_owned(),
        timestamp: rfc3339(ctx.received_at),
        received_at: rfc3339(ctx.received_at),
        summary: "New message in the Outlook inbox".to_owned(),
        priority: None,
        participants: Vec::new(),
        tags: Vec::new(),
        related_items: Vec::new(),
        url: None,
        ingestion: ctx.ingestion,
        event_type: ctx.event_type.map(str::to_owned),
        raw,
    }
}
