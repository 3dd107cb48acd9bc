//! OAuth2 tokens: refresh (single-flight per credential), refresh-token rotation, and the
//! authorisation-code exchange (with its PKCE verifier) the registry API's OAuth callback uses.
//! The [`TokenRefresher`] also holds the tokens of the other token-issuing methods
//! ([`crate::issued`]), so one engine shares one cache.
//!
//! Every token request is bounded by [`TokenLimits`]: a deadline from connecting to the last
//! byte, and a body limit enforced while the answer streams in. Errors name the endpoint and the
//! provider's `error` / `error_description`, never the response body itself (it may hold tokens).
//!
//! Tokens live in the instance's credential map under `accessToken`, `refreshToken` and
//! `expiresAt` (RFC 3339), next to the client's `clientId` and `clientSecret`. Whenever a token
//! is refreshed the updated map is handed back to the caller to persist: with rotation the old
//! refresh token stops working, so losing the new one means the user has to connect again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::{OAuth2ClientAuth, TimestampFormat};
use switchboard_core::polling::{FailureClass, OAuth2Plan, OAuthError};

use crate::credentials::{Credentials, expose, redact, without};
use crate::request::{Vars, display_url, render_url};
use crate::retry::RetryPolicy;
use crate::timer::Timer;

/// Credential key of the OAuth2 access token.
pub const ACCESS_TOKEN: &str = "accessToken";
/// Credential key of the OAuth2 refresh token.
pub const REFRESH_TOKEN: &str = "refreshToken";
/// Credential key of the access token's expiry (RFC 3339).
pub const EXPIRES_AT: &str = "expiresAt";

/// Remembered grants beyond which idle ones are forgotten.
const MAX_IDLE_SLOTS: usize = 1024;

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

/// An authorisation code to exchange (RFC 6749 §4.1.3), with its PKCE verifier (RFC 7636 §4.5)
/// when the flow used one.
#[derive(Clone, Copy)]
pub struct CodeGrant<'a> {
    /// The code the provider sent to the callback.
    pub code: &'a str,
    /// The redirect URI sent with the authorisation request.
    pub redirect_uri: &'a str,
    /// The PKCE code verifier whose challenge the authorisation URL carried.
    pub code_verifier: Option<&'a str>,
}

/// Leaves out the code and the verifier.
impl std::fmt::Debug for CodeGrant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeGrant")
            .field("redirect_uri", &self.redirect_uri)
            .field("pkce", &self.code_verifier.is_some())
            .finish_non_exhaustive()
    }
}

/// An access token to send, and the updated credentials when it was just refreshed.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub token: SecretString,
    /// The full credential map with new tokens, to persist; `None` when nothing changed.
    pub refreshed: Option<Credentials>,
}

#[derive(Debug, Clone)]
struct TokenSet {
    access_token: SecretString,
    expires_at: Option<DateTime<Utc>>,
    credentials: Credentials,
}

type Slot = Arc<tokio::sync::Mutex<Option<TokenSet>>>;

/// Hands out valid OAuth2 access tokens, refreshing them at most once at a time per credential:
/// concurrent callers with the same expired token wait for one refresh and share its result.
///
/// Share one refresher (inside one [`crate::PollEngine`]) across a process. Refreshed tokens are
/// remembered per original credential, so a caller still holding the pre-rotation refresh token
/// gets the rotated tokens instead of a failing refresh.
#[derive(Debug)]
pub struct TokenRefresher {
    pub(crate) http: reqwest::Client,
    pub(crate) timer: Arc<dyn Timer>,
    pub(crate) buffer: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: TokenLimits,
    slots: Mutex<HashMap<String, Slot>>,
    /// The tokens of the other token-issuing methods ([`crate::issued`]).
    pub(crate) issued: crate::issued::IssuedTokens,
}

impl TokenRefresher {
    /// A refresher that renews tokens `buffer` before they expire.
    pub fn new(http: reqwest::Client, timer: Arc<dyn Timer>, buffer: Duration) -> Self {
        Self {
            http,
            timer,
            buffer,
            retry: RetryPolicy::default(),
            limits: TokenLimits::default(),
            slots: Mutex::new(HashMap::new()),
            issued: crate::issued::IssuedTokens::default(),
        }
    }

