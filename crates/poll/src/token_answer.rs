//! Token requests described by a descriptor ([`TokenRequestPlan`]: a GitHub App's
//! installation-token request, a session login) and reading their answers as the plan's
//! [`TokenAnswerPlan`] says: the token from a JSONPath or a header, the expiry from a JSONPath
//! (an absolute time or a lifetime) or the plan's default lifetime.
//!
//! Requests are bounded by [`TokenLimits`] and go through the engine's guarded client. Errors
//! name the endpoint and the status, and quote at most the provider's `message` / `error` /
//! `error_description`, with every credential value and the request's own secret removed.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::{LoginContentType, TimestampFormat, TokenRequestMethod};
use switchboard_core::polling::{ExpiryLocation, OAuthError, TokenAnswerPlan, TokenLocation, TokenRequestPlan};

use crate::credentials::{Credentials, redact};
use crate::request::{Escape, Vars, display_url, render_text, render_url};
use crate::token_http::{BoundedAnswer, TokenLimits, expiry_after, send_within};

/// Longest provider text quoted in an error.
const MAX_PROVIDER_TEXT: usize = 300;

/// A token an auth method obtained, with its expiry when known.
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    /// The token (never printed).
    pub(crate) token: SecretString,
    /// When it stops working; `None`: until the API rejects it.
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// Sends `plan`'s request for an instance and reads the token from its answer. `bearer` is a
/// secret sent as `Authorization: Bearer` (a signed JWT), removed from any error text.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    plan: &TokenRequestPlan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    bearer: Option<&SecretString>,
    limits: TokenLimits,
    now: DateTime<Utc>,
) -> Result<Issued, OAuthError> {
    let vars = Vars::instance(config, credentials);
    let url = render_url(&plan.url, &vars).map_err(|e| OAuthError::Config(format!("token request URL: {e}")))?;
    let endpoint = display_url(&url, credentials);
    let port = url.port_or_known_default().unwrap_or(0);
    let method = match plan.method {
        TokenRequestMethod::Post => reqwest::Method::POST,
        TokenRequestMethod::Get => reqwest::Method::GET,
    };
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    for (name, template) in &plan.headers {
        let value = render_text(template, &vars, Escape::Raw).map_err(|e| OAuthError::Config(e.to_string()))?;
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| OAuthError::Config(format!("{name:?} is not a valid header name")))?;
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| OAuthError::Config(format!("the value of header {name:?} contains invalid characters")))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let mut request = http.request(method, url).headers(headers).timeout(limits.timeout);
    if let Some(jwt) = bearer {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", jwt.expose_secret()))
            .map_err(|_| OAuthError::Config("the signed JWT is not a valid header value".to_owned()))?;
        value.set_sensitive(true);
        request = request.header(reqwest::header::AUTHORIZATION, value);
    }
    if let Some(body) = &plan.body {
        let (text, content_type) = match plan.content_type {
            LoginContentType::Json => (
                render_text(body, &vars, Escape::Json).map_err(|e| OAuthError::Config(e.to_string())),
                "application/json",
            ),
            LoginContentType::Form => (render_form(body, &vars), "application/x-www-form-urlencoded"),
        };
        let text = text.map_err(|e| OAuthError::Config(format!("login body: {e}")))?;
        request = request.header(CONTENT_TYPE, content_type).body(text);
    }
    let answer = send_within(request, limits, &endpoint, port).await?;
    read_answer(&plan.answer, answer, &endpoint, credentials, bearer, now)
}

/// Renders a form body template, form-encoding each substituted value.
fn render_form(template: &switchboard_core::template::Template, vars: &Vars<'_>) -> Result<String, OAuthError> {
    let raw = |name: &str| {
        let value = render_text(
            &switchboard_core::template::Template::parse(&format!("{{{{{name}}}}}")).map_err(OAuthError::Config)?,
            vars,
            Escape::Raw,
        )
        .map_err(|e| OAuthError::Config(e.to_string()))?;
        Ok::<_, OAuthError>(url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>())
    };
    template.render(raw)
}

