//! [`App`]: the ports, the settings and the one connector catalogue every application shares.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::builtin::{BuiltInError, BuiltInSync, built_in_models, register_descriptors};
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

/// Everything the applications are built from. Build it once per process; each part is built
/// when asked for, so a process builds only what it runs (the webhook gateway's Lambda never
/// builds the poller's HTTP client), and each HTTP client (root certificates loaded) only when
/// a request first needs it. Each part takes the queue it sends to: in Lambda every
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
    /// (`switchboard_natives::models`) that are missing or at another version than this
    /// build ships, and logs what changed. Run once at start: nothing else fills a fresh
    /// registry's catalogue, and an unchanged registry costs one read per built-in.
    pub async fn register_built_ins(&self) -> Result<BuiltInSync, BuiltInError> {
        let mut shipped = built_in_models()?;
        shipped.extend(switchboard_natives::models()?);
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
    /// engine's guarded client, with the settings' egress exceptions, built on the first fetch.
    pub fn gateway(&self, ingest: Arc<dyn QueueSender>) -> GatewayState {
        GatewayState::new(self.catalog.clone(), &self.stores, ingest, self.settings.gateway)
            .with_fetcher(Arc::new(GuardedFetcher::lazy(self.settings.egress.clone())))
    }

    /// The normaliser, sending signals to `signals`.
    pub fn normaliser(&self, signals: Arc<dyn QueueSender>) -> Normaliser {
        Normaliser::new(self.catalog.clone(), &self.stores, signals, self.settings.normaliser.clone())
    }

    /// The poller, putting envelopes on `ingest`. Its catalogue hands generic connectors the
    /// HTTP polling engine; native connectors poll in their own code. Nothing here can fail: the
    /// HTTP client is built by the first request (`PollEngine::lazy`), which reports a client
    /// that cannot be built.
    pub fn poller(&self, ingest: Arc<dyn QueueSender>) -> Poller {
        let engine = self.engine(PollOptions::default());
        let catalog = ConnectorCatalog::new(
            self.stores.descriptors.clone(),
            switchboard_natives::registry(),
            self.settings.catalog_ttl,
        )
        .with_poll_driver(Arc::new(engine));
        Poller::new(self.stores.clone(), Arc::new(catalog), ingest, self.settings.poller.clone())
    }

    /// The registry API's state, authenticating callers with `resolver`, registering managed
    /// webhooks under the settings' public URL. Its health checks, OAuth2 token requests and
    /// webhook subscription requests go through a polling engine of its own (a caller waits for
    /// them, so requests time out sooner than the poller's), its HTTP client built by its first
    /// request.
    pub fn registry(&self, resolver: Arc<dyn CallerResolver>) -> RegistryState {
        let engine = self.engine(PollOptions { request_timeout: REGISTRY_REQUEST_TIMEOUT, ..PollOptions::default() });
        RegistryState {
            oauth: self.settings.oauth.clone(),
            public_url: self.settings.public_url.clone(),
            sign_in: self.settings.sign_in.clone(),
            ..RegistryState::new(self.stores.clone(), resolver, switchboard_natives::registry(), engine)
        }
    }

    /// A polling engine with `options` and the settings' egress exceptions, its HTTP client
    /// built by its first request.
    fn engine(&self, options: PollOptions) -> PollEngine {
        PollEngine::lazy(PollOptions { egress: self.settings.egress.clone(), ..options })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use switchboard_embedded::Embedded;
    use switchboard_registry_api::ClaimsResolver;

    use super::*;

    #[test]
    fn assembling_the_registry_builds_no_http_client_until_a_request_needs_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
        let app = App::assemble(db.stores(), Settings::default());
        let registry = app.registry(Arc::new(ClaimsResolver));
        assert!(!registry.engine.http_is_built(), "no root certificates loaded at assembly");
        registry.engine.http().unwrap();
        assert!(registry.engine.http_is_built());
    }
}
