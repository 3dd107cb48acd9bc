//! JWTs checked against a JSON Web Key Set fetched from an allowlisted URL, with issuer and
//! audience checks (Google Pub/Sub push OIDC tokens in `Authorization`, Microsoft Graph
//! `validationTokens` in the body). `jsonwebtoken` (already used by the polling engine)
//! decodes and checks the signature; expiry is checked here against the caller's clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::error::VerifyError;
use super::headers::Headers;
use super::key_hosts::KeyHosts;
use crate::jsonpath::CompiledPath;
use crate::mapping::IssueSink;
use crate::model::{Issue, JwtSpec};

/// Accepted clock skew when the descriptor sets no `leewaySeconds`.
const DEFAULT_LEEWAY_SECONDS: u32 = 60;

/// Where the token is.
#[derive(Debug, Clone)]
enum TokenSource {
    Header { name: String, prefix: String },
    Path(CompiledPath),
}

/// A text that may read `{{config.<key>}}`.
#[derive(Debug, Clone)]
struct ConfigText(String);

/// A compiled `jwt` object.
#[derive(Debug, Clone)]
pub(super) struct JwtScheme {
    token: TokenSource,
    jwks_url: String,
    issuers: Vec<ConfigText>,
    audience: ConfigText,
    algorithms: Vec<Algorithm>,
    leeway_seconds: u32,
}

impl JwtScheme {
    /// Compiles the `jwt` object found at `at`; `config_keys` are the descriptor's config fields.
    pub fn compile(spec: &JwtSpec, at: &str, config_keys: &[&str], issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let token = match (&spec.token_header, &spec.token_path) {
            (Some(name), None) => {
                Some(TokenSource::Header { name: name.clone(), prefix: spec.token_prefix.clone().unwrap_or_default() })
            }
            (None, Some(path)) => {
                if spec.token_prefix.is_some() {
                    issues.push(Issue::new(format!("{at}/tokenPrefix"), "applies to tokenHeader only"));
                }
                IssueSink(issues).path(path, format!("{at}/tokenPath")).map(TokenSource::Path)
            }
            _ => {
                issues.push(Issue::new(at, "set exactly one of tokenHeader (e.g. \"Authorization\") and tokenPath"));
                None
            }
        };
        if let Some(hosts) = KeyHosts::compile(&spec.jwks_hosts, &format!("{at}/jwksHosts"), issues)
            && let Err(refused) = hosts.check(&spec.jwks_url)
        {
            issues.push(Issue::new(format!("{at}/jwksUrl"), format!("is not admitted by jwksHosts: {refused}")));
        }
        if spec.issuers.is_empty() {
            issues.push(Issue::new(format!("{at}/issuers"), "must list at least one accepted issuer"));
        }
        let issuers: Vec<ConfigText> = spec
            .issuers
            .iter()
            .enumerate()
            .filter_map(|(i, text)| ConfigText::compile(text, &format!("{at}/issuers/{i}"), config_keys, issues))
            .collect();
        let audience = ConfigText::compile(&spec.audience, &format!("{at}/audience"), config_keys, issues);
        let names = if spec.algorithms.is_empty() { vec!["RS256".to_owned()] } else { spec.algorithms.clone() };
        let mut algorithms = Vec::new();
        for (i, name) in names.iter().enumerate() {
            match name.as_str() {
                "RS256" => algorithms.push(Algorithm::RS256),
                "RS384" => algorithms.push(Algorithm::RS384),
                "RS512" => algorithms.push(Algorithm::RS512),
                "ES256" => algorithms.push(Algorithm::ES256),
                "ES384" => algorithms.push(Algorithm::ES384),
                other => issues.push(Issue::new(
                    format!("{at}/algorithms/{i}"),
                    format!("{other:?} is not an accepted algorithm (RS256, RS384, RS512, ES256, ES384)"),
                )),
            }
        }
        if issues.len() > before {
            return None;
        }
        Some(Self {
            token: token?,
            jwks_url: spec.jwks_url.clone(),
            issuers,
            audience: audience?,
            algorithms,
            leeway_seconds: spec.leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS),
        })
    }

    /// The JWKS URL (checked against `jwksHosts` when the descriptor was compiled).
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// Checks every token of the delivery against the key set.
    pub fn verify(
        &self,
        headers: &Headers,
        body: &[u8],
        config: &BTreeMap<String, String>,
        jwks: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        let tokens = self.tokens(headers, body)?;
        let keys: JwkSet = serde_json::from_slice(jwks)
            .map_err(|_| VerifyError::InvalidKey("the JWKS document is not a JSON Web Key Set".to_owned()))?;
        let issuers: Vec<String> = self.issuers.iter().map(|i| i.render(config)).collect::<Result<_, _>>()?;
        let audience = self.audience.render(config)?;
        for token in tokens {
            self.verify_one(&token, &keys, &issuers, &audience, now)?;
        }
        Ok(())
    }

    fn tokens(&self, headers: &Headers, body: &[u8]) -> Result<Vec<String>, VerifyError> {
        match &self.token {
            TokenSource::Header { name, prefix } => {
                let value = headers
                    .get(name)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| VerifyError::MissingHeader(name.clone()))?;
                let token = value.strip_prefix(prefix.as_str()).ok_or_else(|| VerifyError::MalformedHeader {
                    header: name.clone(),
                    reason: format!("it does not start with {prefix:?}"),
                })?;
                Ok(vec![token.trim().to_owned()])
            }
            TokenSource::Path(path) => {
                let payload: Value = serde_json::from_slice(body)
                    .map_err(|_| VerifyError::MalformedPayload("the body is not JSON".to_owned()))?;
                let tokens: Vec<String> = path
                    .query(&payload)
                    .into_iter()
                    .flat_map(|v| match v {
                        Value::Array(items) => items.clone(),
                        other => vec![other.clone()],
                    })
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                if tokens.is_empty() {
                    return Err(VerifyError::MalformedPayload(format!("it has no token at {}", path.as_str())));
                }
                Ok(tokens)
            }
        }
    }

    fn verify_one(
        &self,
        token: &str,
        keys: &JwkSet,
        issuers: &[String],
        audience: &str,
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        let invalid = |reason: &str| VerifyError::InvalidToken(reason.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("it is not a JWT"))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(invalid(&format!("its algorithm {:?} is not accepted", header.alg)));
        }
        let jwk = match &header.kid {
            Some(kid) => keys.find(kid).ok_or_else(|| invalid("its key id is not in the key set"))?,
            None if keys.keys.len() == 1 => &keys.keys[0],
            None => return Err(invalid("it names no key id and the key set has several keys")),
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("its key in the key set cannot be used"))?;
        let mut validation = Validation::new(header.alg);
        validation.algorithms = self.algorithms.clone();
        validation.set_issuer(issuers);
        validation.set_audience(&[audience]);
        // Expiry is checked below against the caller's clock (so saved deliveries can be replayed).
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::InvalidIssuer => invalid("its issuer is not accepted"),
                ErrorKind::InvalidAudience => invalid("its audience is not the expected one"),
                ErrorKind::MissingRequiredClaim(claim) => invalid(&format!("it has no {claim} claim")),
                ErrorKind::InvalidSignature => VerifyError::NoSignatureMatched,
                _ => invalid("it could not be verified"),
            }
        })?;
        let leeway = i64::from(self.leeway_seconds);
        let now = now.timestamp();
        let claim = |name: &str| claims.claims.get(name).and_then(Value::as_i64);
        if claim("exp").is_none_or(|exp| now > exp.saturating_add(leeway)) {
            return Err(invalid("it has expired"));
        }
        if claim("nbf").is_some_and(|nbf| now < nbf.saturating_sub(leeway)) {
            return Err(invalid("it is not valid yet"));
        }
        Ok(())
    }
}

