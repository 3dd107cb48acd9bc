//! [`RegistryState`]: what every route shares — the stores, the connector catalogue (compiled
//! connectors for health checks and the OAuth2 flow), the caller resolver, an HTTP client for
//! OAuth2 code exchange, the OAuth2 settings, and the hosts the operator admits for every
//! descriptor.

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

/// Whether the operator admits a host for every descriptor, whatever its `allowedHosts`: called
/// with the host of an instance URL (a lower-case DNS name, or an IP address without brackets:
/// `127.0.0.1`, `::1`) and its port (the scheme's default when the URL names none). Fed by the
/// egress allowance (`SWITCHBOARD_EGRESS_ALLOW`, `serve --egress-allow`), which is how
/// self-hosted products are reached.
pub type OperatorAllowance = Arc<dyn Fn(&str, u16) -> bool + Send + Sync>;

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
    /// Hosts admitted for every descriptor on top of its `allowedHosts` (by default those the
    /// engine's egress allowance lists by name or address).
    pub operator_admits_host: OperatorAllowance,
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
        // The operator's egress allowance also admits hosts outside a descriptor's allowedHosts.
        let allow = egress.allow().clone();
        Self {
            stores,
            catalog: Arc::new(catalog),
            resolver,
            http,
            egress,
            oauth: OAuthSettings::default(),
            operator_admits_host: Arc::new(move |host: &str, port: u16| allow.admits_host(host, port)),
        }
    }

    /// Admits the hosts `admits` accepts for every descriptor instead of those of the engine's
    /// egress allowance (see [`OperatorAllowance`]).
    pub fn with_operator_admits_host(mut self, admits: impl Fn(&str, u16) -> bool + Send + Sync + 'static) -> Self {
        self.operator_admits_host = Arc::new(admits);
        self
    }

    /// Uses `callback_url` as the OAuth2 redirect URI.
    pub fn with_callback_url(mut self, callback_url: Url) -> Self {
        self.oauth.callback_url = Some(callback_url);
        self
    }
}
