//! [`RegistryState`]: what every route shares — the stores, the connector catalogue (compiled
//! connectors for health checks and the OAuth2 flow), the caller resolver, an HTTP client for
//! OAuth2 code exchange, the OAuth2 settings, and the hosts the operator admits for every
//! descriptor.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::NativeRegistry;
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::Stores;
use switchboard_poll::{PollEngine, PollOptions};
use url::Url;

use crate::auth::CallerResolver;

/// How long a started OAuth2 authorisation may take before its `state` is refused.
pub const DEFAULT_OAUTH_STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// Timeout of outgoing requests that set none of their own (OAuth2 token endpoints).
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// OAuth2 connect settings.
    pub oauth: OAuthSettings,
    /// Hosts admitted for every descriptor on top of its `allowedHosts` (none by default).
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
    /// Native connectors resolve through `natives`.
    pub fn new(stores: Stores, resolver: Arc<dyn CallerResolver>, natives: NativeRegistry) -> Self {
        let http = reqwest::Client::builder().timeout(HTTP_TIMEOUT).build().unwrap_or_else(|err| {
            tracing::warn!(error = %err, "could not configure the HTTP client; using defaults");
            reqwest::Client::new()
        });
        let engine = PollEngine::new(http.clone(), PollOptions::default());
        let catalog = ConnectorCatalog::new(stores.descriptors.clone(), natives, Duration::ZERO)
            .with_poll_driver(Arc::new(engine));
        Self {
            stores,
            catalog: Arc::new(catalog),
            resolver,
            http,
            oauth: OAuthSettings::default(),
            operator_admits_host: Arc::new(|_: &str, _: u16| false),
        }
    }

    /// Admits the hosts `admits` accepts for every descriptor (see [`OperatorAllowance`]).
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
