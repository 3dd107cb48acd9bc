//! One runtime face per connector: the [`Connector`] trait every function talks to, whether the
//! connector is driven by its descriptor ([`GenericConnector`]) or written in Rust (a native
//! connector, registered in a [`NativeRegistry`] under its descriptor's id).
//!
//! A connector verifies webhook deliveries, answers handshakes, decides a delivery's event type,
//! maps payloads into signals and polls its API page by page with a resumable checkpoint. The
//! core links no HTTP client, so the generic connector polls through a [`PollDriver`] port that
//! the polling engine (`switchboard-poll`) implements and the catalogue hands in; a process that
//! never polls (the webhook gateway, the normaliser) has none, and asking it to poll is a
//! [`PollError::NoDriver`] error.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::descriptor::Descriptor;
use crate::mapping::projection::Projection;
use crate::mapping::{MapContext, MapError, MapReport};
use crate::model::ConnectorKind;
use crate::polling::{HealthReport, PageStream, PollError, PollRequest};
use crate::ports::Credentials;
use crate::signal::IngestionKind;
use crate::webhook::{
    DEFAULT_REPLAY_WINDOW, DeliveryId, HandshakeReply, HandshakeRequest, Headers, SubscriptionAnswer, SubscriptionCall,
    SubscriptionPlans, VerifyContext, VerifyError, WebhookEvent, WebhookRequest,
};

/// Every part of a payload: what a connector written in Rust may read.
static WHOLE_BODY: Projection = Projection::All;

/// What every connector can do, whether driven by a descriptor or written in Rust.
///
/// The webhook methods have defaults for a connector that receives no webhooks.
#[async_trait::async_trait]
pub trait Connector: Send + Sync {
    /// Whether the connector receives webhooks at all.
    fn receives_webhooks(&self) -> bool {
        false
    }

    /// The provider's delivery id of a verified webhook delivery (from a header or the
    /// payload). The webhook gateway accepts each id once per instance within
    /// [`replay_window`](Self::replay_window); a connector that names none gets no replay
    /// protection.
    fn delivery_id(&self, _headers: &Headers, _payload: &Value) -> DeliveryId {
        DeliveryId::NotNamed
    }

    /// How long the webhook gateway remembers a delivery id: at least the provider's retry
    /// window.
    fn replay_window(&self) -> Duration {
        DEFAULT_REPLAY_WINDOW
    }

    /// The answer to a handshake (a URL verification challenge) instead of ingesting the
    /// payload. Asked twice: with `verified = false` before the signature is checked (only
    /// handshakes that need no signature answer then), and with `verified = true` after.
    fn handshake(&self, _payload: &Value, _verified: bool) -> Option<Value> {
        None
    }

    /// The reply to a handshake, seen with its headers and query too (an echoed header or query
    /// parameter, an HMAC challenge, a subscription to confirm). Asked like
    /// [`handshake`](Self::handshake), before and after verification; by default the body-echo
    /// answer of [`handshake`](Self::handshake).
    fn handshake_reply(&self, request: &HandshakeRequest<'_>, verified: bool) -> Option<HandshakeReply> {
        request.payload.and_then(|payload| self.handshake(payload, verified)).map(HandshakeReply::Echo)
    }

    /// The credential field holding the webhook secret, when deliveries are verified.
    fn webhook_secret_field(&self) -> Option<&str> {
        None
    }

    /// Verifies a webhook delivery against the instance's secrets (current first, then
    /// previous, so rotation never drops deliveries).
    fn verify_webhook(&self, _request: &WebhookRequest<'_>, _secrets: &[&str]) -> Result<(), VerifyError> {
        Err(VerifyError::NotAWebhookConnector)
    }

    /// Verifies a webhook delivery with everything a scheme may read: the secrets, the
    /// instance's config and fetched keys (an SNS certificate, a JWKS). By default
    /// [`verify_webhook`](Self::verify_webhook) with the secrets.
    async fn verify_webhook_with(
        &self,
        request: &WebhookRequest<'_>,
        ctx: &VerifyContext<'_>,
    ) -> Result<(), VerifyError> {
        self.verify_webhook(request, ctx.secrets)
    }

    /// A verified delivery's event type and whether the connector handles it. The webhook
    /// gateway decides it once; the envelope carries it to [`Connector::map`].
    fn webhook_event(&self, _headers: &Headers, _payload: &Value) -> WebhookEvent {
        WebhookEvent::Handled(None)
    }

    /// What of a JSON webhook body [`delivery_id`](Self::delivery_id),
    /// [`webhook_event`](Self::webhook_event) and the handshakes read: the webhook gateway
    /// parses only that much (the envelope carries the body's text as it came). The whole
    /// body by default, for a connector whose Rust code reads any part of it.
    fn webhook_projection(&self) -> &Projection {
        &WHOLE_BODY
    }

