//! The functions' settings, read from the environment the SAM template (or
//! `infra/local/moto.sh`) gives them: where the stores and queues are, and the overrides of
//! each application's defaults. Nothing else in the workspace reads a Lambda function's
//! environment.

use std::collections::HashMap;
use std::time::Duration;

use switchboard_app::{
    ENV_BODY_LIMIT_BYTES, ENV_DASHBOARD_ORIGIN, ENV_EGRESS_ALLOW, ENV_OIDC_CLIENT_ID, ENV_OIDC_ISSUER, ENV_OIDC_SCOPES,
    ENV_PUBLIC_URL, ENV_RATE_LIMIT_PER_MINUTE, ENV_SECRET_GRACE_SECONDS, EgressAllow,
};
use switchboard_aws::{AwsSettings, DEFAULT_SECRET_CACHE_TTL};
use switchboard_poller::PollerSettings;
use switchboard_registry_api::{OAuthSettings, OidcSettings, OidcSignIn, SignIn};
use switchboard_webhook_gateway::GatewaySettings;
use url::Url;

/// Table name (required by every function).
pub const ENV_TABLE_NAME: &str = "SWITCHBOARD_TABLE_NAME";
/// Secret name prefix (required by every function).
pub const ENV_SECRET_PREFIX: &str = "SWITCHBOARD_SECRET_PREFIX";
/// Secret cache TTL in seconds (default 60).
pub const ENV_SECRET_CACHE_SECONDS: &str = "SWITCHBOARD_SECRET_CACHE_SECONDS";
/// Ingest queue URL (the webhook gateway and the poller send to it).
pub const ENV_INGEST_QUEUE_URL: &str = "SWITCHBOARD_INGEST_QUEUE_URL";
/// Ingest dead-letter queue URL.
pub const ENV_INGEST_DLQ_URL: &str = "SWITCHBOARD_INGEST_DLQ_URL";
/// Signals queue URL (the normaliser sends to it).
pub const ENV_SIGNALS_QUEUE_URL: &str = "SWITCHBOARD_SIGNALS_QUEUE_URL";
/// Signals dead-letter queue URL.
pub const ENV_SIGNALS_DLQ_URL: &str = "SWITCHBOARD_SIGNALS_DLQ_URL";
/// Poll-now queue URL (optional; the registry API asks the poller to poll a new or re-enabled
/// instance at once through it).
pub const ENV_POLL_NOW_QUEUE_URL: &str = "SWITCHBOARD_POLL_NOW_QUEUE_URL";
/// Instances the poller polls at the same time (default 4).
pub const ENV_POLL_CONCURRENCY: &str = "SWITCHBOARD_POLL_CONCURRENCY";
/// Seconds the poller keeps free before the Lambda deadline (default 40).
pub const ENV_POLL_SAFETY_MARGIN: &str = "SWITCHBOARD_POLL_SAFETY_MARGIN_SECONDS";
/// Seconds between two full listings of a connector's instances that correct their stored next
/// poll times (the schedule sweep; default 3600).
pub const ENV_POLL_SCHEDULE_SWEEP: &str = "SWITCHBOARD_POLL_SCHEDULE_SWEEP_SECONDS";
/// Wall-clock seconds one instance may take in a poll run (default 60).
pub const ENV_POLL_INSTANCE_BUDGET: &str = "SWITCHBOARD_POLL_INSTANCE_BUDGET_SECONDS";
/// Consecutive failures after which an instance's `connector_health` notice says it is failing
/// (default 3; `serve --health-failure-threshold`).
pub use switchboard_app::ENV_HEALTH_FAILURE_THRESHOLD;
/// Public URL of `GET /oauth/callback` (registered with each OAuth2 provider). When unset the
/// registry API derives it from each `oauth/start` request (`Host` header and API stage).
pub const ENV_OAUTH_CALLBACK_URL: &str = "SWITCHBOARD_OAUTH_CALLBACK_URL";

/// A setting is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} {problem}")]
pub struct SettingsError {
    name: &'static str,
    problem: String,
}

impl SettingsError {
    fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self { name, problem: problem.into() }
    }
}

