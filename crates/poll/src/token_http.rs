//! Token endpoint requests, bounded: the form POST of RFC 6749 §4, its §5.1 answer or §5.2 error,
//! a deadline from connecting to the last byte and a body limit enforced while the answer streams
//! in. The OAuth2 refresher and the token-issuing methods (client credentials, JWT assertions,
//! session logins) all send their token requests through here.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;

use switchboard_core::model::OAuth2ClientAuth;
use switchboard_core::polling::{OAuth2Plan, OAuthError};

use crate::credentials::{Credentials, expose, redact};
use crate::request::{Vars, display_url, render_url};

/// Default deadline of one token request.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Default largest token response body (a real one is well under 8 KiB).
pub const DEFAULT_TOKEN_BODY_LIMIT: usize = 64 * 1024;
/// Longest `error` / `error_description` text kept from a token endpoint's answer.
const MAX_PROVIDER_TEXT: usize = 300;

/// Bounds of one token request (code exchange or refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenLimits {
    /// Longest a request may take, from connecting to the last byte of the answer; past it the
    /// request fails as unavailable (transient).
    pub timeout: Duration,
    /// Largest answer body accepted; a larger one is refused while it streams in.
    pub max_body_bytes: usize,
}

impl Default for TokenLimits {
    fn default() -> Self {
        Self { timeout: DEFAULT_TOKEN_TIMEOUT, max_body_bytes: DEFAULT_TOKEN_BODY_LIMIT }
    }
}

/// A token endpoint's successful answer (RFC 6749 §5.1).
pub(crate) struct TokenAnswer {
    /// The access token.
    pub(crate) access_token: String,
    /// The rotated refresh token, when the server sent one.
    pub(crate) refresh_token: Option<String>,
    /// Its lifetime in seconds, as sent.
    pub(crate) expires_in: Option<serde_json::Value>,
}

/// A token endpoint's error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenErrorAnswer {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

pub(crate) async fn token_request(
    http: &reqwest::Client,
    oauth: &OAuth2Plan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    grant: &[(&str, &str)],
    limits: TokenLimits,
) -> Result<TokenAnswer, OAuthError> {
    let vars = Vars::instance(config, credentials);
    let url = render_url(&oauth.token_url, &vars).map_err(|e| OAuthError::Config(format!("tokenUrl: {e}")))?;
    let client_id = expose(credentials, "clientId").ok_or_else(|| OAuthError::MissingCredential("clientId".into()))?;
    let client_secret = expose(credentials, "clientSecret").unwrap_or_default();
    let (body, basic) = client_auth_form(oauth.client_auth, grant, client_id, client_secret)?;
    send_token_form(http, url, body, basic, credentials, limits).await
}

/// POSTs a form to a token endpoint and reads its RFC 6749 §5.1 answer (or §5.2 error), within
/// `limits`. `basic` is the client's `Authorization` value, when it authenticates that way.
pub(crate) async fn send_token_form(
    http: &reqwest::Client,
    url: reqwest::Url,
    body: String,
    basic: Option<HeaderValue>,
    credentials: &Credentials,
    limits: TokenLimits,
) -> Result<TokenAnswer, OAuthError> {
    let endpoint = display_url(&url, credentials);
    let port = url.port_or_known_default().unwrap_or(0);
    let mut request = http.post(url).header(ACCEPT, "application/json").timeout(limits.timeout);
    if let Some(value) = basic {
        request = request.header(AUTHORIZATION, value);
    }
    let request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded").body(body);
    let answer = send_within(request, limits, &endpoint, port).await?;
    let (status, retry_after, body) = (answer.status, answer.retry_after, answer.body);
    if status.is_success() {
        return parse_answer(&body, &endpoint, credentials);
    }
    if status.as_u16() == 429 {
        return Err(OAuthError::RateLimited { endpoint, retry_after });
    }
    if status.is_server_error() {
        return Err(OAuthError::Unavailable { endpoint, message: format!("HTTP {}", status.as_u16()) });
    }
    match serde_json::from_slice::<TokenErrorAnswer>(&body) {
        Ok(answer) => Err(provider_error(&answer, credentials)),
        Err(_) => Err(OAuthError::Rejected(format!("HTTP {} from {endpoint}", status.as_u16()))),
    }
}

/// A token endpoint's answer, read within [`TokenLimits`].
pub(crate) struct BoundedAnswer {
    /// The status.
    pub(crate) status: reqwest::StatusCode,
    /// The wait a 429 / 503 asked for.
    pub(crate) retry_after: Option<Duration>,
    /// The headers.
    pub(crate) headers: reqwest::header::HeaderMap,
    /// The body (at most the limit).
    pub(crate) body: Vec<u8>,
}

