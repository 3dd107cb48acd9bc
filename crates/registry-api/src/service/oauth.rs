//! OAuth2 connect (authorisation-code flow) rules: starting remembers a single-use `state`
//! (256 random bits, URL-safe) with a TTL, a PKCE verifier (RFC 7636, S256, unless the
//! descriptor turns PKCE off), the hash of a browser-binding nonce and the checked `returnTo`,
//! and builds the provider's authorisation URL; completing consumes the state, refuses a browser
//! that does not hold the nonce, exchanges the code (with the verifier) at the descriptor's token
//! endpoint with the instance's client id and secret, and merges the tokens into the instance's
//! credentials. The instance must exist (created with its `clientId` / `clientSecret`) before
//! the flow starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use switchboard_core::Descriptor;
use switchboard_core::polling::{OAuth2Plan, OAuthError, PollError};
use switchboard_core::ports::{
    CredentialChange, Credentials, InstanceKey, InstanceRecord, InstanceUpdate, OAuthState, store_now,
};
use switchboard_poll::oauth::CodeGrant;
use switchboard_poll::request::{Vars, render_url};
use url::Url;

use crate::auth::Caller;
use crate::service::error::ServiceError;
use crate::service::{connectors, instances, schedule};
use crate::state::RegistryState;

/// A started authorisation.
#[derive(Debug, Clone)]
pub struct Started {
    /// Where to send the user's browser.
    pub authorize_url: Url,
    /// The redirect URI the provider will send the browser back to.
    pub redirect_uri: Url,
    /// The `state` value (also in `authorize_url`), which names the binding cookie.
    pub state: String,
    /// The nonce to give the starting browser (only its hash is stored); the callback must
    /// present it.
    pub browser_nonce: SecretString,
    /// When its `state` stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// A completed connection.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The connected instance.
    pub key: InstanceKey,
    /// Where the flow's starter asked the browser to go next (on the dashboard's origin).
    pub return_to: Option<Url>,
}

/// What the provider sent back to the callback (RFC 6749 §4.1.2).
#[derive(Debug, Clone, Default)]
pub struct CallbackInput {
    /// The authorisation code.
    pub code: Option<String>,
    /// The `state` from [`start`].
    pub state: Option<String>,
    /// Set by the provider when the user or provider refused.
    pub error: Option<String>,
    /// The provider's explanation of `error`.
    pub error_description: Option<String>,
}

/// Starts connecting an instance (found with [`instances::find`]) to its OAuth2 provider, which
/// will redirect the browser to the URL `redirect_uri` gives (asked once the instance is known
/// to be ready for OAuth2). `return_to`, where the browser goes after the callback, must be on
/// the dashboard's origin.
pub async fn start(
    state: &RegistryState,
    caller: &Caller,
    record: &InstanceRecord,
    return_to: Option<&str>,
    redirect_uri: impl FnOnce() -> Result<Url, ServiceError>,
) -> Result<Started, ServiceError> {
    let return_to = return_to.map(|text| checked_return_to(state, text)).transpose()?;
    let key = record.key();
    let descriptor = oauth_descriptor(state, &key.connector_id).await?;
    let plan = oauth(&descriptor)?;
    let credentials = client_credentials(state, &key).await?;
    let redirect_uri = redirect_uri()?;
    let browser_nonce = random_token("a browser-binding nonce")?;
    let pending = OAuthState {
        state: random_token("an OAuth2 state")?,
        project_id: key.project_id.clone(),
        connector_id: key.connector_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        started_by: caller.subject.clone(),
        code_verifier: if plan.pkce { Some(random_token("a PKCE code verifier")?) } else { None },
        browser_binding: binding_hash(&browser_nonce),
        return_to: return_to.map(String::from),
        expires_at: store_now() + TimeDelta::from_std(state.oauth.state_ttl).unwrap_or(TimeDelta::minutes(10)),
    };
    let config = descriptor.effective_config(&record.config);
    let url = authorize_url(plan, &config, &credentials, &pending)?;
    state.stores.oauth_states.put_oauth_state(&pending).await?;
    tracing::info!(
        project_id = key.project_id.as_str(),
        connector_id = key.connector_id.as_str(),
        subject = %caller.subject,
        pkce = plan.pkce,
        "OAuth2 connection started"
    );
    Ok(Started {
        authorize_url: url,
        redirect_uri,
        state: pending.state,
        browser_nonce: SecretString::from(browser_nonce),
        expires_at: pending.expires_at,
    })
}