/// The environment a function reads its settings from: the process's (read once, at the cold
/// start), or a map in tests. An empty variable counts as unset.
/// (No `Debug`: the process environment holds credentials.)
#[derive(Clone, Default)]
pub struct Environment {
    variables: HashMap<String, String>,
}

impl Environment {
    /// The process's environment (variables whose name or value is not text are skipped).
    pub fn from_process() -> Self {
        let variables = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Self { variables }
    }

    /// These variables only.
    pub fn from_map(variables: HashMap<String, String>) -> Self {
        Self { variables }
    }

    /// The value of `name`, unless it is unset or blank.
    fn get(&self, name: &str) -> Option<String> {
        self.variables.get(name).filter(|value| !value.trim().is_empty()).cloned()
    }

    /// The value of `name`, which must be set.
    pub fn required(&self, name: &'static str) -> Result<String, SettingsError> {
        self.get(name).ok_or_else(|| SettingsError::new(name, "is not set"))
    }

    /// `name` as a whole number, if set.
    fn number(&self, name: &'static str) -> Result<Option<u64>, SettingsError> {
        self.get(name)
            .map(|text| text.trim().parse().map_err(|_| SettingsError::new(name, "must be a whole number")))
            .transpose()
    }

    /// `name` as a positive whole number, if set.
    fn positive(&self, name: &'static str) -> Result<Option<u64>, SettingsError> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(SettingsError::new(name, format!("must be a positive whole number, not {text:?}"))),
            },
        }
    }

    /// Where the stores live: [`ENV_TABLE_NAME`] and [`ENV_SECRET_PREFIX`] (required) and
    /// [`ENV_SECRET_CACHE_SECONDS`] (default 60).
    pub fn aws_settings(&self) -> Result<AwsSettings, SettingsError> {
        let secret_cache_ttl = match self.get(ENV_SECRET_CACHE_SECONDS) {
            Some(text) => Duration::from_secs(
                text.trim()
                    .parse()
                    .map_err(|_| SettingsError::new(ENV_SECRET_CACHE_SECONDS, "must be a whole number of seconds"))?,
            ),
            None => DEFAULT_SECRET_CACHE_TTL,
        };
        Ok(AwsSettings {
            table_name: self.required(ENV_TABLE_NAME)?,
            secret_prefix: self.required(ENV_SECRET_PREFIX)?,
            secret_cache_ttl,
        })
    }

    /// The gateway's defaults with [`ENV_BODY_LIMIT_BYTES`] and [`ENV_RATE_LIMIT_PER_MINUTE`]
    /// (each a positive whole number) and [`ENV_SECRET_GRACE_SECONDS`] (a whole number) applied.
    pub fn gateway_settings(&self) -> Result<GatewaySettings, SettingsError> {
        let mut settings = GatewaySettings::default();
        if let Some(limit) = self.positive(ENV_BODY_LIMIT_BYTES)? {
            settings.body_limit_bytes = usize::try_from(limit)
                .map_err(|_| SettingsError::new(ENV_BODY_LIMIT_BYTES, format!("is too large: {limit}")))?;
        }
        if let Some(rate) = self.positive(ENV_RATE_LIMIT_PER_MINUTE)? {
            settings.rate_limit = u32::try_from(rate).map_err(|_| {
                SettingsError::new(ENV_RATE_LIMIT_PER_MINUTE, format!("must be a positive whole number, not {rate:?}"))
            })?;
        }
        if let Some(seconds) = self.number(ENV_SECRET_GRACE_SECONDS)? {
            settings.secret_rotation_grace = Duration::from_secs(seconds);
        }
        Ok(settings)
    }

    /// The poller's defaults with [`ENV_POLL_CONCURRENCY`] (at least 1),
    /// [`ENV_POLL_SAFETY_MARGIN`], [`ENV_POLL_INSTANCE_BUDGET`] and
    /// [`ENV_HEALTH_FAILURE_THRESHOLD`] (positive) applied.
    pub fn poller_settings(&self) -> Result<PollerSettings, SettingsError> {
        let mut settings = PollerSettings::default();
        if let Some(concurrency) = self.number(ENV_POLL_CONCURRENCY)? {
            settings.concurrency = usize::try_from(concurrency).unwrap_or(usize::MAX).max(1);
        }
        if let Some(seconds) = self.number(ENV_POLL_SAFETY_MARGIN)? {
            settings.safety_margin = Duration::from_secs(seconds);
        }
        if let Some(seconds) = self.positive(ENV_POLL_INSTANCE_BUDGET)? {
            settings.instance_budget = Duration::from_secs(seconds);
        }
        if let Some(seconds) = self.positive(ENV_POLL_SCHEDULE_SWEEP)? {
            settings.schedule_sweep_interval = Duration::from_secs(seconds);
        }
        if let Some(count) = self.positive(ENV_HEALTH_FAILURE_THRESHOLD)? {
            settings.failure_threshold = u32::try_from(count).unwrap_or(u32::MAX);
        }
        Ok(settings)
    }

    /// The operator's exceptions to the egress guard of requests made for tenants, from
    /// `SWITCHBOARD_EGRESS_ALLOW` (comma-separated hosts, `host:port`s, IP addresses or CIDR
    /// blocks); none when unset. The poller and the registry read it.
    pub fn egress_allow(&self) -> Result<EgressAllow, SettingsError> {
        match self.get(ENV_EGRESS_ALLOW) {
            None => Ok(EgressAllow::none()),
            Some(list) => {
                EgressAllow::parse(&list).map_err(|e| SettingsError::new(ENV_EGRESS_ALLOW, format!("is invalid: {e}")))
            }
        }
    }

    /// The public URL managed webhook subscriptions are registered under, from
    /// [`ENV_PUBLIC_URL`]; `None` when unset (webhooks are then registered by hand).
    pub fn public_url(&self) -> Result<Option<String>, SettingsError> {
        self.get(ENV_PUBLIC_URL)
            .map(|text| {
                switchboard_registry_api::parse_public_url(&text).map_err(|e| SettingsError::new(ENV_PUBLIC_URL, e))
            })
            .transpose()
    }

    /// How the deployed dashboard signs in: with the OIDC issuer of [`ENV_OIDC_ISSUER`] (the JWT
    /// authorizer's) as the client [`ENV_OIDC_CLIENT_ID`] (the admin token is never offered:
    /// API Gateway's authorizer only admits the issuer's tokens). Without a client id the page
    /// says sign-in is not configured; a client id without an issuer is an error.
    pub fn dashboard_sign_in(&self) -> Result<SignIn, SettingsError> {
        let Some(client_id) = self.get(ENV_OIDC_CLIENT_ID) else { return Ok(SignIn::default()) };
        let issuer = self
            .get(ENV_OIDC_ISSUER)
            .ok_or_else(|| SettingsError::new(ENV_OIDC_ISSUER, "is unset while the dashboard's client id is set"))?;
        let scopes = self.get(ENV_OIDC_SCOPES);
        let settings = OidcSettings::new(&issuer, &client_id, scopes.as_deref())
            .map_err(|e| SettingsError::new(ENV_OIDC_ISSUER, e.to_string()))?;
        Ok(SignIn { admin_token: false, oidc: Some(std::sync::Arc::new(OidcSignIn::new(settings))) })
    }

    /// The registry's OAuth2 settings, with [`ENV_OAUTH_CALLBACK_URL`] and
    /// [`ENV_DASHBOARD_ORIGIN`] when set.
    pub fn oauth_settings(&self) -> Result<OAuthSettings, SettingsError> {
        let callback_url = self
            .get(ENV_OAUTH_CALLBACK_URL)
            .map(|text| {
                Url::parse(&text).map_err(|e| SettingsError::new(ENV_OAUTH_CALLBACK_URL, format!("is not a URL: {e}")))
            })
            .transpose()?;
        let dashboard_origin = self
            .get(ENV_DASHBOARD_ORIGIN)
            .map(|text| {
                OAuthSettings::parse_dashboard_origin(&text).map_err(|e| SettingsError::new(ENV_DASHBOARD_ORIGIN, e))
            })
            .transpose()?;
        Ok(OAuthSettings { callback_url, dashboard_origin, ..OAuthSettings::default() })
    }
}
