//! [`RegistryState`]: what every route shares — the stores, the connector catalogue (compiled
//! connectors for health checks and the OAuth2 flow), the caller resolver, an HTTP client for
//! OAuth2 code exchange, and the OAuth2 settings.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::NativeRegistry;
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::Stores;
use switchboard_poll::{EgressGuard, PollEngine};
use url::Url;

use crate::auth::CallerResolver;

/// How long a started OAuth2 authorisation may take before its `state` is refused.
pub const DEFAULT_OAUTH_STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// Shared by every route. Cheap to clone.
#[derive(Clone)]
pub struct RegistryState {
    /// Every storage port.
    pub stores: Stores,
    /// Compiled connectors, resolved with the build's natives; generic ones run their health
    /// checks through the polling engine. Not cached: descriptors change through this API.
    pub catalog: Arc<ConnectorCatalog>,
    /// Turns a request into its caller.
    pub resolver: Arc<dyn CallerResolver>,
    /// Client for token endpoints (and, through the catalogue's engine, health checks).
    pub http: reqwest::Client,
    /// The egress guard of that client, to check an instance's URLs when they are configured
    /// (`EgressGuard::check_url_now`).
    pub egress: EgressGuard,
    /// OAuth2 connect settings.
    pub oauth: OAuthSettings,
}

/// OAuth2 connect settings.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The public URL of `GET /oauth/callback`, registered with each provider. When `None` it is
    /// derived from the `oauth/start` request's `Host` (and `X-Forwarded-Proto`) header.
    pub callback_url: Option<Url>,
    /// How long a `state` stays valid.
    pub state_ttl: Duration,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self { callback_url: None, state_ttl: DEFAULT_OAUTH_STATE_TTL }
    }
}

impl RegistryState {
    /// State over `stores`, authenticating with `resolver`, with default OAuth2 settings.
    /// Native connectors resolve through `natives`; health checks and OAuth2 token requests go
    /// through `engine` (and its egress guard).
    pub fn new(stores: Stores, resolver: Arc<dyn CallerResolver>, natives: NativeRegistry, engine: PollEngine) -> Self {
        // The engine's client is behind the egress guard: token requests and health checks
        // alike reach only what the guard lets through.
        let (http, egress) = (engine.http().clone(), engine.guard().clone());
        let catalog = ConnectorCatalog::new(stores.descriptors.clone(), natives, Duration::ZERO)
            .with_poll_driver(Arc::new(engine));
        Self { stores, catalog: Arc::new(catalog), resolver, http, egress, oauth: OAuthSettings::default() }
    }

    /// Uses `callback_url` as the OAuth2 redirect URI.
    pub fn with_callback_url(mut self, callback_url: Url) -> Self {
        self.oauth.callback_url = Some(callback_url);
        self
    }
}
