//! [`JwtResolver`]: `Authorization: Bearer <JWT>` checked as API Gateway's JWT authorizer checks
//! it — signature against the issuer's key set, `iss`, `aud` (one of the accepted client ids),
//! `exp` and `nbf` — then turned into a caller from its claims like the deployed
//! [`ClaimsResolver`](crate::ClaimsResolver) does. `switchboard serve --oidc-issuer` uses it, so
//! the dashboard's OIDC sign-in works locally against the same kind of issuer as deployed.
//!
//! The key set is given by the caller (read from the discovery document's `jwks_uri`) and can be
//! replaced while serving ([`JwtResolver::replace_keys`]) when the issuer rotates its keys.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::http::{Extensions, HeaderMap};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::auth::{Caller, CallerResolver, Unauthenticated, bearer_token, caller_from_claims};

/// Asymmetric algorithms only: a shared-secret (HS*) token could be forged by anyone holding the
/// client's configuration.
const ALGORITHMS: [Algorithm; 6] =
    [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::ES256, Algorithm::ES384];

/// Accepted clock skew, as API Gateway's authorizer allows.
const LEEWAY_SECONDS: u64 = 60;

/// Checks bearer JWTs of one issuer against its key set.
#[derive(Debug)]
pub struct JwtResolver {
    issuer: String,
    audiences: Vec<String>,
    keys: RwLock<JwkSet>,
}

impl JwtResolver {
    /// Accepts tokens of `issuer` for one of `audiences`, signed by a key of `keys`.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>, keys: JwkSet) -> Self {
        Self { issuer: issuer.into(), audiences, keys: RwLock::new(keys) }
    }

    /// Replaces the key set (the issuer rotated its keys).
    pub fn replace_keys(&self, keys: JwkSet) {
        *self.keys.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
    }

    fn claims(&self, token: &str) -> Result<Value, Unauthenticated> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Unauthenticated("the bearer token is not a JWT"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(Unauthenticated("the JWT's algorithm is not accepted"));
        }
        let keys = self.keys.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid).ok_or(Unauthenticated("the JWT's key id is not in the issuer's key set"))?,
            None if keys.keys.len() == 1 => &keys.keys[0],
            None => return Err(Unauthenticated("the JWT names no key id and the issuer has several keys")),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|_| Unauthenticated("the issuer's key cannot be used"))?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = vec![header.alg];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|_| Unauthenticated("the JWT failed verification (signature, issuer, audience or time)"))
    }
}

/// Claims as API Gateway's JWT authorizer hands them on: strings as they are, arrays as
/// `[a b]`, other values as JSON text.
fn flatten_claims(claims: &Value) -> HashMap<String, String> {
    let Some(object) = claims.as_object() else { return HashMap::new() };
    object
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Array(items) => {
                    let items: Vec<String> =
                        items.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect();
                    format!("[{}]", items.join(" "))
                }
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect()
}

impl CallerResolver for JwtResolver {
    fn resolve(&self, headers: &HeaderMap, _extensions: &Extensions) -> Result<Caller, Unauthenticated> {
        caller_from_claims(&flatten_claims(&self.claims(bearer_token(headers)?)?))
    }
}

/// Tries each resolver in turn and takes the first caller found (`serve` with an issuer accepts
/// the admin token and the issuer's JWTs).
pub struct FirstOf(pub Vec<std::sync::Arc<dyn CallerResolver>>);

impl CallerResolver for FirstOf {
    fn resolve(&self, headers: &HeaderMap, extensions: &Extensions) -> Result<Caller, Unauthenticated> {
        let mut last = Unauthenticated("no resolver");
        for resolver in &self.0 {
            match resolver.resolve(headers, extensions) {
                Ok(caller) => return Ok(caller),
                Err(why) => last = why,
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_flattened_as_the_authorizer_does() {
        let claims = serde_json::json!({"sub": "u1", "cognito:groups": ["switchboard-admin", "ops"], "exp": 5});
        let flat = flatten_claims(&claims);
        assert_eq!(flat["cognito:groups"], "[switchboard-admin ops]");
        assert_eq!(flat["exp"], "5");
        let caller = caller_from_claims(&flat).unwrap();
        assert!(caller.admin && caller.subject == "u1");
    }
}
