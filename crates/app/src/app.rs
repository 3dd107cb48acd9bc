//! [`App`]: the ports, the settings and the one connector catalogue every application shares.

use std::sync::Arc;

use switchboard_core::NativeRegistry;
use switchboard_core::builtin::{BuiltInError, BuiltInSync, register_built_ins};
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::poll::{PollEngine, PollOptions};
use switchboard_core::ports::{QueueSender, Stores};
use switchboard_normaliser::Normaliser;
use switchboard_poller::Poller;
use switchboard_registry_api::{CallerResolver, RegistryState};
use switchboard_webhook_gateway::GatewayState;

use crate::settings::Settings;

/// An application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The poller's HTTP client could not be built (its TLS setup failed).
    #[error("cannot build the poller's HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// Everything the applications are built from. Build it once per process; each part is built
/// when asked for, so a process builds only what it runs (the webhook gateway's Lambda never
/// builds the poller's HTTP client). Each part takes the queue it sends to: in Lambda every
/// function is configured with that queue only.
pub struct App {
    stores: Stores,
    catalog: Arc<ConnectorCatalog>,
    settings: Settings,
}

impl App {
    /// The applications over `stores`, tuned by `settings`, sharing one connector catalogue
    /// (generic connectors: no native implementation is built in yet).
    pub fn assemble(stores: Stores, settings: Settings) -> Self {
        let catalog =
            Arc::new(ConnectorCatalog::new(stores.descriptors.clone(), NativeRegistry::new(), settings.catalog_ttl));
        Self { stores, catalog, settings }
    }

    /// The storage ports.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// Registers the built-in descriptors that are missing or at another version than this
    /// build ships, and logs what changed. Run once at start: nothing else fills a fresh
    /// registry's catalogue, and an unchanged registry costs one read per built-in.
    pub async fn register_built_ins(&self) -> Result<BuiltInSync, BuiltInError> {
        let sync = register_built_ins(self.stores.descriptors.as_ref()).await?;
        tracing::info!(
            added = sync.added.len(),
            updated = sync.updated.len(),
            unchanged = sync.unchanged.len(),
            "built-in connectors registered"
        );
        Ok(sync)
    }

    /// The webhook gateway's state, putting envelopes on `ingest`.
    pub fn gateway(&self, ingest: Arc<dyn QueueSender>) -> GatewayState {
        GatewayState::new(self.catalog.clone(), &self.stores, ingest, self.settings.gateway)
    }

    /// The normaliser, sending signals to `signals`.
    pub fn normaliser(&self, signals: Arc<dyn QueueSender>) -> Normaliser {
        Normaliser::new(self.catalog.clone(), &self.stores, signals, self.settings.normaliser.clone())
    }

    /// The poller with its polling engine (and the engine's HTTP client), putting envelopes on
    /// `ingest`.
    pub fn poller(&self, ingest: Arc<dyn QueueSender>) -> Result<Poller, AssembleError> {
        let http = reqwest::Client::builder().build().map_err(AssembleError::HttpClient)?;
        let engine = PollEngine::new(http, PollOptions::default());
        Ok(Poller::new(self.stores.clone(), self.catalog.clone(), engine, ingest, self.settings.poller.clone()))
    }

    /// The registry API's state, authenticating callers with `resolver`.
    pub fn registry(&self, resolver: Arc<dyn CallerResolver>) -> RegistryState {
        RegistryState { oauth: self.settings.oauth.clone(), ..RegistryState::new(self.stores.clone(), resolver) }
    }
}
