//! OAuth2 connect (authorisation-code flow).
//!
//! 1. The dashboard calls `GET /projects/{p}/connectors/{c}/oauth/start[?returnTo=..]` with its
//!    bearer token and gets `{"authorizeUrl": ...}`; it sends the user's browser there. The URL
//!    carries a single-use `state` (256 random bits, URL-safe) remembered with a TTL, and a PKCE
//!    `code_challenge` (S256) whose verifier stays on the server. The answer also sets a cookie
//!    on the browser (HttpOnly, SameSite=Lax, `Secure` for an https callback, limited to the
//!    callback's path) holding a random nonce whose hash is stored with the state.
//! 2. The provider redirects the browser to `GET /oauth/callback?code=..&state=..`. That
//!    navigation carries no bearer token, so the cookie is what proves it is the browser that
//!    started the flow: without it (another browser, another user) the callback is refused with
//!    403. The state is consumed on first use, the code is exchanged (with the PKCE verifier) at
//!    the descriptor's token endpoint with the instance's client id and secret, and the tokens
//!    are merged into the instance's credentials in the secret store. Tokens are never echoed.
//!    With a `returnTo` (checked at the start to be on the dashboard's origin) the browser is
//!    then redirected there (303).
//!
//! The instance must exist (created with its `clientId` / `clientSecret`) before the flow starts.
//! The rules are [`service::oauth`]'s; these routes add the redirect URI, the cookie and the
//! HTML page.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::edge::ApiStage;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::params::{AuthenticatedErrors, InstancePath, NoSuchInstance};
use crate::service;
use crate::service::ServiceError;
use crate::service::oauth::CallbackInput;
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

/// Query of `oauth/start`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct StartParams {
    /// Where the browser goes after the callback: a URL on the dashboard's origin (absolute, or
    /// a path relative to it). Any other origin is refused (400).
    pub return_to: Option<String>,
}

/// Query of the callback, as the provider sends it (RFC 6749 §4.1.2).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackParams {
    /// The authorisation code.
    pub code: Option<String>,
    /// The `state` from `oauth/start` (without it the callback is a 400).
    #[param(required = true, min_length = 1)]
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
    params(InstancePath, StartParams),
    responses(
        (status = 200, description = "Where to send the browser; sets the browser-binding cookie the callback \
            needs (HttpOnly, SameSite=Lax, limited to the callback path)", body = OAuthStart,
            headers(("Set-Cookie" = String, description = "The browser-binding nonce"))),
        (status = 400, description = "The connector does not use OAuth2, `returnTo` is not on the dashboard's \
            origin, a path id outside its pattern, or a query that does not decode (`bad_request`)", body = ErrorBody),
        AuthenticatedErrors,
        NoSuchInstance,
        (status = 409, description = "The instance has no client id yet", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<RegistryState>,
    caller: Caller,
    headers: HeaderMap,
    stage: Option<Extension<ApiStage>>,
    ApiPath(path): ApiPath<InstancePath>,
    ApiQuery(params): ApiQuery<StartParams>,
) -> Result<Response, ApiError> {
    let record =
        service::instances::find(&state, &caller, path.project_id.as_str(), path.connector_id.as_str()).await?;
    let stage = stage.as_ref().map(|Extension(ApiStage(stage))| stage.as_str());
    let started = service::oauth::start(&state, &caller, &record, params.return_to.as_deref(), || {
        callback_url(&state, &headers, stage)
    })
    .await?;
    let cookie = binding::set_cookie(
        &started.state,
        started.browser_nonce.expose_secret(),
        &started.redirect_uri,
        state.oauth.state_ttl,
    )?;
    let body = Json(OAuthStart { authorize_url: started.authorize_url.to_string(), expires_at: started.expires_at });
    Ok(([(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], body)
        .into_response())
}

/// Completes an OAuth2 connection (the provider redirects the browser here).
#[utoipa::path(get, path = "/oauth/callback", tag = "oauth", params(CallbackParams), security(()),
    responses(
        (status = 200, description = "Connected (HTML for browsers)", body = OAuthConnected),
        (status = 303, description = "Connected; the browser goes to the flow's `returnTo`",
            headers(("Location" = String, description = "The `returnTo` given to `oauth/start`"))),
        (status = 400, description = "Unknown, used or expired state; refused or invalid code", body = ErrorBody),
        (status = 403, description = "The browser is not the one that started the flow (no or another \
            binding cookie); the state is spent", body = ErrorBody),
        (status = 500, description = "Internal error (`internal`); the cause is logged", body = ErrorBody),
        (status = 502, description = "The token endpoint failed", body = ErrorBody),
    ))]
