//! `serve --oidc-issuer URL --oidc-client-id ID`: the dashboard signs in with an OIDC issuer
//! (authorization code + PKCE, as deployed) and the API accepts that issuer's ID tokens beside
//! the admin token, checked here as API Gateway's JWT authorizer checks them deployed.
//!
//! The issuer's discovery document and key set are read at startup (a wrong issuer stops
//! `serve` with the reason) and the key set again every [`KEY_REFRESH`], so a key rotation at
//! the issuer is picked up without a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchboard_app::{ENV_OIDC_CLIENT_ID, ENV_OIDC_ISSUER, ENV_OIDC_SCOPES};
use switchboard_registry_api::jwt_resolver::JwtResolver;
use switchboard_registry_api::{OidcSettings, OidcSignIn};
use tokio::sync::watch;

/// How often the issuer's key set is read again.
pub const KEY_REFRESH: Duration = Duration::from_secs(15 * 60);

/// The OIDC flags of `switchboard serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct OidcArgs {
    /// OIDC issuer the dashboard signs in with (authorization code + PKCE); the API then also
    /// accepts the issuer's ID tokens for the client `--oidc-client-id`.
    #[arg(long, value_name = "URL", env = ENV_OIDC_ISSUER, requires = "oidc_client_id")]
    oidc_issuer: Option<String>,
    /// The dashboard's client id at the OIDC issuer (a public client: no secret).
    #[arg(long, value_name = "ID", env = ENV_OIDC_CLIENT_ID, requires = "oidc_issuer")]
    oidc_client_id: Option<String>,
    /// Scopes the dashboard asks the issuer for (space-separated; `openid` is always added).
    #[arg(long, value_name = "SCOPES", env = ENV_OIDC_SCOPES)]
    oidc_scopes: Option<String>,
}

/// The issuer, read and ready: the sign-in the page uses and the resolver of its tokens.
pub struct Oidc {
    /// What the dashboard's sign-in page offers.
    pub sign_in: Arc<OidcSignIn>,
    /// Checks the issuer's ID tokens.
    pub resolver: Arc<JwtResolver>,
}

impl OidcArgs {
    /// Reads the issuer's discovery document and key set; `None` without `--oidc-issuer`.
    pub async fn connect(&self) -> anyhow::Result<Option<Oidc>> {
        let (Some(issuer), Some(client_id)) = (&self.oidc_issuer, &self.oidc_client_id) else { return Ok(None) };
        let settings = OidcSettings::new(issuer, client_id, self.oidc_scopes.as_deref())
            .with_context(|| format!("--oidc-issuer / {ENV_OIDC_ISSUER}"))?;
        let sign_in = Arc::new(OidcSignIn::new(settings.clone()));
        let keys = sign_in.fetch_keys().await.context("reading the OIDC issuer (is --oidc-issuer right?)")?;
        let resolver = Arc::new(JwtResolver::new(settings.issuer, vec![settings.client_id], keys));
        Ok(Some(Oidc { sign_in, resolver }))
    }
}

/// Reads the issuer's key set every [`KEY_REFRESH`] until `stop`; a failed read keeps the
/// previous keys and is logged.
pub async fn refresh_keys(oidc: Oidc, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(KEY_REFRESH) => {}
            _ = stop.changed() => return,
        }
        match oidc.sign_in.fetch_keys().await {
            Ok(keys) => oidc.resolver.replace_keys(keys),
            Err(error) => tracing::warn!(%error, "could not refresh the OIDC issuer's keys; keeping the previous ones"),
        }
    }
}
