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
//! The rules are [`service::oauth`]'s; these routes add the redirect URI and the HTML page.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::edge::ApiStage;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::params::{InstancePath, NoSuchInstance};
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
    params(InstancePath),
    responses(
        (status = 200, description = "Where to send the browser", body = OAuthStart),
        (status = 400, description = "The connector does not use OAuth2", body = ErrorBody),
        NoSuchInstance,
        (status = 409, description = "The instance has no client id yet", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<RegistryState>,
    caller: Caller,
    headers: HeaderMap,
    stage: Option<Extension<ApiStage>>,
    ApiPath(path): ApiPath<InstancePath>,
) -> Result<Json<OAuthStart>, ApiError> {
    let record = service::instances::find(&state, &caller, &path.project_id, &path.connector_id).await?;
    let stage = stage.as_ref().map(|Extension(ApiStage(stage))| stage.as_str());
    let started = service::oauth::start(&state, &caller, &record, || callback_url(&state, &headers, stage)).await?;
    Ok(Json(OAuthStart { authorize_url: started.authorize_url.to_string(), expires_at: started.expires_at }))
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
    let CallbackParams { code, state: value, error, error_description } = params;
    let input = CallbackInput { code, state: value, error, error_description };
    let outcome = service::oauth::complete(&state, input).await.map_err(ApiError::from).map(|key| OAuthConnected {
        connected: true,
        project_id: key.project_id,
        connector_id: key.connector_id,
    });
    match outcome {
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
    fn html_pages_escape_provider_text() {
        let html = page("Connection failed", "<script>alert(1)</script>");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
