//! OAuth2 connect (authorisation-code flow) rules: starting remembers a single-use `state`
//! (256 random bits, URL-safe) with a TTL and builds the provider's authorisation URL;
//! completing consumes the state, exchanges the code at the descriptor's token endpoint with the
//! instance's client id and secret, and merges the tokens into the instance's credentials.
//! The instance must exist (created with its `clientId` / `clientSecret`) before the flow starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use switchboard_core::Descriptor;
use switchboard_core::polling::{OAuth2Plan, OAuthError};
use switchboard_core::ports::{CredentialChange, Credentials, InstanceKey, InstanceRecord, OAuthState, store_now};
use switchboard_poll::request::{Vars, render_url};
use url::Url;

use crate::auth::Caller;
use crate::service::error::ServiceError;
use crate::service::{connectors, instances};
use crate::state::RegistryState;

/// A started authorisation.
#[derive(Debug, Clone)]
pub struct Started {
    /// Where to send the user's browser.
    pub authorize_url: Url,
    /// When its `state` stops being accepted.
    pub expires_at: DateTime<Utc>,
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
/// to be ready for OAuth2).
pub async fn start(
    state: &RegistryState,
    caller: &Caller,
    record: &InstanceRecord,
    redirect_uri: impl FnOnce() -> Result<Url, ServiceError>,
) -> Result<Started, ServiceError> {
    let key = record.key();
    let descriptor = oauth_descriptor(state, &key.connector_id).await?;
    let credentials = client_credentials(state, &key).await?;
    let redirect_uri = redirect_uri()?;
    let pending = OAuthState {
        state: random_state()?,
        project_id: key.project_id.clone(),
        connector_id: key.connector_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        started_by: caller.subject.clone(),
        expires_at: store_now() + TimeDelta::from_std(state.oauth.state_ttl).unwrap_or(TimeDelta::minutes(10)),
    };
    let config = descriptor.effective_config(&record.config);
    let url = authorize_url(oauth(&descriptor)?, &config, &credentials, &pending)?;
    state.stores.oauth_states.put_oauth_state(&pending).await?;
    tracing::info!(
        project_id = key.project_id.as_str(),
        connector_id = key.connector_id.as_str(),
        subject = %caller.subject,
        "OAuth2 connection started"
    );
    Ok(Started { authorize_url: url, expires_at: pending.expires_at })
}

/// Completes a connection: consumes the `state`, exchanges the code and stores the tokens.
/// Returns the connected instance's key.
pub async fn complete(state: &RegistryState, input: CallbackInput) -> Result<InstanceKey, ServiceError> {
    let value = input.state.filter(|s| !s.is_empty()).ok_or_else(|| {
        ServiceError::Invalid("the callback has no `state`; start the connection again from the dashboard".to_owned())
    })?;
    let pending = state.stores.oauth_states.take_oauth_state(&value).await?.ok_or_else(|| {
        ServiceError::Invalid(
            "this sign-in link is unknown, already used or expired; start the connection again".to_owned(),
        )
    })?;
    let (project_id, connector_id) = (pending.project_id.as_str(), pending.connector_id.as_str());
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
    let tokens =
        switchboard_poll::exchange_code(&state.http, oauth, &config, &credentials, &code, &pending.redirect_uri)
            .await
            .map_err(exchange_error)?;
    // Only the token fields: the client id and secret stay as stored.
    state.stores.update_credentials(&key, &CredentialChange::oauth_tokens(&tokens)).await?;
    tracing::info!(project_id, connector_id, started_by = %pending.started_by, "OAuth2 connection completed");
    Ok(key)
}

/// Token endpoint failures: the user can fix a refused code or client; the rest is upstream.
fn exchange_error(err: OAuthError) -> ServiceError {
    match err {
        OAuthError::ReauthNeeded(_) | OAuthError::Rejected(_) => {
            ServiceError::Invalid(format!("the provider did not accept the authorisation: {err}"))
        }
        OAuthError::MissingCredential(_) => ServiceError::Conflict(err.to_string()),
        OAuthError::Config(_) => ServiceError::internal("building the token request", err),
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
    let vars = Vars { config, credentials, checkpoint: "", page_token: "" };
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
        query.append_pair("state", &pending.state);
    }
    Ok(url)
}

/// 256 random bits, URL-safe base64 (43 characters).
fn random_state() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal("generating an OAuth2 state", e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_256_bit_url_safe_and_distinct() {
        let (a, b) = (random_state().unwrap(), random_state().unwrap());
        assert_eq!(a.len(), 43);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, b);
    }
}