    /// The instance config values mapping reads in `ingestion` mode, out of the instance's
    /// `config`: the producers (webhook gateway, poller) put them in the envelope, and the
    /// normaliser hands them to [`Connector::map`] as `ctx.config`. None by default.
    fn mapping_config(
        &self,
        _ingestion: IngestionKind,
        _config: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// Maps a webhook payload (with the event type in `ctx`) or a polled page into signals.
    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError>;

    /// Maps one polled item, already extracted from its page.
    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport;

    /// [`Connector::map`] from the payload's JSON text (what the normaliser holds). By default
    /// the text is parsed whole; a connector may parse only what its mapping reads.
    fn map_json(&self, payload: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let payload: Value = serde_json::from_str(payload).map_err(|e| MapError::MalformedJson(e.to_string()))?;
        self.map(&payload, ctx)
    }

    /// [`Connector::map_item`] from the item's JSON text. By default the text is parsed whole.
    fn map_item_json(&self, item: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let item: Value = serde_json::from_str(item).map_err(|e| MapError::MalformedJson(e.to_string()))?;
        Ok(self.map_item(&item, ctx))
    }

    /// Starts a polling run: pages come from [`PageStream::next_page`], each with the
    /// checkpoint to store once its items are handed on.
    fn pages<'a>(&'a self, request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError>;

    /// Checks that an instance's config and credentials work (the dashboard's "test connection").
    async fn check_health(&self, config: &BTreeMap<String, String>, credentials: &Credentials) -> HealthReport;

    /// The webhook subscription Switchboard manages at the provider for this connector (its
    /// create, renew and delete requests), if it has one. None by default.
    fn subscription(&self) -> Option<&SubscriptionPlans> {
        None
    }

    /// Sends one request of the managed webhook subscription (create, renew or delete) with
    /// the instance's credentials, and reads its answer.
    async fn call_subscription(&self, call: SubscriptionCall<'_>) -> Result<SubscriptionAnswer, PollError> {
        Err(PollError::Config(format!(
            "this connector manages no webhook subscription (asked to {})",
            call.action.as_str()
        )))
    }
}

/// The HTTP polling engine as the core sees it: runs a descriptor's compiled polling plan and
/// health check. Implemented by `switchboard-poll`; handed to the catalogue by the processes
/// that poll.
#[async_trait::async_trait]
pub trait PollDriver: Send + Sync + std::fmt::Debug {
    /// Starts a polling run of `descriptor` (which polls: callers check).
    fn pages<'a>(
        &'a self,
        descriptor: &'a Descriptor,
        request: PollRequest<'a>,
    ) -> Result<Box<dyn PageStream + 'a>, PollError>;

    /// Runs `descriptor`'s health check for an instance.
    async fn check_health(
        &self,
        descriptor: &Descriptor,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> HealthReport;

    /// Sends one request of `descriptor`'s managed webhook subscription for an instance. A
    /// driver that cannot send them says so.
    async fn subscription(
        &self,
        descriptor: &Descriptor,
        call: SubscriptionCall<'_>,
    ) -> Result<SubscriptionAnswer, PollError> {
        Err(PollError::Config(format!(
            "this process cannot send webhook subscription requests (asked to {} one of `{}`)",
            call.action.as_str(),
            descriptor.id()
        )))
    }
}

/// The generic, descriptor-driven connector.
#[derive(Debug, Clone)]
pub struct GenericConnector {
    descriptor: Arc<Descriptor>,
    driver: Option<Arc<dyn PollDriver>>,
}

impl GenericConnector {
    /// Runs a validated descriptor, polling through `driver` when the process polls.
    pub fn new(descriptor: Arc<Descriptor>, driver: Option<Arc<dyn PollDriver>>) -> Self {
        Self { descriptor, driver }
    }

    fn driver(&self) -> Result<&dyn PollDriver, PollError> {
        self.driver.as_deref().ok_or_else(|| PollError::NoDriver(self.descriptor.id().to_owned()))
    }
}

#[async_trait::async_trait]
impl Connector for GenericConnector {
    fn receives_webhooks(&self) -> bool {
        self.descriptor.webhook().is_some()
    }

    fn delivery_id(&self, headers: &Headers, payload: &Value) -> DeliveryId {
        match self.descriptor.webhook() {
            Some(webhook) => webhook.delivery_id(headers, payload),
            None => DeliveryId::NotNamed,
        }
    }

    fn replay_window(&self) -> Duration {
        self.descriptor.webhook().map_or(DEFAULT_REPLAY_WINDOW, |webhook| webhook.replay_window)
    }

    fn handshake(&self, payload: &Value, verified: bool) -> Option<Value> {
        let (handshake, answer) = self.descriptor.webhook()?.handshake(payload)?;
        (verified || !handshake.verify).then_some(answer)
    }

