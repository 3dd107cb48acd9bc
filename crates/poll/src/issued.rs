//! Tokens the engine obtains itself before calling an API — the OAuth2 client credentials
//! grant, JWT assertions, session logins — cached per instance until shortly before they
//! expire, and obtained single-flight: concurrent runs needing a new token wait for one
//! request and share its answer. A token the API rejects (401) is replaced once.
//!
//! Unlike OAuth2 user tokens these are not written back to the instance's credentials: any
//! process can obtain a new one from the credentials alone, so they live in this process's
//! memory only (a Lambda keeps them while it is warm).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use switchboard_core::polling::{AuthPlan, FailureClass, OAuthError, PollError};
use switchboard_core::template::Template;

use crate::credentials::{Credentials, expose};
use crate::egress::EgressGuard;
use crate::oauth::TokenRefresher;
use crate::token_answer::Issued;
use crate::{client_credentials, jwt, token, token_answer};

/// The key under which a run's session keeps the token it sends, next to the instance's
/// credentials: every error text of the run is scrubbed of credential values, so of the token
/// too. Never persisted, and left out of the cache key.
pub(crate) const ISSUED_TOKEN: &str = "__issuedToken";

impl TokenRefresher {
    /// The token to send for `auth`, when it is a token-issuing method other than OAuth2
    /// (which [`TokenRefresher::access_token`] serves): the cached one while it is fresh and
    /// is not `rejected`, else a new one. `Ok(None)` for methods that obtain no token.
    ///
    /// The token is also put in `credentials` under [`ISSUED_TOKEN`], so the session scrubs it
    /// from every error. A token URL the egress guard refuses is a configuration error naming
    /// the host, before (IP literals) or instead of (resolved names) a network error.
    pub(crate) async fn issued_token(
        &self,
        guard: &EgressGuard,
        auth: &AuthPlan,
        config: &BTreeMap<String, String>,
        credentials: &mut Credentials,
        rejected: Option<&SecretString>,
    ) -> Result<Option<SecretString>, PollError> {
        let token = self.issued_token_for(guard, auth, config, credentials, rejected).await?;
        if let Some(token) = &token {
            credentials.insert(ISSUED_TOKEN, token.expose_secret());
        }
        Ok(token)
    }

    async fn issued_token_for(
        &self,
        guard: &EgressGuard,
        auth: &AuthPlan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
        rejected: Option<&SecretString>,
    ) -> Result<Option<SecretString>, PollError> {
        let endpoint = match auth {
            AuthPlan::ClientCredentials(_) | AuthPlan::JwtAssertion(_) | AuthPlan::SessionToken(_) => {
                auth.token_endpoint()
            }
            _ => None,
        };
        let Some(endpoint) = endpoint else { return Ok(None) };
        token::admit_url(guard, endpoint, config, credentials)?;
        let slot = self.issued.slot(&slot_key(auth, endpoint, config, credentials));
        let mut cached = slot.lock().await;
        let is_rejected = |token: &SecretString| rejected.is_some_and(|r| r.expose_secret() == token.expose_secret());
        if let Some(issued) = cached.as_ref()
            && !is_rejected(&issued.token)
            && self.still_fresh(issued.expires_at)
        {
            return Ok(Some(issued.token.clone()));
        }
        let issued = match self.obtain_issued(auth, config, credentials).await {
            Ok(issued) => issued,
            Err(e) => return Err(token::explain_url(guard, endpoint, config, credentials, e).await),
        };
        *cached = Some(issued.clone());
        Ok(Some(issued.token))
    }

    /// One token request, retried with backoff while it fails transiently.
    async fn obtain_issued(
        &self,
        auth: &AuthPlan,
        config: &BTreeMap<String, String>,
        credentials: &Credentials,
    ) -> Result<Issued, OAuthError> {
        let http = self.client()?;
        let mut attempt = 1;
        loop {
            let now = self.timer.utc_now();
            let result = match auth {
                AuthPlan::ClientCredentials(plan) => {
                    client_credentials::request_token(http, plan, config, credentials, self.limits, now).await
                }
                AuthPlan::JwtAssertion(plan) => {
                    jwt::request_token(http, plan, config, credentials, self.limits, now).await
                }
                AuthPlan::SessionToken(plan) => {
                    token_answer::request_token(http, &plan.login, config, credentials, None, self.limits, now).await
                }
                _ => Err(OAuthError::Config("this auth method obtains no token".to_owned())),
            };
            match result {
                Err(e) if e.class() == FailureClass::Transient && attempt < self.retry.max_attempts => {
                    self.timer.sleep(self.retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Whether a token expiring at `expires_at` is still good for the refresh buffer.
    fn still_fresh(&self, expires_at: Option<DateTime<Utc>>) -> bool {
        let buffer = chrono::TimeDelta::from_std(self.buffer).unwrap_or(chrono::TimeDelta::zero());
        expires_at.is_none_or(|at| at - buffer > self.timer.utc_now())
    }
}

/// Identifies one instance's token: the method, its token URL, and every config and
/// credential value (so a changed secret gets a new token), hashed.
fn slot_key(
    auth: &AuthPlan,
    endpoint: &Template,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
) -> String {
    let mut hash = Sha256::new();
    let method = match auth {
        AuthPlan::ClientCredentials(_) => "client_credentials",
        AuthPlan::JwtAssertion(_) => "jwt_assertion",
        _ => "session_token",
    };
    for part in [method, endpoint.as_str()] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    for (key, value) in config {
        hash.update(key.as_bytes());
        hash.update([1]);
        hash.update(value.as_bytes());
        hash.update([0]);
    }
    for key in credentials.keys().filter(|k| *k != ISSUED_TOKEN) {
        hash.update(key.as_bytes());
        hash.update([2]);
        hash.update(expose(credentials, key).unwrap_or_default().as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}
