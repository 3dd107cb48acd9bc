//! Token requests through the egress guard. The token client is the engine's guarded client, so
//! a token URL that reaches an internal address is refused at connect time; this module turns
//! such a refusal into the configuration error it is (`egress_denied`, naming the host) instead
//! of "token endpoint unavailable", for OAuth2 refreshes, the registry's code exchange
//! (`PollEngine::exchange_code`) and the token requests of the other token-issuing methods
//! (client credentials, JWT assertions, session logins).

use std::collections::BTreeMap;

use switchboard_core::polling::{OAuth2Plan, OAuthError, PollError};
use switchboard_core::template::Template;

use crate::credentials::Credentials;
use crate::egress::EgressGuard;
use crate::request::{Vars, render_url};

/// Refuses a token URL with an IP-literal host the guard does not accept, before any request.
pub(crate) fn admit_token_url(
    guard: &EgressGuard,
    oauth: &OAuth2Plan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<(), PollError> {
    admit_url(guard, &oauth.token_url, config, credentials)
}

/// Refuses a token URL template whose instance URL has an IP-literal host the guard does not
/// accept, before any request.
pub(crate) fn admit_url(
    guard: &EgressGuard,
    template: &Template,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<(), PollError> {
    // A token URL that cannot be built fails in the token request, with its own message.
    let Some(url) = rendered(template, config, credentials) else { return Ok(()) };
    guard.check_url(&url).map_err(|denied| PollError::Config(denied.to_string()))
}

/// `error` from a token request, as a [`PollError`]; an endpoint that was unreachable because
/// the guard refused its address becomes that refusal.
pub(crate) async fn explain(
    guard: &EgressGuard,
    oauth: &OAuth2Plan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    error: OAuthError,
) -> PollError {
    explain_url(guard, &oauth.token_url, config, credentials, error).await
}

/// `error` from a request to the token URL `template`, as a [`PollError`]; an endpoint that
/// was unreachable because the guard refused its address becomes that refusal.
pub(crate) async fn explain_url(
    guard: &EgressGuard,
    template: &Template,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    error: OAuthError,
) -> PollError {
    if let OAuthError::Unavailable { .. } = error
        && let Err(denied) = refusal(guard, template, config, credentials).await
    {
        return denied;
    }
    PollError::OAuth(error)
}

async fn refusal(
    guard: &EgressGuard,
    template: &Template,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> Result<(), PollError> {
    let Some(url) = rendered(template, config, credentials) else { return Ok(()) };
    guard.check_url_now(&url).await.map_err(|denied| PollError::Config(denied.to_string()))
}

/// The instance's URL from `template`, or `None` when it cannot be built.
fn rendered(template: &Template, config: &BTreeMap<String, String>, credentials: &Credentials) -> Option<reqwest::Url> {
    let vars = Vars::instance(config, credentials);
    render_url(template, &vars).ok()
}
