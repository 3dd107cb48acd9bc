//! `ses`: mail received by Amazon SES, delivered through Amazon SNS to the webhook gateway, one
//! `email_received` signal per mail.
//!
//! **Why native.** Everything about the delivery is the descriptor's (`ses.json`), run by the
//! same engine as a generic connector: the SNS signature (`rsa` scheme, certificates fetched
//! only from `sns.*.amazonaws.com`), the subscription handshake (`confirm_url` on the
//! `SubscribeURL`, after the signature verifies), the event type (`$.Type`: only
//! `Notification` is handled, so an `UnsubscribeConfirmation` is acknowledged and ignored) and
//! the delivery id (SNS's `MessageId`, so retries are dropped). What a descriptor cannot say is
//! the mail itself: SNS carries SES's notification as a JSON **string** in `Message`, and a
//! descriptor's paths cannot look inside a string. This module parses it ([`mail`]): sender,
//! subject, SES message id, the recipients as participants, the spam / virus / SPF / DKIM /
//! DMARC verdicts as tags; a message that is not an SES `Received` notification (something else
//! published to the topic, an SES sending event) is ignored with the reason. It also checks an
//! optional `topicArn` config value: a signed message from another topic is refused, since any
//! AWS account's topic can be signed by SNS.

pub mod mail;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_core::connector::GenericConnector;
use switchboard_core::mapping::{IgnoredItem, MapError};
use switchboard_core::polling::{HealthReport, PageStream, PollError, PollRequest};
use switchboard_core::ports::Credentials;
use switchboard_core::webhook::{
    DeliveryId, HandshakeReply, HandshakeRequest, Headers, VerifyContext, VerifyError, WebhookEvent, WebhookRequest,
};
use switchboard_core::{Connector, Descriptor, MapContext, MapReport, PollDriver};

use mail::ReceivedMail;

/// The connector id.
pub const ID: &str = "ses";

/// The connector's descriptor (`kind: native`): the SNS verification, the handshake, the
/// event type and the `topicArn` config field (`crates/natives/src/ses/ses.json`).
pub const DESCRIPTOR_JSON: &str = include_str!("ses.json");

/// The config key naming the only SNS topic an instance accepts (optional).
pub const TOPIC_KEY: &str = "topicArn";

/// The native implementation.
pub struct SesConnector {
    descriptor: Arc<Descriptor>,
    /// Verification, handshakes, event types and delivery ids: the descriptor's, as generic.
    generic: GenericConnector,
}

impl std::fmt::Debug for SesConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SesConnector").field("id", &self.descriptor.id()).finish()
    }
}

/// The [`switchboard_core::connector::NativeFactory`] of [`ID`]. The connector never polls, so
/// the driver is only handed to the generic part (for its health check).
pub fn factory(descriptor: Arc<Descriptor>, driver: Option<Arc<dyn PollDriver>>) -> Arc<dyn Connector> {
    Arc::new(SesConnector { generic: GenericConnector::new(Arc::clone(&descriptor), driver), descriptor })
}

impl SesConnector {
    fn report(&self, payload: &Value, ctx: &MapContext<'_>) -> MapReport {
        let external_id = payload["MessageId"].as_str().map(str::to_owned);
        let ignored = |reason: String| MapReport {
            ignored: vec![IgnoredItem { index: 0, external_id: external_id.clone(), reason }],
            ..MapReport::default()
        };
        let given = ctx.event_type.map(str::to_owned).or_else(|| payload["Type"].as_str().map(str::to_owned));
        if let Some(WebhookEvent::Ignored { reason, .. }) = self.descriptor.webhook().map(|w| w.judge(given)) {
            return ignored(reason);
        }
        match ReceivedMail::from_sns(payload) {
            Ok(mail) => MapReport { signals: vec![mail.signal(ctx)], ..MapReport::default() },
            Err(why) => ignored(why.to_string()),
        }
    }
}

#[async_trait::async_trait]
impl Connector for SesConnector {
    fn receives_webhooks(&self) -> bool {
        self.generic.receives_webhooks()
    }

    fn delivery_id(&self, headers: &Headers, payload: &Value) -> DeliveryId {
        self.generic.delivery_id(headers, payload)
    }

    fn replay_window(&self) -> Duration {
        self.generic.replay_window()
    }

    fn handshake_reply(&self, request: &HandshakeRequest<'_>, verified: bool) -> Option<HandshakeReply> {
        self.generic.handshake_reply(request, verified)
    }

    fn webhook_secret_field(&self) -> Option<&str> {
        self.generic.webhook_secret_field()
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError> {
        self.generic.verify_webhook(request, secrets)
    }

    /// SNS's signature (the descriptor's `rsa` scheme), then the instance's topic when it names
    /// one.
    async fn verify_webhook_with(
        &self,
        request: &WebhookRequest<'_>,
        ctx: &VerifyContext<'_>,
    ) -> Result<(), VerifyError> {
        self.generic.verify_webhook_with(request, ctx).await?;
        let Some(expected) = ctx.config.get(TOPIC_KEY).map(|t| t.trim()).filter(|t| !t.is_empty()) else {
            return Ok(());
        };
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|e| VerifyError::MalformedPayload(format!("not JSON: {e}")))?;
        match payload["TopicArn"].as_str() {
            Some(topic) if topic == expected => Ok(()),
            Some(topic) => Err(VerifyError::MalformedPayload(format!(
                "the message comes from topic {topic}, not the instance's {TOPIC_KEY} {expected}"
            ))),
            None => Err(VerifyError::MalformedPayload("the message names no TopicArn".to_owned())),
        }
    }

    fn webhook_event(&self, headers: &Headers, payload: &Value) -> WebhookEvent {
        self.generic.webhook_event(headers, payload)
    }

    /// A verified SNS `Notification`: one `email_received` signal, or one ignored item saying
    /// why the message is no received mail.
    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        Ok(self.report(payload, ctx))
    }

    /// The connector does not poll; an item is read as a whole SNS message.
    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        self.report(item, ctx)
    }

    fn pages<'a>(&'a self, _request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError> {
        Err(PollError::NotPolling(ID.to_owned()))
    }

    async fn check_health(&self, config: &BTreeMap<String, String>, credentials: &Credentials) -> HealthReport {
        self.generic.check_health(config, credentials).await
    }
}
