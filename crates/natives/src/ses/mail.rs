//! One mail Amazon SES received, read from an SNS notification: the SNS message's `Message` is
//! a JSON *string* holding SES's notification (`notificationType: "Received"`, `mail`,
//! `receipt`), which this module parses and turns into one `email_received` signal.

use serde_json::{Map, Value, json};
use switchboard_core::mapping::MapContext;
use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::TimestampFormat;
use switchboard_core::signal::{NormalisedSignal, rfc3339, signal_id};

/// The signal type of a received mail.
pub const EMAIL_RECEIVED: &str = "email_received";

/// The receipt verdicts SES reports, by the name of their `receipt` member and the tag prefix
/// they are written with (`spam:pass`, `virus:fail`, …).
const VERDICTS: &[(&str, &str)] = &[
    ("spamVerdict", "spam"),
    ("virusVerdict", "virus"),
    ("spfVerdict", "spf"),
    ("dkimVerdict", "dkim"),
    ("dmarcVerdict", "dmarc"),
];

/// What a received mail's signal is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMail {
    /// SES's message id (`mail.messageId`): the signal's external id.
    pub ses_message_id: String,
    /// When SES received it (`mail.timestamp`, else the receipt's), RFC 3339 UTC.
    pub at: String,
    /// The `Subject` header, when present.
    pub subject: Option<String>,
    /// The `From` addresses (`commonHeaders.from`, else the envelope `source`).
    pub from: Vec<String>,
    /// The recipients the receipt rule matched (`receipt.recipients`, else `mail.destination`).
    pub recipients: Vec<String>,
    /// The `Message-ID` header (the mail's id outside SES, for threads), when present.
    pub header_message_id: Option<String>,
    /// `spam:pass`, `virus:fail`, … for each verdict present, lower-case.
    pub verdict_tags: Vec<String>,
    /// The receipt action that published it (`SNS`, `S3`, `Lambda`, …).
    pub action: Option<String>,
    /// The SNS topic.
    pub topic_arn: Option<String>,
}

/// Why an SNS notification is not a received mail (the delivery is ignored with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReceivedMail {
    /// `Message` is not a JSON object (a message published to the topic by something else).
    #[error("the SNS Message is not an SES notification (not a JSON object): {0}")]
    NotJson(String),
    /// An SES notification of another kind (a sending event: `Bounce`, `Complaint`, `Delivery`).
    #[error("SES notification type {0:?} is not a received mail (only \"Received\" is)")]
    OtherType(String),
    /// A `Received` notification without `mail.messageId`.
    #[error("the SES notification has no mail.messageId")]
    NoMessageId,
}

impl ReceivedMail {
    /// The mail an SNS `Notification` carries.
    pub fn from_sns(notification: &Value) -> Result<Self, NotReceivedMail> {
        let text = notification["Message"].as_str().unwrap_or_default();
        let ses: Value = match serde_json::from_str(text) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return Err(NotReceivedMail::NotJson("a JSON value that is no object".to_owned())),
            Err(error) => return Err(NotReceivedMail::NotJson(error.to_string())),
        };
        let kind = ses["notificationType"].as_str().or_else(|| ses["eventType"].as_str()).unwrap_or_default();
        if kind != "Received" {
            return Err(NotReceivedMail::OtherType(kind.to_owned()));
        }
        let mail = &ses["mail"];
        let receipt = &ses["receipt"];
        let headers = &mail["commonHeaders"];
        let ses_message_id = text_of(&mail["messageId"]).ok_or(NotReceivedMail::NoMessageId)?;
        let at = [&mail["timestamp"], &receipt["timestamp"], &notification["Timestamp"]]
            .into_iter()
            .find_map(|value| parse_timestamp(value, TimestampFormat::Auto).ok())
            .map(rfc3339)
            .unwrap_or_default();
        let mut from = strings(&headers["from"]);
        if from.is_empty() {
            from.extend(text_of(&mail["source"]));
        }
        let mut recipients = strings(&receipt["recipients"]);
        if recipients.is_empty() {
            recipients = strings(&mail["destination"]);
        }
        let verdict_tags = VERDICTS
            .iter()
            .filter_map(|(member, prefix)| {
                text_of(&receipt[*member]["status"]).map(|status| format!("{prefix}:{}", status.to_ascii_lowercase()))
            })
            .collect();
        Ok(Self {
            ses_message_id,
            at,
            subject: text_of(&headers["subject"]),
            from,
            recipients,
            header_message_id: text_of(&headers["messageId"]),
            verdict_tags,
            action: text_of(&receipt["action"]["type"]),
            topic_arn: text_of(&notification["TopicArn"]),
        })
    }

    /// The `email_received` signal: summary `<subject> (from <sender>)`, the sender and the
    /// recipients as participants, the verdicts as tags, the `Message-ID` header as a related
    /// item. The id hashes SES's message id, so SNS's redeliveries give the same signal.
    pub fn signal(&self, ctx: &MapContext<'_>) -> NormalisedSignal {
        let subject = self.subject.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or("(no subject)");
        let summary = match self.from.first() {
            Some(sender) => format!("{subject} (from {sender})"),
            None => subject.to_owned(),
        };
        let mut participants: Vec<String> = Vec::new();
        for address in self.from.iter().chain(&self.recipients) {
            if !participants.iter().any(|p| p.eq_ignore_ascii_case(address)) {
                participants.push(address.clone());
            }
        }
        let mut raw = Map::new();
        for (key, value) in [("action", &self.action), ("topicArn", &self.topic_arn), ("subject", &self.subject)] {
            if let Some(value) = value {
                raw.insert(key.into(), json!(value));
            }
        }
        NormalisedSignal {
            id: signal_id(ctx.connector_id, ctx.project_id, &self.ses_message_id, "", EMAIL_RECEIVED),
            source: ctx.connector_id.to_owned(),
            project_id: ctx.project_id.to_owned(),
            external_id: self.ses_message_id.clone(),
            signal_type: EMAIL_RECEIVED.to_owned(),
            timestamp: self.at.clone(),
            received_at: rfc3339(ctx.received_at),
            summary,
            priority: None,
            participants,
            tags: self.verdict_tags.clone(),
            related_items: self.header_message_id.iter().cloned().collect(),
            url: None,
            ingestion: ctx.ingestion,
            event_type: ctx.event_type.map(str::to_owned),
            raw,
        }
    }
}

fn text_of(value: &Value) -> Option<String> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().filter_map(text_of).collect()
}
