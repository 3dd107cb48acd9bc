//! [`GatewayState`]: the ports the gateway uses, built once per process and shared by every
//! request.

use std::sync::Arc;

use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::{DedupStore, InstanceRegistry, QueueSender, RateLimiter, SecretStore, SendOnce, Stores};
use switchboard_core::webhook::{DEFAULT_KEY_TTL, KeyCache, WebhookFetcher};

use crate::settings::GatewaySettings;

/// Everything a delivery needs. Cheap to clone (every field is shared).
#[derive(Clone)]
pub struct GatewayState {
    /// Connector descriptors, cached per warm process.
    pub catalog: Arc<ConnectorCatalog>,
    /// Connector instances (looked up before anything else is read).
    pub instances: Arc<dyn InstanceRegistry>,
    /// Instance secrets (read only for enabled instances within their rate limit).
    pub secrets: Arc<dyn SecretStore>,
    /// The ingest queue; a delivery is accepted once its envelope is here.
    pub ingest: Arc<dyn QueueSender>,
    /// Request counters shared by every process (verified and unverified buckets).
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Delivery ids accepted within their replay window, and the claims of those being enqueued.
    pub dedup: Arc<dyn DedupStore>,
    /// The ingest queue's atomic send, when its backend has one (the embedded database): a
    /// delivery's envelope and its replay record are then written together, without a claim.
    /// `None`: the claim protocol over [`Self::dedup`] and [`Self::ingest`] (SQS and DynamoDB).
    pub ingest_once: Option<Arc<dyn SendOnce>>,
    /// Limits.
    pub settings: GatewaySettings,
    /// Fetched verification keys (SNS certificates, JWKS), cached, and the fetcher that
    /// confirms subscriptions. `None`: schemes and handshakes that fetch fail (503 / 502).
    pub keys: Option<Arc<KeyCache>>,
}

impl GatewayState {
    /// A state over one backend's stores (its rate limiter and dedup store included), loading connectors
    /// through `catalog`.
    pub fn new(
        catalog: Arc<ConnectorCatalog>,
        stores: &Stores,
        ingest: Arc<dyn QueueSender>,
        settings: GatewaySettings,
    ) -> Self {
        Self {
            catalog,
            instances: stores.instances.clone(),
            secrets: stores.secrets.clone(),
            ingest,
            rate_limiter: stores.rate_limits.clone(),
            dedup: stores.dedup.clone(),
            ingest_once: None,
            settings,
            keys: None,
        }
    }

    /// This state, enqueueing deliveries with an id through `ingest_once` (the same queue as
    /// [`Self::ingest`], sending and recording in one write) instead of the claim protocol.
    pub fn with_send_once(self, ingest_once: Arc<dyn SendOnce>) -> Self {
        Self { ingest_once: Some(ingest_once), ..self }
    }

    /// This state, fetching keys and confirming subscriptions through `fetcher` (keys are kept
    /// for [`DEFAULT_KEY_TTL`]).
    pub fn with_fetcher(self, fetcher: Arc<dyn WebhookFetcher>) -> Self {
        Self { keys: Some(Arc::new(KeyCache::new(fetcher, DEFAULT_KEY_TTL))), ..self }
    }
}
