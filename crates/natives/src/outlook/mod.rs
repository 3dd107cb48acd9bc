//! `outlook`: the signed-in user's Outlook inbox through Microsoft Graph, polled by delta query
//! and announced by change notifications.
//!
//! **Why native.** Almost all of it is the descriptor's (`outlook.json`), run by the same
//! engines as a generic connector: OAuth2 with the Microsoft identity platform (authorisation
//! code with PKCE, refresh tokens), the delta request on
//! `/me/mailFolders/inbox/messages/delta` with `@odata.nextLink` pages and the
//! `@odata.deltaLink` as the checkpoint (`delta_token`), the resync when Graph answers 410 or
//! `syncStateNotFound` (`reset_checkpoint` rules), removed messages dropped (`recordFilter`),
//! and the change notifications' `validationToken` handshake (`echo_query`). What a descriptor
//! cannot say:
//!
//! - **One message, two signals** ([`message`]): a descriptor maps one item to at most one
//!   signal, but a message that arrives flagged (or is flagged later) is both an
//!   `email_received` and an `email_flagged`, each with its own id (the flagging's by its start
//!   time), so a delta returning the message again for a read mark adds nothing.
//! - **Change notifications** ([`notification`]): a delivery holds several notifications, and
//!   each must carry the subscription's `clientState` (the instance's `clientState` credential,
//!   compared in constant time: no signature scheme compares a body member with a secret); a
//!   `created` notification becomes the message's `email_received` under the id the poll
//!   gives it, the rest is left to the next poll.

pub mod message;
pub mod notification;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_core::connector::GenericConnector;
use switchboard_core::mapping::{ItemError, MapError};
use switchboard_core::polling::{HealthReport, PageStream, PollError, PollRequest};
use switchboard_core::ports::Credentials;
use switchboard_core::webhook::{
    DeliveryId, HandshakeReply, HandshakeRequest, Headers, VerifyContext, VerifyError, WebhookEvent, WebhookRequest,
};
use switchboard_core::{Connector, Descriptor, IngestionKind, MapContext, MapReport, PollDriver};

/// The connector id.
pub const ID: &str = "outlook";

/// The connector's descriptor (`kind: native`): OAuth2, the delta request, its resync rules and
/// the validation handshake (`crates/natives/src/outlook/outlook.json`).
pub const DESCRIPTOR_JSON: &str = include_str!("outlook.json");

/// The credential field holding the Graph subscription's `clientState`.
pub const CLIENT_STATE_FIELD: &str = "clientState";

/// The native implementation.
pub struct OutlookConnector {
    descriptor: Arc<Descriptor>,
    /// Polling, handshakes and health checks: the descriptor's, as generic.
    generic: GenericConnector,
}

impl std::fmt::Debug for OutlookConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutlookConnector").field("id", &self.descriptor.id()).finish()
    }
}

/// The [`switchboard_core::connector::NativeFactory`] of [`ID`].
pub fn factory(descriptor: Arc<Descriptor>, driver: Option<Arc<dyn PollDriver>>) -> Arc<dyn Connector> {
    Arc::new(OutlookConnector { generic: GenericConnector::new(Arc::clone(&descriptor), driver), descriptor })
}

#[async_trait::async_trait]
impl Connector for OutlookConnector {
    fn receives_webhooks(&self) -> bool {
        self.generic.receives_webhooks()
    }

    /// Graph names no delivery: a repeated notification maps to the same signal id.
    fn delivery_id(&self, _headers: &Headers, _payload: &Value) -> DeliveryId {
        DeliveryId::NotNamed
    }

    fn replay_window(&self) -> Duration {
        self.generic.replay_window()
    }

    fn handshake_reply(&self, request: &HandshakeRequest<'_>, verified: bool) -> Option<HandshakeReply> {
        self.generic.handshake_reply(request, verified)
    }

    fn webhook_secret_field(&self) -> Option<&str> {
        Some(CLIENT_STATE_FIELD)
    }

    /// Every notification carries one of the instance's client states.
    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError> {
        let payload: Value = serde_json::from_slice(request.body)
            .map_err(|e| VerifyError::MalformedPayload(format!("not JSON: {e}")))?;
        notification::check_client_state(&payload, secrets)
    }

    async fn verify_webhook_with(
        &self,
        request: &WebhookRequest<'_>,
        ctx: &VerifyContext<'_>,
    ) -> Result<(), VerifyError> {
        self.verify_webhook(request, ctx.secrets)
    }

    fn webhook_event(&self, _headers: &Headers, payload: &Value) -> WebhookEvent {
        WebhookEvent::Handled(notification::event_type(payload))
    }

    /// A polled page: the signals of every message in `value`. A delivery: its notifications.
    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        if ctx.ingestion == IngestionKind::Webhook {
            return Ok(notification::report(payload, ctx));
        }
        let messages = payload["value"].as_array().ok_or_else(|| MapError::NoItems("$.value[*]".to_owned()))?;
        Ok(MapReport {
            signals: messages.iter().flat_map(|m| message::signals(m, ctx)).collect(),
            ..MapReport::default()
        })
    }

    /// One polled message: `email_received`, and `email_flagged` when flagged.
    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        if !item.is_object() || item["id"].as_str().is_none_or(str::is_empty) {
            return MapReport {
                errors: vec![ItemError {
                    index: 0,
                    external_id: None,
                    field: "id".to_owned(),
                    path: "$.id".to_owned(),
                    message: "not a Graph message: no id".to_owned(),
                }],
                ..MapReport::default()
            };
        }
        MapReport { signals: message::signals(item, ctx), ..MapReport::default() }
    }

    fn pages<'a>(&'a self, request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError> {
        self.generic.pages(request)
    }

    async fn check_health(&self, config: &BTreeMap<String, String>, credentials: &Credentials) -> HealthReport {
        self.generic.check_health(config, credentials).await
    }
}