    /// Bounds each refresh request by `limits` instead of [`TokenLimits::default`].
    pub fn with_limits(mut self, limits: TokenLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Uses `retry` for token endpoint failures that may pass (5xx, network).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// A valid access token, refreshed first when it is missing, expired or within the buffer of
    /// its expiry.
    pub async fn access_token(
        &self,
        oauth: &OAuth2Plan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> Result<AccessToken, OAuthError> {
        self.obtain(oauth, config, credentials, None).await
    }

    /// A new access token after the API rejected `rejected` with a 401, unless another caller
    /// has already replaced it.
    pub async fn after_rejection(
        &self,
        oauth: &OAuth2Plan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        rejected: &SecretString,
    ) -> Result<AccessToken, OAuthError> {
        self.obtain(oauth, config, credentials, Some(rejected)).await
    }

    async fn obtain(
        &self,
        oauth: &OAuth2Plan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        rejected: Option<&SecretString>,
    ) -> Result<AccessToken, OAuthError> {
        let is_rejected = |token: &SecretString| rejected.is_some_and(|r| r.expose_secret() == token.expose_secret());
        let own = credentials.get(ACCESS_TOKEN).filter(|t| !t.expose_secret().is_empty());
        if let Some(token) = own
            && !is_rejected(token)
            && self.is_fresh(expires_at(credentials))
        {
            return Ok(AccessToken { token: token.clone(), refreshed: None });
        }
        let slot = self.slot(&slot_key(oauth, credentials));
        let mut cached = slot.lock().await;
        if let Some(set) = cached.as_ref()
            && !is_rejected(&set.access_token)
            && self.is_fresh(set.expires_at)
        {
            return Ok(AccessToken { token: set.access_token.clone(), refreshed: Some(set.credentials.clone()) });
        }
        // Refresh with the newest refresh token we know: a rotated one from an earlier refresh
        // wins over the caller's.
        let base = cached.as_ref().map_or(credentials, |set| &set.credentials);
        let set = self.refresh(oauth, config, base).await?;
        *cached = Some(set.clone());
        Ok(AccessToken { token: set.access_token, refreshed: Some(set.credentials) })
    }

    async fn refresh(
        &self,
        oauth: &OAuth2Plan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> Result<TokenSet, OAuthError> {
        let refresh_token = expose(credentials, REFRESH_TOKEN)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::ReauthNeeded("the access token expired and there is no refresh token".into()))?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
        let mut attempt = 1;
        loop {
            match token_request(&self.http, oauth, config, credentials, &form, self.limits).await {
                Ok(answer) => return Ok(merge(credentials, answer, self.timer.utc_now())),
                Err(e) if e.class() == FailureClass::Transient && attempt < self.retry.max_attempts => {
                    self.timer.sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn is_fresh(&self, expires_at: Option<DateTime<Utc>>) -> bool {
        let buffer = chrono::TimeDelta::from_std(self.buffer).unwrap_or(chrono::TimeDelta::zero());
        expires_at.is_none_or(|at| at - buffer > self.timer.utc_now())
    }

    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= MAX_IDLE_SLOTS && !slots.contains_key(key) {
            // Rotation retires a key on every refresh: forget grants nobody is using.
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        slots.entry(key.to_owned()).or_default().clone()
    }
}

/// Exchanges an authorisation code for tokens (the OAuth2 callback), sending the PKCE
/// `code_verifier` when `grant` has one. Returns `credentials` with `accessToken`,
/// `refreshToken` and `expiresAt` set, ready to store.
pub async fn exchange_code(
    http: &reqwest::Client,
    oauth: &OAuth2Plan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    grant: CodeGrant<'_>,
    limits: TokenLimits,
) -> Result<Credentials, OAuthError> {
    let mut form =
        vec![("grant_type", "authorization_code"), ("code", grant.code), ("redirect_uri", grant.redirect_uri)];
    if let Some(verifier) = grant.code_verifier {
        form.push(("code_verifier", verifier));
    }
    let answer = token_request(http, oauth, config, credentials, &form, limits).await?;
    Ok(merge(credentials, answer, Utc::now()).credentials)
}

/// A token endpoint's successful answer (RFC 6749 §5.1).
pub(crate) struct TokenAnswer {
    /// The access token.
    pub(crate) access_token: String,
    refresh_token: Option<String>,
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

async fn token_request(
    http: &reqwest::Client,
    oauth: &OAuth2Plan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    grant: &[(&str, &str)],
    limits: TokenLimits,
) -> Result<TokenAnswer, OAuthError> {
    let vars = Vars { config, credentials, checkpoint: "", page_token: "" };
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

/// The credentials after a token answer: new access token, the rotated refresh token when the
/// server sent one, and the new expiry.
fn merge(credentials: &Credentials, answer: TokenAnswer, now: DateTime<Utc>) -> TokenSet {
    let mut merged = credentials.clone();
    merged.insert(ACCESS_TOKEN, answer.access_token.clone());
    if let Some(refresh) = answer.refresh_token.filter(|r| !r.is_empty()) {
        merged.insert(REFRESH_TOKEN, refresh);
    }
    let expires = answer.expires_in.as_ref().and_then(|v| expiry_after(v, now));
    match expires {
        Some(at) => merged.insert(EXPIRES_AT, at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => merged = without(&merged, EXPIRES_AT),
    }
    TokenSet { access_token: SecretString::from(answer.access_token), expires_at: expires, credentials: merged }
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

fn expires_at(credentials: &Credentials) -> Option<DateTime<Utc>> {
    let text = expose(credentials, EXPIRES_AT)?;
    parse_timestamp(&serde_json::Value::String(text.to_owned()), TimestampFormat::Auto).ok()
}

/// Identifies "the same grant" across callers: token URL, client and refresh (or access) token.
fn slot_key(oauth: &OAuth2Plan, credentials: &Credentials) -> String {
    let mut hash = Sha256::new();
    for part in [
        Some(oauth.token_url.as_str()),
        expose(credentials, "clientId"),
        expose(credentials, REFRESH_TOKEN).or_else(|| expose(credentials, ACCESS_TOKEN)),
    ] {
        hash.update(part.unwrap_or_default().as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}
