//! [`App`]: the ports, the settings and the one connector catalogue every application shares.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::builtin::{BuiltInError, BuiltInSync, built_in_descriptors, register_descriptors};
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::{QueueSender, Stores};
use switchboard_normaliser::Normaliser;
use switchboard_poll::{GuardedFetcher, PollEngine, PollOptions};
use switchboard_poller::Poller;
use switchboard_registry_api::{CallerResolver, RegistryState};
use switchboard_webhook_gateway::GatewayState;

use crate::settings::Settings;

/// Timeout of the registry's outgoing requests (OAuth2 token endpoints; health checks set
/// their own).
const REGISTRY_REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// An application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// The HTTP client of the poller or the registry could not be built (its TLS setup
    /// failed).
    #[error("cannot build the polling engine: {0}")]
    PollEngine(#[source] switchboard_core::PollError),
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
    /// The applications over `stores`, tuned by `settings`, sharing one connector catalogue of
    /// the generic connectors and this build's natives (`switchboard_natives::registry`).
    pub fn assemble(stores: Stores, settings: Settings) -> Self {
        let catalog = Arc::new(ConnectorCatalog::new(
            stores.descriptors.clone(),
            switchboard_natives::registry(),
            settings.catalog_ttl,
        ));
        Self { stores, catalog, settings }
    }

    /// The storage ports.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// Registers the built-in descriptors and the native connectors' descriptors
    /// (`switchboard_natives::descriptors`) that are missing or at another version than this
    /// build ships, and logs what changed. Run once at start: nothing else fills a fresh
    /// registry's catalogue, and an unchanged registry costs one read per built-in.
    pub async fn register_built_ins(&self) -> Result<BuiltInSync, BuiltInError> {
        let mut shipped = built_in_descriptors()?;
        shipped.extend(switchboard_natives::descriptors()?);
        let sync = register_descriptors(self.stores.descriptors.as_ref(), shipped).await?;
        tracing::info!(
            added = sync.added.len(),
            updated = sync.updated.len(),
            unchanged = sync.unchanged.len(),
            "built-in connectors registered"
        );
        if !sync.newer_kept.is_empty() {
            tracing::warn!(
                connectors = ?sync.newer_kept,
                "stored built-in connectors are newer than this release's and were kept (a newer deployment wrote them)"
            );
        }
        if !sync.user_kept.is_empty() {
            tracing::warn!(
                connectors = ?sync.user_kept,
                "connector ids that are now built in are taken by user descriptors, which were kept (the catalogue marks them `shadowsBuiltIn`)"
            );
        }
        Ok(sync)
    }

    /// The webhook gateway's state, putting envelopes on `ingest`. Verification keys (SNS
    /// certificates, JWKS) and subscription confirmations are fetched through the polling
    /// engine's guarded client, with the settings' egress exceptions.
    pub fn gateway(&self, ingest: Arc<dyn QueueSender>) -> GatewayState {
        let state = GatewayState::new(self.catalog.clone(), &self.stores, ingest, self.settings.gateway);
        match GuardedFetcher::new(self.settings.egress.clone()) {
            Ok(fetcher) => state.with_fetcher(Arc::new(fetcher)),
            Err(error) => {
                tracing::error!(%error, "no webhook key fetcher: schemes that fetch keys will answer 503");
                state
            }
        }
    }

    /// The normaliser, sending signals to `signals`.
    pub fn normaliser(&self, signals: Arc<dyn QueueSender>) -> Normaliser {
        Normaliser::new(self.catalog.clone(), &self.stores, signals, self.settings.normaliser.clone())
    }

    /// The poller, putting envelopes on `ingest`. Its catalogue hands generic connectors the
    /// HTTP polling engine; native connectors poll in their own code.
    pub fn poller(&self, ingest: Arc<dyn QueueSender>) -> Result<Poller, AssembleError> {
        let engine = self.engine(PollOptions::default())?;
        let catalog = ConnectorCatalog::new(
            self.stores.descriptors.clone(),
            switchboard_natives::registry(),
            self.settings.catalog_ttl,
        )
        .with_poll_driver(Arc::new(engine));
        Ok(Poller::new(self.stores.clone(), Arc::new(catalog), ingest, self.settings.poller.clone()))
    }

    /// The registry API's state, authenticating callers with `resolver`, registering managed
    /// webhooks under the settings' public URL. Its health checks, OAuth2 token requests and
    /// webhook subscription requests go through a polling engine of its own (a caller waits for
    /// them, so requests time out sooner than the poller's).
    pub fn registry(&self, resolver: Arc<dyn CallerResolver>) -> Result<RegistryState, AssembleError> {
        let engine =
            self.engine(PollOptions { request_timeout: REGISTRY_REQUEST_TIMEOUT, ..PollOptions::default() })?;
        Ok(RegistryState {
            oauth: self.settings.oauth.clone(),
            public_url: self.settings.public_url.clone(),
            sign_in: self.settings.sign_in.clone(),
            ..RegistryState::new(self.stores.clone(), resolver, switchboard_natives::registry(), engine)
        })
    }

    /// A polling engine with `options` and the settings' egress exceptions.
    fn engine(&self, options: PollOptions) -> Result<PollEngine, AssembleError> {
        PollEngine::new(PollOptions { egress: self.settings.egress.clone(), ..options })
            .map_err(AssembleError::PollEngine)
    }
}