/// Reads a token answer: errors for non-2xx statuses, else the token and its expiry.
pub(crate) fn read_answer(
    plan: &TokenAnswerPlan,
    answer: BoundedAnswer,
    endpoint: &str,
    credentials: &Credentials,
    secret: Option<&SecretString>,
    now: DateTime<Utc>,
) -> Result<Issued, OAuthError> {
    let status = answer.status.as_u16();
    if status == 429 {
        return Err(OAuthError::RateLimited { endpoint: endpoint.to_owned(), retry_after: answer.retry_after });
    }
    if answer.status.is_server_error() {
        return Err(OAuthError::Unavailable { endpoint: endpoint.to_owned(), message: format!("HTTP {status}") });
    }
    let bad = |message: String| OAuthError::BadResponse { endpoint: endpoint.to_owned(), message };
    let body: Option<Value> = serde_json::from_slice(&answer.body).ok();
    if !answer.status.is_success() {
        // Scrubbed before shortening: a value cut in half would no longer be recognised.
        let said = body.as_ref().and_then(provider_text).map(|text| shorten(scrub(&text, credentials, secret)));
        return Err(OAuthError::Rejected(match said {
            Some(text) => format!("HTTP {status} from {endpoint}: {text}"),
            None => format!("HTTP {status} from {endpoint}"),
        }));
    }
    let token = match &plan.token {
        TokenLocation::Header(name) => answer
            .headers
            .get(name.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("the answer has no header {name:?}")))?,
        TokenLocation::Body(path) => {
            let body = body.as_ref().ok_or_else(|| bad("the answer is not JSON".to_owned()))?;
            match path.first(body) {
                Some(Value::String(token)) if !token.is_empty() => token.clone(),
                Some(_) => return Err(bad(format!("{} is not a non-empty string", path.as_str()))),
                None => return Err(bad(format!("the answer has no {}", path.as_str()))),
            }
        }
    };
    let expires_at = match &plan.expiry {
        Some(location) => {
            let (path, value) = match location {
                ExpiryLocation::At(path) | ExpiryLocation::In(path) => {
                    (path, body.as_ref().and_then(|b| path.first(b)).filter(|v| !v.is_null()))
                }
            };
            match (location, value) {
                (ExpiryLocation::At(_), Some(value)) => Some(
                    parse_timestamp(value, TimestampFormat::Auto)
                        .map_err(|e| bad(format!("{}: {e}", path.as_str())))?,
                ),
                (ExpiryLocation::In(_), Some(value)) => Some(
                    expiry_after(value, now)
                        .ok_or_else(|| bad(format!("{} is not a number of seconds", path.as_str())))?,
                ),
                // No expiry in this answer: the default lifetime, if any, applies.
                (_, None) => default_expiry(plan, now),
            }
        }
        None => default_expiry(plan, now),
    };
    Ok(Issued { token: SecretString::from(token), expires_at })
}

fn default_expiry(plan: &TokenAnswerPlan, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let lifetime = chrono::TimeDelta::from_std(plan.default_lifetime?).ok()?;
    now.checked_add_signed(lifetime)
}

/// The provider's own explanation in an error answer, if it gives one.
fn provider_text(body: &Value) -> Option<String> {
    let field = |name: &str| body.get(name).and_then(Value::as_str).filter(|t| !t.is_empty());
    let text = match (field("error"), field("error_description").or_else(|| field("message"))) {
        (Some(error), Some(description)) => format!("{error}: {description}"),
        (Some(one), None) | (None, Some(one)) => one.to_owned(),
        (None, None) => return None,
    };
    Some(text)
}

fn shorten(text: String) -> String {
    match text.char_indices().nth(MAX_PROVIDER_TEXT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// `text` without any credential value and without `secret`.
pub(crate) fn scrub(text: &str, credentials: &Credentials, secret: Option<&SecretString>) -> String {
    let mut out = redact(text, credentials);
    if let Some(secret) = secret.map(ExposeSecret::expose_secret).filter(|s| !s.is_empty()) {
        out = out.replace(secret, "***");
    }
    out
}