impl ConfigText {
    fn compile(text: &str, pointer: &str, config_keys: &[&str], issues: &mut Vec<Issue>) -> Option<Self> {
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            let Some(close) = rest[open..].find("}}") else {
                issues.push(Issue::new(pointer, "unclosed \"{{\" (placeholders: {{config.<key>}})"));
                return None;
            };
            let name = rest[open + 2..open + close].trim();
            match name.strip_prefix("config.") {
                Some(key) if config_keys.contains(&key) => {}
                Some(key) => {
                    issues.push(Issue::new(
                        pointer,
                        format!(
                            "{{{{config.{key}}}}} names no declared config field (declared: {})",
                            config_keys.join(", ")
                        ),
                    ));
                    return None;
                }
                None => {
                    issues.push(Issue::new(
                        pointer,
                        format!("unknown placeholder {{{{{name}}}}} (placeholders: {{{{config.<key>}}}})"),
                    ));
                    return None;
                }
            }
            rest = &rest[open + close + 2..];
        }
        Some(Self(text.to_owned()))
    }

    fn render(&self, config: &BTreeMap<String, String>) -> Result<String, VerifyError> {
        let mut out = String::new();
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let close = rest[open..].find("}}").map_or(rest.len(), |c| open + c);
            let key = rest[open + 2..close].trim().trim_start_matches("config.");
            match config.get(key).filter(|v| !v.is_empty()) {
                Some(value) => out.push_str(value),
                None => return Err(VerifyError::MissingConfig(key.to_owned())),
            }
            rest = rest.get(close + 2..).unwrap_or("");
        }
        out.push_str(rest);
        Ok(out)
    }
}
