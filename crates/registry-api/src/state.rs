//! [`RegistryState`]: what every route shares — the stores, the connector catalogue (compiled
//! connectors for health checks and the OAuth2 flow), the caller resolver, an HTTP client for
//! OAuth2 code exchange, and the OAuth2 settings.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::NativeRegistry;
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::Stores;
use switchboard_poll::oauth::TokenLimits;
use switchboard_poll::{PollEngine, PollOptions};
use url::{Origin, Url};

use crate::auth::CallerResolver;

/// How long a started OAuth2 authorisation may take before its `state` is refused.
pub const DEFAULT_OAUTH_STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// Timeout of outgoing requests that set none of their own (OAuth2 token endpoints).
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

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
}

/// OAuth2 connect settings.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    /// The public URL of `GET /oauth/callback`, registered with each provider. When `None` it is
    /// derived from the `oauth/start` request's `Host` (and `X-Forwarded-Proto`) header.
    pub callback_url: Option<Url>,
    /// How long a `state` stays valid.
    pub state_ttl: Duration,
    /// The dashboard's origin (`SWITCHBOARD_DASHBOARD_ORIGIN`): the only place the callback
    /// sends a browser back to (`returnTo`). When `None`, the configured `callback_url`'s origin
    /// (the API serves the dashboard itself); with neither, `returnTo` is refused.
    pub dashboard_origin: Option<Origin>,
    /// Deadline and body limit of the code exchange at the provider's token endpoint.
    pub token_limits: TokenLimits,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        Self {
            callback_url: None,
            state_ttl: DEFAULT_OAUTH_STATE_TTL,
            dashboard_origin: None,
            token_limits: TokenLimits::default(),
        }
    }
}

impl OAuthSettings {
    /// The origin the callback may send browsers back to: the dashboard origin, or else the
    /// configured callback URL's origin. Never derived from a request.
    pub fn redirect_origin(&self) -> Option<Origin> {
        self.dashboard_origin.clone().or_else(|| self.callback_url.as_ref().map(Url::origin))
    }

    /// Parses a dashboard origin setting: `https://host[:port]` (or `http://`), with no path,
    /// query or user name.
    pub fn parse_dashboard_origin(text: &str) -> Result<Origin, String> {
        let url = Url::parse(text.trim())
            .map_err(|e| format!("{text:?} is not a URL ({e}); expected https://host[:port]"))?;
        let plain = matches!(url.scheme(), "http" | "https")
            && url.has_host()
            && url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        if !plain {
            return Err(format!("{text:?} is not an origin; expected https://host[:port] with nothing after it"));
        }
        Ok(url.origin())
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
        Self { stores, catalog: Arc::new(catalog), resolver, http, oauth: OAuthSettings::default() }
    }

    /// Uses `callback_url` as the OAuth2 redirect URI.
    pub fn with_callback_url(mut self, callback_url: Url) -> Self {
        self.oauth.callback_url = Some(callback_url);
        self
    }

    /// Lets the OAuth2 callback send browsers back only to `origin` (see
    /// [`OAuthSettings::parse_dashboard_origin`]).
    pub fn with_dashboard_origin(mut self, origin: Origin) -> Self {
        self.oauth.dashboard_origin = Some(origin);
        self
    }

    /// Bounds the OAuth2 code exchange by `limits`.
    pub fn with_token_limits(mut self, limits: TokenLimits) -> Self {
        self.oauth.token_limits = limits;
        self
    }
}
