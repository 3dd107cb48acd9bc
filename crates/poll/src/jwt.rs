//! JWT-signed assertions: a JWT with the descriptor's claims, signed with the PEM private key
//! of a credential field, exchanged for an access token — by the RFC 7523 JWT bearer grant
//! (Google service accounts) or by a request that sends the JWT as a bearer token (GitHub App
//! installation tokens).
//!
//! Signing uses `jsonwebtoken` (see the workspace manifest for why that crate and backend). The
//! key and the JWT are secrets: no error, log or `Debug` output shows either.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde_json::{Map, Value};

use switchboard_core::model::JwtAlgorithm;
use switchboard_core::polling::{JwtExchangePlan, JwtPlan, OAuthError};

use crate::credentials::{Credentials, expose};
use crate::request::{Escape, Vars, render_text, render_url};
use crate::token_answer::{self, Issued};
use crate::token_http::{TokenLimits, expiry_after, send_token_form};

/// The key under which the signed JWT joins the credentials whose values error text never shows.
const ASSERTION: &str = "__assertion";

/// The RFC 7523 grant type.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Signs a JWT for an instance and exchanges it for an access token.
pub(crate) async fn request_token(
    http: &reqwest::Client,
    plan: &JwtPlan,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    limits: TokenLimits,
    now: DateTime<Utc>,
) -> Result<Issued, OAuthError> {
    let vars = Vars::instance(config, credentials);
    match &plan.exchange {
        JwtExchangePlan::Grant { token_url } => {
            let url = render_url(token_url, &vars).map_err(|e| OAuthError::Config(format!("tokenUrl: {e}")))?;
            let jwt = sign(plan, &vars, Some(url.as_str()), now)?;
            let body = {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", JWT_BEARER_GRANT);
                form.append_pair("assertion", secrecy::ExposeSecret::expose_secret(&jwt));
                form.finish()
            };
            // The assertion is a secret too: error text is scrubbed of it like of the credentials.
            let mut scrubbed = credentials.clone();
            scrubbed.insert(ASSERTION, secrecy::ExposeSecret::expose_secret(&jwt));
            let answer = send_token_form(http, url, body, None, &scrubbed, limits).await?;
            let expires_at = answer.expires_in.as_ref().and_then(|v| expiry_after(v, now));
            Ok(Issued { token: SecretString::from(answer.access_token), expires_at })
        }
        JwtExchangePlan::Bearer(request) => {
            let jwt = sign(plan, &vars, None, now)?;
            token_answer::request_token(http, request, config, credentials, Some(&jwt), limits, now).await
        }
    }
}

/// The signed JWT: the plan's claims (left out when empty or reading an unset config value),
/// `aud` defaulting to `audience`,
/// `iat` backdated by the plan's skew and `exp` its lifetime later.
pub(crate) fn sign(
    plan: &JwtPlan,
    vars: &Vars<'_>,
    audience: Option<&str>,
    now: DateTime<Utc>,
) -> Result<SecretString, OAuthError> {
    let mut claims = Map::new();
    for (name, template) in &plan.claims {
        // An optional claim (a delegated `sub`) reads a config value the instance may not set.
        let unset = template
            .placeholders()
            .any(|p| p.strip_prefix("config.").is_some_and(|key| !vars.config.contains_key(key)));
        if unset {
            continue;
        }
        let text =
            render_text(template, vars, Escape::Raw).map_err(|e| OAuthError::Config(format!("claim {name}: {e}")))?;
        if text.is_empty() {
            continue;
        }
        let value = if plan.numeric_claims.contains(name) {
            let number = text.trim().parse::<i64>().map_err(|_| {
                OAuthError::Config(format!("claim {name} must be a whole number (it is listed in numericClaims)"))
            })?;
            Value::from(number)
        } else {
            Value::String(text)
        };
        claims.insert(name.clone(), value);
    }
    if let Some(audience) = audience
        && !claims.contains_key("aud")
    {
        claims.insert("aud".to_owned(), Value::String(audience.to_owned()));
    }
    let skew = i64::try_from(plan.skew.as_secs()).unwrap_or(0);
    let lifetime = i64::try_from(plan.lifetime.as_secs()).unwrap_or(0);
    let issued_at = now.timestamp() - skew;
    claims.insert("iat".to_owned(), Value::from(issued_at));
    claims.insert("exp".to_owned(), Value::from(issued_at + lifetime));

    let (algorithm, key) = signing_key(plan, vars.credentials)?;
    let mut header = Header::new(algorithm);
    if let Some(template) = &plan.key_id {
        let kid = render_text(template, vars, Escape::Raw).map_err(|e| OAuthError::Config(format!("keyId: {e}")))?;
        header.kid = Some(kid).filter(|k| !k.is_empty());
    }
    let jwt = jsonwebtoken::encode(&header, &claims, &key).map_err(|e| {
        // The error names what went wrong (the key's kind, an algorithm mismatch), never the key.
        OAuthError::Config(format!("cannot sign the JWT with credential {:?}: {e}", plan.signing_key))
    })?;
    Ok(SecretString::from(jwt))
}

/// The algorithm and the key read from the signing credential. A key pasted from a JSON file
/// (a Google service account's `private_key`) may carry `\n` escapes instead of line breaks.
fn signing_key(plan: &JwtPlan, credentials: &Credentials) -> Result<(Algorithm, EncodingKey), OAuthError> {
    let pem = expose(credentials, &plan.signing_key)
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| OAuthError::MissingCredential(plan.signing_key.clone()))?;
    let pem = if pem.contains("\\n") && !pem.contains('\n') { pem.replace("\\n", "\n") } else { pem.to_owned() };
    let (algorithm, key) = match plan.algorithm {
        JwtAlgorithm::Rs256 => (Algorithm::RS256, EncodingKey::from_rsa_pem(pem.as_bytes())),
        JwtAlgorithm::Rs384 => (Algorithm::RS384, EncodingKey::from_rsa_pem(pem.as_bytes())),
        JwtAlgorithm::Rs512 => (Algorithm::RS512, EncodingKey::from_rsa_pem(pem.as_bytes())),
        JwtAlgorithm::Es256 => (Algorithm::ES256, EncodingKey::from_ec_pem(pem.as_bytes())),
    };
    let kind = if plan.algorithm == JwtAlgorithm::Es256 { "EC (PKCS#8)" } else { "RSA" };
    let key = key.map_err(|_| {
        OAuthError::Config(format!("credential {:?} is not a PEM {kind} private key", plan.signing_key))
    })?;
    Ok((algorithm, key))
}