/// Sends a token request to a URL on `port` and reads its answer: the deadline covers
/// connecting, waiting and reading the body, whatever the client's own timeouts are.
pub(crate) async fn send_within(
    request: reqwest::RequestBuilder,
    limits: TokenLimits,
    endpoint: &str,
    port: u16,
) -> Result<BoundedAnswer, OAuthError> {
    tokio::time::timeout(limits.timeout, crate::egress::to_port(port, send_bounded(request, limits, endpoint)))
        .await
        .map_err(|_| late(endpoint, limits))?
}

/// The error of a token request past its deadline (transient).
fn late(endpoint: &str, limits: TokenLimits) -> OAuthError {
    OAuthError::Unavailable {
        endpoint: endpoint.to_owned(),
        message: format!("no complete answer within {:?}", limits.timeout),
    }
}

/// Sends a token request and reads its answer, refusing a body over the limit (announced or
/// streamed) without reading the rest.
async fn send_bounded(
    request: reqwest::RequestBuilder,
    limits: TokenLimits,
    endpoint: &str,
) -> Result<BoundedAnswer, OAuthError> {
    let limit = limits.max_body_bytes;
    let network = |e: reqwest::Error| {
        if e.is_timeout() {
            late(endpoint, limits)
        } else {
            OAuthError::Unavailable { endpoint: endpoint.to_owned(), message: e.without_url().to_string() }
        }
    };
    let too_large = || OAuthError::BadResponse {
        endpoint: endpoint.to_owned(),
        message: format!("the answer is larger than {limit} bytes, more than a token response can be"),
    };
    let mut response = request.send().await.map_err(network)?;
    let status = response.status();
    let retry_after = crate::retry::retry_after_seconds(response.headers());
    let headers = response.headers().clone();
    if response.content_length().is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(BoundedAnswer { status, retry_after, headers, body })
}

/// Reads a 2xx answer. Some providers (GitHub) answer 200 with an RFC 6749 §5.2 error object;
/// that is an error. Messages describe what is missing, never the values.
fn parse_answer(body: &[u8], endpoint: &str, credentials: &Credentials) -> Result<TokenAnswer, OAuthError> {
    let bad = |message: String| OAuthError::BadResponse { endpoint: endpoint.to_owned(), message };
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the answer is not JSON (line {}, column {})", e.line(), e.column())))?;
    let field = |name: &str| value.get(name).filter(|v| !v.is_null());
    if field("access_token").is_none()
        && let Ok(answer) = TokenErrorAnswer::deserialize(&value)
    {
        return Err(provider_error(&answer, credentials));
    }
    let access_token = match field("access_token") {
        Some(serde_json::Value::String(token)) if !token.is_empty() => token.clone(),
        Some(_) => return Err(bad("`access_token` is not a non-empty string".to_owned())),
        None => return Err(bad("the answer has no `access_token`".to_owned())),
    };
    let refresh_token = match field("refresh_token") {
        Some(serde_json::Value::String(token)) => Some(token.clone()),
        Some(_) => return Err(bad("`refresh_token` is not a string".to_owned())),
        None => None,
    };
    Ok(TokenAnswer { access_token, refresh_token, expires_in: field("expires_in").cloned() })
}

/// The error a provider's RFC 6749 §5.2 answer stands for: `invalid_grant` means the user must
/// connect again. Only `error` and `error_description` are kept, shortened and with any
/// credential value removed.
fn provider_error(answer: &TokenErrorAnswer, credentials: &Credentials) -> OAuthError {
    // Scrubbed before shortening: a value cut in half would no longer be recognised.
    let short = |text: &str| {
        let text = redact(text, credentials);
        match text.char_indices().nth(MAX_PROVIDER_TEXT) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text,
        }
    };
    let detail = match &answer.error_description {
        Some(d) => format!("{}: {}", short(&answer.error), short(d)),
        None => short(&answer.error),
    };
    if answer.error == "invalid_grant" { OAuthError::ReauthNeeded(detail) } else { OAuthError::Rejected(detail) }
}

/// The form body of a token request and, for `basic` client auth, the `Authorization` value.
pub(crate) fn client_auth_form(
    client_auth: OAuth2ClientAuth,
    grant: &[(&str, &str)],
    client_id: &str,
    client_secret: &str,
) -> Result<(String, Option<HeaderValue>), OAuthError> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(grant);
    match client_auth {
        OAuth2ClientAuth::Body => {
            form.append_pair("client_id", client_id);
            if !client_secret.is_empty() {
                form.append_pair("client_secret", client_secret);
            }
            Ok((form.finish(), None))
        }
        OAuth2ClientAuth::Basic => {
            // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
            let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(client_id), encode(client_secret));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| OAuthError::Config("the client credentials contain invalid characters".into()))?;
            value.set_sensitive(true);
            Ok((form.finish(), Some(value)))
        }
    }
}

/// `now` plus a lifetime in seconds, written as a number or a numeric string.
pub(crate) fn expiry_after(seconds: &serde_json::Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let seconds = match seconds {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    now.checked_add_signed(chrono::TimeDelta::seconds(seconds))
}
