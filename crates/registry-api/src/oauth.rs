//! OAuth2 connect (authorisation-code flow).
//!
//! 1. The dashboard calls `GET /projects/{p}/connectors/{c}/oauth/start` with its bearer token
//!    and gets `{"authorizeUrl": ...}`; it sends the user's browser there. The URL carries a
//!    single-use `state` (256 random bits, URL-safe) remembered with a TTL.
//! 2. The provider redirects the browser to `GET /oauth/callback?code=..&state=..` (no bearer:
//!    the `state` is the proof). The state is consumed on first use, the code is exchanged at the
//!    descriptor's token endpoint with the instance's client id and secret, and the tokens are
//!    merged into the instance's credentials in the secret store. Tokens are never echoed.
//!
//! The instance must exist (created with its `clientId` / `clientSecret`) before the flow starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::Descriptor;
use switchboard_core::polling::{OAuth2Plan, OAuthError};
use switchboard_core::ports::{Credentials, InstanceKey, OAuthState, store_now};
use switchboard_poll::request::{Vars, render_url};
use url::Url;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::edge::ApiStage;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::instances::{instance, stored_credentials};
use crate::state::RegistryState;

/// Path of the callback route.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// Answer of `oauth/start`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthStart {
    /// Where to send the user's browser.
    pub authorize_url: String,
    /// When the `state` in it stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// Query of the callback, as the provider sends it (RFC 6749 §4.1.2).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The authorisation code.
    pub code: Option<String>,
    /// The `state` from `oauth/start`.
    pub state: Option<String>,
    /// Set by the provider when the user or provider refused.
    pub error: Option<String>,
    /// The provider's explanation of `error`.
    pub error_description: Option<String>,
}

/// Answer of a successful callback (HTML for browsers, this JSON otherwise).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OAuthConnected {
    /// Always `true`.
    pub connected: bool,
    /// Project of the instance.
    pub project_id: String,
    /// Connector of the instance.
    pub connector_id: String,
}

/// Starts connecting an instance to its OAuth2 provider.
#[utoipa::path(get, path = "/projects/{projectId}/connectors/{connectorId}/oauth/start", tag = "oauth",
    params(("projectId" = String, Path, description = "Project id"), ("connectorId" = String, Path, description = "Connector id")),
    responses(
        (status = 200, description = "Where to send the browser", body = OAuthStart),
        (status = 400, description = "The connector does not use OAuth2", body = ErrorBody),
        (status = 404, description = "No such instance", body = ErrorBody),
        (status = 409, description = "The instance has no client id yet", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<RegistryState>,
    caller: Caller,
    headers: HeaderMap,
    stage: Option<Extension<ApiStage>>,
    ApiPath((project_id, connector_id)): ApiPath<(String, String)>,
) -> Result<Json<OAuthStart>, ApiError> {
    let record = instance(&state, &caller, &project_id, &connector_id).await?;
    let descriptor = oauth_descriptor(&state, &connector_id).await?;
    let credentials = client_credentials(&state, &record.key()).await?;
    let stage = stage.as_ref().map(|Extension(ApiStage(stage))| stage.as_str());
    let redirect_uri = callback_url(&state, &headers, stage)?;
    let pending = OAuthState {
        state: random_state()?,
        project_id: project_id.clone(),
        connector_id: connector_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        started_by: caller.subject.clone(),
        expires_at: store_now() + TimeDelta::from_std(state.oauth.state_ttl).unwrap_or(TimeDelta::minutes(10)),
    };
    let config = descriptor.effective_config(&record.config);
    let url = authorize_url(oauth(&descriptor)?, &config, &credentials, &pending)?;
    state.stores.oauth_states.put_oauth_state(&pending).await?;
    tracing::info!(project_id, connector_id, subject = %caller.subject, "OAuth2 connection started");
    Ok(Json(OAuthStart { authorize_url: url.to_string(), expires_at: pending.expires_at }))
}

/// Completes an OAuth2 connection (the provider redirects the browser here).
#[utoipa::path(get, path = "/oauth/callback", tag = "oauth", params(CallbackParams), security(()),
    responses(
        (status = 200, description = "Connected (HTML for browsers)", body = OAuthConnected),
        (status = 400, description = "Unknown, used or expired state; refused or invalid code", body = ErrorBody),
        (status = 502, description = "The token endpoint failed", body = ErrorBody),
    ))]