/// Completes a connection: consumes the `state`, checks that `browser_nonce` (from the cookie
/// set by [`start`]) is the one the flow was started with, exchanges the code and stores the
/// tokens.
pub async fn complete(
    state: &RegistryState,
    input: CallbackInput,
    browser_nonce: Option<&str>,
) -> Result<Connected, ServiceError> {
    let value = input.state.filter(|s| !s.is_empty()).ok_or_else(|| {
        ServiceError::Invalid("the callback has no `state`; start the connection again from the dashboard".to_owned())
    })?;
    let pending = state.stores.oauth_states.take_oauth_state(&value).await?.ok_or_else(|| {
        ServiceError::Invalid(
            "this sign-in link is unknown, already used or expired; start the connection again".to_owned(),
        )
    })?;
    let (project_id, connector_id) = (pending.project_id.as_str(), pending.connector_id.as_str());
    // The state is spent either way: a callback URL presented by another browser is treated as
    // leaked, and its flow cannot be completed any more.
    if !same_browser(&pending, browser_nonce) {
        tracing::warn!(
            project_id,
            connector_id,
            started_by = %pending.started_by,
            "OAuth2 callback refused: the browser is not the one that started the connection"
        );
        return Err(ServiceError::Forbidden(
            "this connection was started from another browser session (or its cookie is missing); \
             start the connection again from the dashboard, in this browser"
                .to_owned(),
        ));
    }
    if let Some(error) = input.error {
        let detail = input.error_description.map(|d| format!(" ({d})")).unwrap_or_default();
        tracing::info!(project_id, connector_id, error, "OAuth2 provider refused the authorisation");
        return Err(ServiceError::Invalid(format!("the provider refused the authorisation: {error}{detail}")));
    }
    let code = input
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ServiceError::Invalid("the callback has no `code`".to_owned()))?;

    let key = InstanceKey::new(project_id, connector_id);
    let record = state.stores.instances.get_instance(&key).await?.ok_or_else(|| {
        ServiceError::NotFound(format!("connector `{connector_id}` is no longer connected to project `{project_id}`"))
    })?;
    let descriptor = oauth_descriptor(state, connector_id).await?;
    let credentials = client_credentials(state, &key).await?;
    let config = descriptor.effective_config(&record.config);
    let oauth = oauth(&descriptor)?;
    let grant =
        CodeGrant { code: &code, redirect_uri: &pending.redirect_uri, code_verifier: pending.code_verifier.as_deref() };
    let tokens = state
        .engine
        .exchange_code(oauth, &config, &credentials, grant, state.oauth.token_limits)
        .await
        .map_err(exchange_error)?;
    // Only the token fields: the client id and secret stay as stored.
    state.stores.update_credentials(&key, &CredentialChange::oauth_tokens(&tokens)).await?;
    tracing::info!(project_id, connector_id, started_by = %pending.started_by, "OAuth2 connection completed");
    // A successful connect ends a wait for re-authorisation; the instance is polled at once.
    let update = InstanceUpdate { reauth_needed: Some(false), ..InstanceUpdate::default() };
    let record = state.stores.instances.update_instance(&key, &update).await?;
    let record = schedule::store(state, descriptor.model(), record).await;
    schedule::poll_now(state, descriptor.model(), &record).await;
    // Checked at the start; checked again in case the dashboard origin changed meanwhile.
    let return_to = pending.return_to.as_deref().and_then(|text| checked_return_to(state, text).ok());
    Ok(Connected { key, return_to })
}

/// `text` (absolute, or relative to the dashboard) as a URL on the dashboard's origin; anything
/// else is refused, so the callback never sends a browser elsewhere.
fn checked_return_to(state: &RegistryState, text: &str) -> Result<Url, ServiceError> {
    let Some(origin) = state.oauth.redirect_origin() else {
        return Err(ServiceError::Invalid(
            "`returnTo` cannot be used: no dashboard origin is configured (SWITCHBOARD_DASHBOARD_ORIGIN)".to_owned(),
        ));
    };
    let refused = || {
        ServiceError::Invalid(format!(
            "`returnTo` must be a URL on the dashboard's origin {}",
            origin.ascii_serialization()
        ))
    };
    let base = Url::parse(&origin.ascii_serialization()).map_err(|_| refused())?;
    let url = base.join(text).map_err(|_| refused())?;
    if url.origin() != origin || !url.username().is_empty() || url.password().is_some() {
        return Err(refused());
    }
    Ok(url)
}

