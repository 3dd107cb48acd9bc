//! [`GatewayState`]: the ports the gateway uses, built once per process and shared by every
//! request.

use std::sync::Arc;

use switchboard_core::catalog::{ConnectorCatalog, DEFAULT_CACHE_TTL};
use switchboard_core::ports::{InstanceRegistry, QueueSender, RateLimiter, SecretStore, Stores};

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
    /// Per-instance delivery counter shared by every process.
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Limits.
    pub settings: GatewaySettings,
}

impl GatewayState {
    /// A state over one backend's stores (its rate limiter included), with a catalogue of the
    /// build's generic and native connectors (which never poll here) and the default cache
    /// lifetime.
    pub fn new(stores: &Stores, ingest: Arc<dyn QueueSender>, settings: GatewaySettings) -> Self {
        let catalog =
            ConnectorCatalog::new(stores.descriptors.clone(), switchboard_natives::registry(), DEFAULT_CACHE_TTL);
        Self {
            catalog: Arc::new(catalog),
            instances: stores.instances.clone(),
            secrets: stores.secrets.clone(),
            ingest,
            rate_limiter: stores.rate_limits.clone(),
            settings,
        }
    }
}