    fn handshake_reply(&self, request: &HandshakeRequest<'_>, verified: bool) -> Option<HandshakeReply> {
        self.descriptor.webhook()?.handshake_reply(request, verified)
    }

    fn webhook_secret_field(&self) -> Option<&str> {
        self.descriptor.webhook()?.secret_field()
    }

    fn verify_webhook(&self, request: &WebhookRequest<'_>, secrets: &[&str]) -> Result<(), VerifyError> {
        match self.descriptor.webhook() {
            None => Err(VerifyError::NotAWebhookConnector),
            Some(webhook) => match &webhook.verifier {
                None => Ok(()),
                Some(verifier) => verifier.verify(request, secrets, chrono::Utc::now()),
            },
        }
    }

    async fn verify_webhook_with(
        &self,
        request: &WebhookRequest<'_>,
        ctx: &VerifyContext<'_>,
    ) -> Result<(), VerifyError> {
        match self.descriptor.webhook() {
            None => Err(VerifyError::NotAWebhookConnector),
            Some(webhook) => match &webhook.verifier {
                None => Ok(()),
                Some(verifier) => verifier.verify_with(request, ctx).await,
            },
        }
    }

    fn webhook_event(&self, headers: &Headers, payload: &Value) -> WebhookEvent {
        match self.descriptor.webhook() {
            Some(webhook) => webhook.event(headers, payload),
            None => WebhookEvent::Handled(None),
        }
    }

    fn webhook_projection(&self) -> &Projection {
        self.descriptor.webhook().map_or(&WHOLE_BODY, |webhook| &webhook.projection)
    }

    fn mapping_config(&self, ingestion: IngestionKind, config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        self.descriptor.mapping_config(ingestion, config)
    }

    fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        self.descriptor.map(payload, ctx)
    }

    fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        self.descriptor.map_item(item, ctx)
    }

    fn map_json(&self, payload: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        self.descriptor.map_json(payload, ctx)
    }

    fn map_item_json(&self, item: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        self.descriptor.map_item_json(item, ctx)
    }

    fn pages<'a>(&'a self, request: PollRequest<'a>) -> Result<Box<dyn PageStream + 'a>, PollError> {
        if self.descriptor.polling().is_none() {
            return Err(PollError::NotPolling(self.descriptor.id().to_owned()));
        }
        self.driver()?.pages(&self.descriptor, request)
    }

    async fn check_health(&self, config: &BTreeMap<String, String>, credentials: &Credentials) -> HealthReport {
        match self.driver() {
            Ok(driver) => driver.check_health(&self.descriptor, config, credentials).await,
            Err(error) => HealthReport::failed(&error),
        }
    }

    fn subscription(&self) -> Option<&SubscriptionPlans> {
        self.descriptor.subscription()
    }

    async fn call_subscription(&self, call: SubscriptionCall<'_>) -> Result<SubscriptionAnswer, PollError> {
        self.driver()?.subscription(&self.descriptor, call).await
    }
}

/// Factory for a native connector, given its (validated) descriptor and the process's poll
/// driver (`None` in a process that never polls): a native connector sends its requests
/// through the same engine as the generic ones.
pub type NativeFactory = fn(Arc<Descriptor>, Option<Arc<dyn PollDriver>>) -> Arc<dyn Connector>;

/// Native connector implementations, registered by connector id.
#[derive(Default, Clone)]
pub struct NativeRegistry {
    factories: HashMap<String, NativeFactory>,
}

/// Why a connector could not be resolved for a descriptor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// A `native` descriptor whose id has no registered implementation.
    #[error("connector {0:?} is native, but no native implementation is registered under that id")]
    NativeNotRegistered(String),
}

impl NativeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a native implementation under a connector id.
    pub fn register(&mut self, connector_id: &str, factory: NativeFactory) -> &mut Self {
        self.factories.insert(connector_id.to_owned(), factory);
        self
    }

    /// Whether an implementation is registered for this id.
    pub fn contains(&self, connector_id: &str) -> bool {
        self.factories.contains_key(connector_id)
    }

    /// The connector for a descriptor: the generic runtime (polling through `driver`) for
    /// `generic`, the registered Rust implementation for `native`.
    pub fn resolve(
        &self,
        descriptor: Arc<Descriptor>,
        driver: Option<Arc<dyn PollDriver>>,
    ) -> Result<Arc<dyn Connector>, ResolveError> {
        match descriptor.kind() {
            ConnectorKind::Generic => Ok(Arc::new(GenericConnector::new(descriptor, driver))),
            ConnectorKind::Native => match self.factories.get(descriptor.id()) {
                Some(factory) => Ok(factory(descriptor, driver)),
                None => Err(ResolveError::NativeNotRegistered(descriptor.id().to_owned())),
            },
        }
    }
}

impl std::fmt::Debug for NativeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeRegistry").field("ids", &self.factories.keys().collect::<Vec<_>>()).finish()
    }
}