/// Whether `nonce` is the browser-binding nonce the flow was started with (compared by hash, in
/// constant time). A state without a binding matches nothing.
fn same_browser(pending: &OAuthState, nonce: Option<&str>) -> bool {
    match nonce {
        Some(nonce) if !pending.browser_binding.is_empty() => {
            bool::from(binding_hash(nonce).as_bytes().ct_eq(pending.browser_binding.as_bytes()))
        }
        _ => false,
    }
}

/// What a pending state stores of the browser-binding nonce: its SHA-256, URL-safe base64.
fn binding_hash(nonce: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(nonce.as_bytes()))
}

/// The PKCE `S256` challenge of a verifier (RFC 7636 §4.2): base64url(SHA-256(verifier)).
fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Token endpoint failures: the user can fix a refused code or client; the rest is upstream.
fn exchange_error(err: PollError) -> ServiceError {
    match err {
        // The token URL reaches an address the egress guard refuses (`egress_denied: ...`).
        PollError::Config(message) => {
            ServiceError::Invalid(format!("the token endpoint may not be reached: {message}"))
        }
        PollError::OAuth(err) => match err {
            OAuthError::ReauthNeeded(_) | OAuthError::Rejected(_) => {
                ServiceError::Invalid(format!("the provider did not accept the authorisation: {err}"))
            }
            OAuthError::MissingCredential(_) => ServiceError::Conflict(err.to_string()),
            OAuthError::Config(_) => ServiceError::internal("building the token request", err),
            other => ServiceError::Upstream(other.to_string()),
        },
        other => ServiceError::Upstream(other.to_string()),
    }
}

/// The compiled descriptor of an OAuth2 connector (`Invalid` for any other auth method).
async fn oauth_descriptor(state: &RegistryState, connector_id: &str) -> Result<Arc<Descriptor>, ServiceError> {
    let loaded = connectors::compiled(state, connector_id).await?;
    oauth(&loaded.descriptor)?;
    Ok(loaded.descriptor)
}

/// The descriptor's OAuth2 settings (`Invalid` when it uses another auth method).
fn oauth(descriptor: &Descriptor) -> Result<&OAuth2Plan, ServiceError> {
    descriptor.auth().oauth2().ok_or_else(|| {
        ServiceError::Invalid(format!(
            "connector `{}` uses `{}` authentication, not OAuth2",
            descriptor.id(),
            descriptor.model().auth.method_name()
        ))
    })
}

/// The stored credentials, which must hold the OAuth2 client id.
async fn client_credentials(state: &RegistryState, key: &InstanceKey) -> Result<Credentials, ServiceError> {
    let credentials = instances::stored_credentials(state, key).await?.unwrap_or_default();
    if credentials.get("clientId").is_none() {
        return Err(ServiceError::Conflict(format!(
            "{key} has no `clientId` credential yet; set the client id and secret first"
        )));
    }
    Ok(credentials)
}

/// The provider's authorisation URL with the standard parameters and the descriptor's extras.
fn authorize_url(
    oauth: &OAuth2Plan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    pending: &OAuthState,
) -> Result<Url, ServiceError> {
    let vars = Vars::instance(config, credentials);
    let mut url = render_url(&oauth.authorise_url, &vars)
        .map_err(|e| ServiceError::Conflict(format!("cannot build the authorisation URL: {e}")))?;
    let client_id = credentials.get("clientId").map(secrecy::ExposeSecret::expose_secret).unwrap_or_default();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("response_type", "code");
        query.append_pair("client_id", client_id);
        query.append_pair("redirect_uri", &pending.redirect_uri);
        if !oauth.scopes.is_empty() && !oauth.authorise_params.contains_key("scope") {
            query.append_pair("scope", &oauth.scopes.join(" "));
        }
        for (name, value) in &oauth.authorise_params {
            query.append_pair(name, value);
        }
        if let Some(verifier) = &pending.code_verifier {
            query.append_pair("code_challenge", &code_challenge(verifier));
            query.append_pair("code_challenge_method", "S256");
        }
        query.append_pair("state", &pending.state);
    }
    Ok(url)
}

/// 256 bits from the operating system's CSPRNG, URL-safe base64 (43 characters: also a valid
/// PKCE verifier, RFC 7636 §4.1); `what` names it in the error.
fn random_token(what: &str) -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(&format!("generating {what}"), e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_url_safe_and_distinct() {
        let (a, b) = (random_token("a").unwrap(), random_token("b").unwrap());
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }

    #[test]
    fn the_code_challenge_is_rfc_7636_s256() {
        // RFC 7636, Appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
