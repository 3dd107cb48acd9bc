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

use chrono::{DateTime, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use switchboard_core::mapping::timestamp::parse_timestamp;
use switchboard_core::model::TimestampFormat;
use switchboard_core::polling::{FailureClass, OAuth2Plan, OAuthError};

use crate::client::LazyHttp;
use crate::credentials::{Credentials, expose, without};
use crate::retry::RetryPolicy;
use crate::timer::Timer;
pub use crate::token_http::{DEFAULT_TOKEN_BODY_LIMIT, DEFAULT_TOKEN_TIMEOUT, TokenLimits};
use crate::token_http::{TokenAnswer, expiry_after, token_request};

/// Credential key of the OAuth2 access token.
pub const ACCESS_TOKEN: &str = "accessToken";
/// Credential key of the OAuth2 refresh token.
pub const REFRESH_TOKEN: &str = "refreshToken";
/// Credential key of the access token's expiry (RFC 3339).
pub const EXPIRES_AT: &str = "expiresAt";

/// Remembered grants beyond which idle ones are forgotten.
const MAX_IDLE_SLOTS: usize = 1024;

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
    pub(crate) http: LazyHttp,
    pub(crate) timer: Arc<dyn Timer>,
    pub(crate) buffer: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) limits: TokenLimits,
    slots: Mutex<HashMap<String, Slot>>,
    /// The tokens of the other token-issuing methods ([`crate::issued`]).
    pub(crate) issued: crate::issued_cache::IssuedTokens,
}

impl TokenRefresher {
    /// A refresher that renews tokens `buffer` before they expire, sending through `http` (a
    /// client, or a [`LazyHttp`] built on the first token request).
    pub fn new(http: impl Into<LazyHttp>, timer: Arc<dyn Timer>, buffer: Duration) -> Self {
        Self {
            http: http.into(),
            timer,
            buffer,
            retry: RetryPolicy::default(),
            limits: TokenLimits::default(),
            slots: Mutex::new(HashMap::new()),
            issued: crate::issued_cache::IssuedTokens::default(),
        }
    }

    /// The refresher's HTTP client, built now if no request has needed it yet.
    pub(crate) fn client(&self) -> Result<&reqwest::Client, OAuthError> {
        self.http.get().map_err(|e| OAuthError::Config(format!("cannot build the HTTP client: {e}")))
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
            match token_request(self.client()?, oauth, config, credentials, &form, self.limits).await {
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
