//! One Graph `message` (an item of the inbox's delta) as signals: `email_received` for the
//! message, and `email_flagged` as well when its follow-up flag is `flagged`. A delta returns a
//! message again whenever anything about it changes (read, moved, flagged); the ids do not
//! depend on what changed, so the normaliser keeps one `email_received` per message and one
//! `email_flagged` per flagging.

use serde_json::{Map, Value, json};
use switchboard_core::mapping::MapContext;
use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::TimestampFormat;
use switchboard_core::signal::{NormalisedSignal, rfc3339, signal_id};

/// The signal type of a message in the inbox.
pub const EMAIL_RECEIVED: &str = "email_received";
/// The signal type of a message flagged for follow-up.
pub const EMAIL_FLAGGED: &str = "email_flagged";

/// The signals of one message: `email_received`, then `email_flagged` when it is flagged. A
/// removed message (`@removed`) or an item without an id has none.
pub fn signals(message: &Value, ctx: &MapContext<'_>) -> Vec<NormalisedSignal> {
    let Some(id) = text(&message["id"]) else { return Vec::new() };
    if message.get("@removed").is_some() {
        return Vec::new();
    }
    let received = time(&message["receivedDateTime"]).unwrap_or_else(|| rfc3339(ctx.received_at));
    let mut out = vec![signal(message, &id, EMAIL_RECEIVED, "", received.clone(), ctx)];
    let flag = &message["flag"];
    if flag["flagStatus"].as_str() == Some("flagged") {
        // One flagging is named by its start (Outlook sets it when the flag is set); a flag
        // without one is named by nothing more than the message.
        let start = time(&flag["startDateTime"]["dateTime"]);
        let at = start.clone().or_else(|| time(&message["lastModifiedDateTime"])).unwrap_or(received);
        out.push(signal(message, &id, EMAIL_FLAGGED, start.as_deref().unwrap_or_default(), at, ctx));
    }
    out
}

fn signal(
    message: &Value,
    id: &str,
    signal_type: &str,
    version: &str,
    at: String,
    ctx: &MapContext<'_>,
) -> NormalisedSignal {
    let from = address(&message["from"]).or_else(|| address(&message["sender"]));
    let subject = text(&message["subject"]).unwrap_or_else(|| "(no subject)".to_owned());
    let summary = match &from {
        Some((name, addr)) => format!("{subject} (from {})", name.as_deref().unwrap_or(addr)),
        None => subject,
    };
    let mut participants: Vec<String> = Vec::new();
    let recipients = ["toRecipients", "ccRecipients"]
        .into_iter()
        .flat_map(|key| message[key].as_array().into_iter().flatten().filter_map(address).map(|(_, addr)| addr));
    for addr in from.iter().map(|(_, addr)| addr.clone()).chain(recipients) {
        if !participants.iter().any(|p| p.eq_ignore_ascii_case(&addr)) {
            participants.push(addr);
        }
    }
    let mut tags: Vec<String> = message["categories"].as_array().into_iter().flatten().filter_map(text).collect();
    if let Some(importance) = text(&message["importance"]).filter(|i| i != "normal") {
        tags.push(format!("importance:{importance}"));
    }
    let related = ["internetMessageId", "conversationId"].iter().filter_map(|key| text(&message[*key])).collect();
    let mut raw = Map::new();
    if let Some(read) = message.get("isRead").filter(|v| !v.is_null()) {
        raw.insert("isRead".into(), read.clone());
    }
    if let Some(status) = text(&message["flag"]["flagStatus"]) {
        raw.insert("flagStatus".into(), json!(status));
    }
    NormalisedSignal {
        id: signal_id(ctx.connector_id, ctx.project_id, id, version, signal_type),
        source: ctx.connector_id.to_owned(),
        project_id: ctx.project_id.to_owned(),
        external_id: id.to_owned(),
        signal_type: signal_type.to_owned(),
        timestamp: at,
        received_at: rfc3339(ctx.received_at),
        summary,
        priority: None,
        participants,
        tags,
        related_items: related,
        url: text(&message["webLink"]),
        ingestion: ctx.ingestion,
        event_type: ctx.event_type.map(str::to_owned),
        raw,
    }
}

/// A Graph `recipient`: its display name (when given) and address.
fn address(recipient: &Value) -> Option<(Option<String>, String)> {
    let email = &recipient["emailAddress"];
    Some((text(&email["name"]), text(&email["address"])?))
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A Graph time (`2024-05-01T10:00:00Z`, or a `dateTimeTimeZone`'s `2024-05-01T10:00:00.0000000`
/// in UTC) as RFC 3339 UTC.
fn time(value: &Value) -> Option<String> {
    let text = value.as_str()?;
    parse_timestamp(value, TimestampFormat::Auto)
        .or_else(|_| parse_timestamp(&Value::String(format!("{text}Z")), TimestampFormat::Auto))
        .ok()
        .map(rfc3339)
}