pub async fn callback(
    State(state): State<RegistryState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Response {
    let html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    match complete(&state, params).await {
        Ok(done) if html => {
            Html(page("Connected", &format!("{} is connected. You can close this window.", done.connector_id)))
                .into_response()
        }
        Ok(done) => Json(done).into_response(),
        Err(err) if html => {
            err.log();
            (err.status(), Html(page("Connection failed", &err.body().error.message))).into_response()
        }
        Err(err) => err.into_response(),
    }
}

async fn complete(state: &RegistryState, params: CallbackParams) -> Result<OAuthConnected, ApiError> {
    let value = params.state.filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::BadRequest("the callback has no `state`; start the connection again from the dashboard".to_owned())
    })?;
    let pending = state.stores.oauth_states.take_oauth_state(&value).await?.ok_or_else(|| {
        ApiError::BadRequest(
            "this sign-in link is unknown, already used or expired; start the connection again".to_owned(),
        )
    })?;
    let (project_id, connector_id) = (pending.project_id.clone(), pending.connector_id.clone());
    if let Some(error) = params.error {
        let detail = params.error_description.map(|d| format!(" ({d})")).unwrap_or_default();
        tracing::info!(project_id, connector_id, error, "OAuth2 provider refused the authorisation");
        return Err(ApiError::BadRequest(format!("the provider refused the authorisation: {error}{detail}")));
    }
    let code = params
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the callback has no `code`".to_owned()))?;

    let key = InstanceKey::new(&project_id, &connector_id);
    let record = state.stores.instances.get_instance(&key).await?.ok_or_else(|| {
        ApiError::NotFound(format!("connector `{connector_id}` is no longer connected to project `{project_id}`"))
    })?;
    let descriptor = oauth_descriptor(state, &connector_id).await?;
    let credentials = client_credentials(state, &key).await?;
    let config = descriptor.effective_config(&record.config);
    let oauth = oauth(&descriptor)?;
    let tokens =
        switchboard_poll::exchange_code(&state.http, oauth, &config, &credentials, &code, &pending.redirect_uri)
            .await
            .map_err(exchange_error)?;
    state.stores.store_credentials(&key, &tokens).await?;
    tracing::info!(project_id, connector_id, started_by = %pending.started_by, "OAuth2 connection completed");
    Ok(OAuthConnected { connected: true, project_id, connector_id })
}

/// Token endpoint failures: the user can fix a refused code or client; the rest is upstream.
fn exchange_error(err: OAuthError) -> ApiError {
    match err {
        OAuthError::ReauthNeeded(_) | OAuthError::Rejected(_) => {
            ApiError::BadRequest(format!("the provider did not accept the authorisation: {err}"))
        }
        OAuthError::MissingCredential(_) => ApiError::Conflict(err.to_string()),
        OAuthError::Config(_) => ApiError::internal("building the token request", err),
        other => ApiError::Upstream(other.to_string()),
    }
}

/// The compiled descriptor of an OAuth2 connector (400 for any other auth method).
async fn oauth_descriptor(state: &RegistryState, connector_id: &str) -> Result<Arc<Descriptor>, ApiError> {
    let loaded = state.connector(connector_id).await?;
    oauth(&loaded.descriptor)?;
    Ok(loaded.descriptor)
}

/// The descriptor's OAuth2 settings (400 when it uses another auth method).
fn oauth(descriptor: &Descriptor) -> Result<&OAuth2Plan, ApiError> {
    descriptor.auth().oauth2().ok_or_else(|| {
        ApiError::BadRequest(format!(
            "connector `{}` uses `{}` authentication, not OAuth2",
            descriptor.id(),
            descriptor.model().auth.method_name()
        ))
    })
}

/// The stored credentials, which must hold the OAuth2 client id.
async fn client_credentials(state: &RegistryState, key: &InstanceKey) -> Result<Credentials, ApiError> {
    let credentials = stored_credentials(state, key).await?.unwrap_or_default();
    if credentials.get("clientId").is_none() {
        return Err(ApiError::Conflict(format!(
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
) -> Result<Url, ApiError> {
    let vars = Vars { config, credentials, checkpoint: "", page_token: "" };
    let mut url = render_url(&oauth.authorise_url, &vars)
        .map_err(|e| ApiError::Conflict(format!("cannot build the authorisation URL: {e}")))?;
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

/// The redirect URI: the configured callback URL, or this API's own `/oauth/callback` as seen
/// in the request's `Host` (API Gateway sets it to the API's domain) under its stage, if named.
fn callback_url(state: &RegistryState, headers: &HeaderMap, stage: Option<&str>) -> Result<Url, ApiError> {
    if let Some(url) = &state.oauth.callback_url {
        return Ok(url.clone());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty()).ok_or_else(|| {
        ApiError::internal(
            "building the OAuth2 redirect URI",
            "no callback URL is configured and the request has no Host",
        )
    })?;
    let local = host.starts_with("localhost") || host.starts_with("127.0.0.1") || host.starts_with("[::1]");
    let scheme = match headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()) {
        Some(proto) => proto.to_owned(),
        None if local => "http".to_owned(),
        None => "https".to_owned(),
    };
    let stage = stage.map(|s| format!("/{s}")).unwrap_or_default();
    Url::parse(&format!("{scheme}://{host}{stage}{CALLBACK_PATH}"))
        .map_err(|e| ApiError::BadRequest(format!("cannot build the OAuth2 redirect URI from the Host header: {e}")))
}

/// 256 random bits, URL-safe base64 (43 characters).
fn random_state() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal("generating an OAuth2 state", e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A minimal HTML page; `message` is escaped (it may carry provider text from the query).
fn page(title: &str, message: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{m}</p></body></html>",
        t = escape_html(title),
        m = escape_html(message)
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

    #[test]
    fn html_pages_escape_provider_text() {
        let html = page("Connection failed", "<script>alert(1)</script>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
