//! [`RegistryState`]: what every route shares — the stores, the connector catalogue (compiled
//! connectors for health checks and the OAuth2 flow), the caller resolver, the polling engine
//! (OAuth2 code exchange), the OAuth2 settings, the hosts the operator admits for every
//! descriptor, the public URL managed webhook subscriptions are registered under, and how to ask
//! the poller to poll an instance now.

use std::sync::Arc;
use std::time::Duration;

use switchboard_core::NativeRegistry;
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::{PollTrigger, Stores};
use switchboard_poll::PollEngine;
use switchboard_poll::oauth::TokenLimits;
use url::{Origin, Url};

use crate::auth::CallerResolver;
use crate::sign_in::SignIn;

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
    /// The polling engine (behind the egress guard): health checks through the catalogue, and
    /// the OAuth2 code exchange.
    pub engine: Arc<PollEngine>,
    /// OAuth2 connect settings.
    pub oauth: OAuthSettings,
    /// Hosts admitted for every descriptor on top of its `allowedHosts` (by default those the
    /// engine's egress allowance lists by name or address).
    pub operator_admits_host: OperatorAllowance,
    /// The public URL the webhook gateway is reached at (`SWITCHBOARD_PUBLIC_URL`, `serve
    /// --public-url`), under which managed webhook subscriptions are registered. `None`: webhooks
    /// are registered by hand.
    pub public_url: Option<String>,
    /// How the dashboard signs in (admin token, OIDC issuer).
    pub sign_in: SignIn,
    /// Asks the poller to poll a new or re-enabled instance at once (`None`: it waits for the
    /// next scheduled run).
    pub poll_trigger: Option<Arc<dyn PollTrigger>>,
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

/// Parses the public URL webhooks are registered under (`SWITCHBOARD_PUBLIC_URL`): an absolute
/// `https://` (or `http://`) URL with a host and no query, fragment or user name; a trailing
/// `/` is dropped.
pub fn parse_public_url(text: &str) -> Result<String, String> {
    let url = Url::parse(text.trim())
        .map_err(|e| format!("{text:?} is not a URL ({e}); expected https://host[:port][/prefix]"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.has_host()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain {
        return Err(format!("{text:?} is not a plain http(s) URL; expected https://host[:port][/prefix]"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl RegistryState {
    /// State over `stores`, authenticating with `resolver`, with default OAuth2 settings.
    /// Native connectors resolve through `natives`; health checks and OAuth2 token requests go
    /// through `engine` (and its egress guard).
    pub fn new(stores: Stores, resolver: Arc<dyn CallerResolver>, natives: NativeRegistry, engine: PollEngine) -> Self {
        // Token requests and health checks alike reach only what the engine's guard lets through.
        let engine = Arc::new(engine);
        let catalog =
            ConnectorCatalog::new(stores.descriptors.clone(), natives, Duration::ZERO).with_poll_driver(engine.clone());
        // The operator's egress allowance also admits hosts outside a descriptor's allowedHosts.
        let allow = engine.guard().allow().clone();
        Self {
            stores,
            catalog: Arc::new(catalog),
            resolver,
            engine,
            oauth: OAuthSettings::default(),
            operator_admits_host: Arc::new(move |host: &str, port: u16| allow.admits_host(host, port)),
            public_url: None,
            sign_in: SignIn::default(),
            poll_trigger: None,
        }
    }

    /// Registers managed webhook subscriptions under `public_url` (`https://host[/prefix]`; the
    /// gateway's `/webhooks/{connectorId}/{projectId}` follows it).
    pub fn with_public_url(mut self, public_url: impl Into<String>) -> Self {
        self.public_url = Some(public_url.into());
        self
    }

    /// Admits the hosts `admits` accepts for every descriptor instead of those of the engine's
    /// egress allowance (see [`OperatorAllowance`]).
    pub fn with_operator_admits_host(mut self, admits: impl Fn(&str, u16) -> bool + Send + Sync + 'static) -> Self {
        self.operator_admits_host = Arc::new(admits);
        self
    }

    /// Asks `trigger` to poll new and re-enabled instances (and those re-authorised) at once.
    pub fn with_poll_trigger(mut self, trigger: Arc<dyn PollTrigger>) -> Self {
        self.poll_trigger = Some(trigger);
        self
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