pub async fn callback(
    State(state): State<RegistryState>,
    headers: HeaderMap,
    stage: Option<Extension<ApiStage>>,
    ApiQuery(params): ApiQuery<CallbackParams>,
) -> Response {
    let html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    let CallbackParams { code, state: value, error, error_description } = params;
    let nonce = value.as_deref().and_then(|value| binding::presented(&headers, value));
    // The cookie has done its job whatever happens next.
    let stage = stage.as_ref().map(|Extension(ApiStage(stage))| stage.as_str());
    let clear = match (&value, callback_url(&state, &headers, stage)) {
        (Some(value), Ok(url)) => binding::clear_cookie(value, &url).ok(),
        _ => None,
    };
    let input = CallbackInput { code, state: value, error, error_description };
    let outcome = service::oauth::complete(&state, input, nonce.as_deref()).await.map_err(ApiError::from);
    let mut response = match outcome {
        Ok(done) => match done.return_to {
            Some(url) => redirect(&url),
            None if html => {
                Html(page("Connected", &format!("{} is connected. You can close this window.", done.key.connector_id)))
                    .into_response()
            }
            None => Json(OAuthConnected {
                connected: true,
                project_id: done.key.project_id,
                connector_id: done.key.connector_id,
            })
            .into_response(),
        },
        Err(err) if html => {
            err.log();
            (err.status(), Html(page("Connection failed", &err.body().error.message))).into_response()
        }
        Err(err) => err.into_response(),
    };
    if let Some(cookie) = clear {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// 303 to `url` (already checked to be on the dashboard's origin).
fn redirect(url: &Url) -> Response {
    match HeaderValue::from_str(url.as_str()) {
        Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
        Err(_) => ApiError::internal("redirecting to returnTo", "the URL is not a valid header value").into_response(),
    }
}

/// The browser-binding cookie: one per pending state (named after a hash of it, so flows in
/// several tabs do not overwrite each other), holding the nonce whose hash the state stores.
mod binding {
    use std::time::Duration;

    use axum::http::{HeaderMap, HeaderValue, header};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};
    use url::Url;

    use crate::error::ApiError;

    const PREFIX: &str = "sb_oauth_";

    /// The cookie's name for a `state` value: a prefix and 96 bits of the state's hash.
    pub fn name(state: &str) -> String {
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&Sha256::digest(state.as_bytes())[..12]))
    }

    /// `Set-Cookie` giving the browser `nonce` for `state`: HttpOnly (no script reads it),
    /// SameSite=Lax (sent on the provider's top-level redirect, not on cross-site subrequests),
    /// `Secure` when the callback is https, sent only to the callback's path, gone with the state.
    pub fn set_cookie(state: &str, nonce: &str, callback: &Url, ttl: Duration) -> Result<HeaderValue, ApiError> {
        value(&format!("{}={nonce}; Max-Age={}", name(state), ttl.as_secs()), callback)
    }

    /// `Set-Cookie` removing the cookie of `state`.
    pub fn clear_cookie(state: &str, callback: &Url) -> Result<HeaderValue, ApiError> {
        value(&format!("{}=; Max-Age=0", name(state)), callback)
    }

    fn value(start: &str, callback: &Url) -> Result<HeaderValue, ApiError> {
        let secure = if callback.scheme() == "https" { "; Secure" } else { "" };
        let text = format!("{start}; Path={}; HttpOnly; SameSite=Lax{secure}", callback.path());
        let mut value = HeaderValue::from_str(&text)
            .map_err(|_| ApiError::internal("setting the OAuth2 cookie", "the callback path is not a valid header"))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// The nonce the browser presents for `state`, from its `Cookie` header(s).
    pub fn presented(headers: &HeaderMap, state: &str) -> Option<String> {
        let wanted = name(state);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|text| text.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == wanted && !value.is_empty())
            .map(|(_, value)| value.to_owned())
    }
}

/// The redirect URI: the configured callback URL, or this API's own `/oauth/callback` as seen
/// in the request's `Host` (API Gateway sets it to the API's domain) under its stage, if named.
fn callback_url(state: &RegistryState, headers: &HeaderMap, stage: Option<&str>) -> Result<Url, ServiceError> {
    if let Some(url) = &state.oauth.callback_url {
        return Ok(url.clone());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).filter(|h| !h.is_empty()).ok_or_else(|| {
        ServiceError::internal(
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
        .map_err(|e| ServiceError::Invalid(format!("cannot build the OAuth2 redirect URI from the Host header: {e}")))
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
    fn the_binding_cookie_is_http_only_lax_secure_and_path_limited() {
        let callback = Url::parse("https://api.example/prod/oauth/callback").unwrap();
        let cookie = binding::set_cookie("st", "nonce", &callback, std::time::Duration::from_secs(600)).unwrap();
        let text = cookie.to_str().unwrap();
        assert!(text.starts_with(&format!("{}=nonce;", binding::name("st"))), "{text}");
        for part in ["Max-Age=600", "Path=/prod/oauth/callback", "HttpOnly", "SameSite=Lax", "Secure"] {
            assert!(text.split("; ").any(|p| p == part), "{part} missing from {text}");
        }
        assert!(cookie.is_sensitive());
        let local = Url::parse("http://127.0.0.1:8080/oauth/callback").unwrap();
        assert!(!binding::clear_cookie("st", &local).unwrap().to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn the_presented_nonce_is_read_from_the_cookie_named_after_the_state() {
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; {}=n-1; other=x", binding::name("st-1"));
        headers.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        assert_eq!(binding::presented(&headers, "st-1").as_deref(), Some("n-1"));
        assert_eq!(binding::presented(&headers, "st-2"), None);
    }

    #[test]
    fn html_pages_escape_provider_text() {
        let html = page("Connection failed", "<script>alert(1)</script>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
