//! [`Settings`]: the tunables of every application, with their defaults, and the names of the
//! environment variables that both front ends (Lambda's environment, `serve`'s flags) read.

use std::time::Duration;

use switchboard_core::catalog::DEFAULT_CACHE_TTL;
use switchboard_normaliser::NormaliserSettings;
use switchboard_poll::EgressAllow;
use switchboard_poller::PollerSettings;
use switchboard_registry_api::{OAuthSettings, SignIn};
use switchboard_webhook_gateway::GatewaySettings;

/// Overrides [`GatewaySettings::body_limit_bytes`] (the Lambda environment, `serve
/// --webhook-body-limit`).
pub const ENV_BODY_LIMIT_BYTES: &str = "SWITCHBOARD_WEBHOOK_BODY_LIMIT_BYTES";
/// Overrides [`GatewaySettings::rate_limit`], deliveries per instance per minute (the Lambda
/// environment, `serve --webhook-rate-limit`).
pub const ENV_RATE_LIMIT_PER_MINUTE: &str = "SWITCHBOARD_WEBHOOK_RATE_LIMIT_PER_MINUTE";

/// Overrides [`GatewaySettings::secret_rotation_grace`], in seconds (the Lambda environment,
/// `serve --webhook-secret-grace`).
pub const ENV_SECRET_GRACE_SECONDS: &str = "SWITCHBOARD_WEBHOOK_SECRET_GRACE_SECONDS";
/// Sets [`OAuthSettings::dashboard_origin`], the only origin the OAuth2 callback sends
/// browsers back to (the registry's Lambda environment, `serve --dashboard-origin`).
pub const ENV_DASHBOARD_ORIGIN: &str = "SWITCHBOARD_DASHBOARD_ORIGIN";

/// Opens exceptions in the egress guard of every request made for a tenant (polls, health
/// checks, OAuth2 token requests): comma-separated hosts, `host:port`s, IP addresses or CIDR
/// blocks (the Lambda environment of the poller and the registry, `serve --egress-allow`).
pub const ENV_EGRESS_ALLOW: &str = switchboard_poll::egress::ENV_EGRESS_ALLOW;

/// The dashboard's OIDC issuer (the JWT authorizer's issuer; `serve --oidc-issuer`).
pub const ENV_OIDC_ISSUER: &str = "SWITCHBOARD_OIDC_ISSUER";
/// The dashboard's client id at that issuer, one of the authorizer's audiences (`serve
/// --oidc-client-id`).
pub const ENV_OIDC_CLIENT_ID: &str = "SWITCHBOARD_OIDC_CLIENT_ID";
/// The scopes the dashboard asks for (space-separated; `serve --oidc-scopes`).
pub const ENV_OIDC_SCOPES: &str = "SWITCHBOARD_OIDC_SCOPES";

/// Overrides [`PollerSettings::failure_threshold`], the consecutive failures after which an
/// instance's `connector_health` notice says it is failing (the poller's Lambda environment,
/// `serve --health-failure-threshold`).
pub const ENV_HEALTH_FAILURE_THRESHOLD: &str = "SWITCHBOARD_HEALTH_FAILURE_THRESHOLD";

/// Sets [`Settings::public_url`], the public URL managed webhook subscriptions are registered
/// under (the registry's Lambda environment, `serve --public-url`).
pub const ENV_PUBLIC_URL: &str = "SWITCHBOARD_PUBLIC_URL";

/// The tunables of the four applications. `Default` gives the specification's values.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a warm process reuses a connector descriptor it loaded.
    pub catalog_ttl: Duration,
    /// The webhook gateway's limits.
    pub gateway: GatewaySettings,
    /// The normaliser's dedup and concurrency settings.
    pub normaliser: NormaliserSettings,
    /// The poller's concurrency, lease and deadline settings.
    pub poller: PollerSettings,
    /// The registry API's OAuth2 connect settings.
    pub oauth: OAuthSettings,
    /// The operator's exceptions to the egress guard of the poller and the registry (none by
    /// default: only public addresses are reachable).
    pub egress: EgressAllow,
    /// The public URL the webhook gateway is reached at (checked by
    /// `switchboard_registry_api::parse_public_url`): connectors that manage their webhook
    /// subscription register `<public URL>/webhooks/{connectorId}/{projectId}` with the
    /// provider. `None`: such webhooks are registered by hand.
    pub public_url: Option<String>,
    /// How the dashboard signs in: the admin token (`serve`), an OIDC issuer, or both.
    pub sign_in: SignIn,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            catalog_ttl: DEFAULT_CACHE_TTL,
            gateway: GatewaySettings::default(),
            normaliser: NormaliserSettings::default(),
            poller: PollerSettings::default(),
            oauth: OAuthSettings::default(),
            egress: EgressAllow::none(),
            public_url: None,
            sign_in: SignIn::default(),
        }
    }
}
