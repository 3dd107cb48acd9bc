//! Lambda wiring: tracing as JSON, and the state built from the environment on AWS.

use std::sync::Arc;

use switchboard_aws::{AwsClients, AwsSettings};
use tracing_subscriber::EnvFilter;
use url::Url;

use crate::auth::ClaimsResolver;
use crate::state::RegistryState;

/// Public URL of `GET /oauth/callback` (registered with each OAuth2 provider). When unset it is
/// derived from each `oauth/start` request's `Host` header.
pub const ENV_OAUTH_CALLBACK_URL: &str = "SWITCHBOARD_OAUTH_CALLBACK_URL";

/// JSON logs at `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`, default `info`).
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let filter = EnvFilter::try_new(level.as_deref().unwrap_or("info").to_lowercase())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().json().with_env_filter(filter).with_target(false).without_time().init();
}

/// The state on AWS: stores from `SWITCHBOARD_*` settings, callers from JWT authorizer claims.
pub fn state_from_env(clients: &AwsClients) -> anyhow::Result<RegistryState> {
    let stores = AwsSettings::from_env()?.stores(clients);
    let state = RegistryState::new(stores, Arc::new(ClaimsResolver));
    match std::env::var(ENV_OAUTH_CALLBACK_URL) {
        Ok(text) if !text.is_empty() => {
            let url = Url::parse(&text).map_err(|e| anyhow::anyhow!("{ENV_OAUTH_CALLBACK_URL} is not a URL: {e}"))?;
            Ok(state.with_callback_url(url))
        }
        _ => Ok(state),
    }
}
