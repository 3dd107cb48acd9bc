//! The compiled token-issuing auth methods: the OAuth2 client credentials grant, JWT-signed
//! assertions and session logins. Each says how to obtain a token (a compiled request) and
//! where its answer holds the token and expiry; `switchboard-poll` sends the requests.

use std::collections::BTreeSet;
use std::time::Duration;

use super::scope::RequestScope;
use crate::jsonpath::CompiledPath;
use crate::model::{
    ClientCredentialsConfig, Issue, JwtAlgorithm, JwtAssertionConfig, JwtExchange, LoginContentType, OAuth2ClientAuth,
    SessionTokenConfig, TokenAnswerSpec, TokenDelivery, TokenRequestMethod,
};
use crate::template::Template;

/// Longest JWT lifetime a descriptor may ask for (Google's limit: one hour).
pub const MAX_JWT_LIFETIME_SECONDS: u32 = 3600;
/// JWT lifetime when the descriptor sets none: within GitHub's ten-minute limit.
pub const DEFAULT_JWT_LIFETIME_SECONDS: u32 = 600;
/// Largest backdating of a JWT's `iat`.
pub const MAX_JWT_SKEW_SECONDS: u32 = 300;
/// Claims the engine sets itself.
pub const ENGINE_CLAIMS: &[&str] = &["iat", "exp"];
/// Form parameters of a client credentials request that the engine sets itself.
const ENGINE_PARAMS: &[&str] = &["grant_type", "client_id", "client_secret", "scope"];

/// A compiled `oauth2_client_credentials` auth.
#[derive(Debug, Clone)]
pub struct ClientCredentialsPlan {
    /// Token endpoint.
    pub token_url: Template,
    /// Scopes requested (space-separated in `scope`).
    pub scopes: Vec<String>,
    /// How the client id and secret reach the token endpoint.
    pub client_auth: OAuth2ClientAuth,
    /// Extra form parameters.
    pub token_params: Vec<(String, Template)>,
}

/// A compiled `jwt_assertion` auth.
#[derive(Debug, Clone)]
pub struct JwtPlan {
    /// Credential field holding the PEM private key.
    pub signing_key: String,
    /// Signature algorithm.
    pub algorithm: JwtAlgorithm,
    /// Templated claims (`iat` and `exp` are added by the engine).
    pub claims: Vec<(String, Template)>,
    /// Claims sent as JSON numbers.
    pub numeric_claims: BTreeSet<String>,
    /// The header's `kid`.
    pub key_id: Option<Template>,
    /// From `iat` to `exp`.
    pub lifetime: Duration,
    /// How far `iat` is backdated.
    pub skew: Duration,
    /// How the JWT becomes an access token.
    pub exchange: JwtExchangePlan,
}

/// A compiled JWT exchange.
#[derive(Debug, Clone)]
pub enum JwtExchangePlan {
    /// RFC 7523 grant at a token endpoint.
    Grant {
        /// Token endpoint (also the default `aud`).
        token_url: Template,
    },
    /// A request sent with `Authorization: Bearer <jwt>`.
    Bearer(Box<TokenRequestPlan>),
}

impl JwtExchangePlan {
    /// The URL the JWT is sent to.
    pub fn url(&self) -> &Template {
        match self {
            Self::Grant { token_url } => token_url,
            Self::Bearer(request) => &request.url,
        }
    }
}

/// A compiled `session_token` auth.
#[derive(Debug, Clone)]
pub struct SessionTokenPlan {
    /// The login request.
    pub login: TokenRequestPlan,
    /// How the token is sent with API requests.
    pub delivery: TokenDelivery,
}

/// A compiled request that answers with a token.
#[derive(Debug, Clone)]
pub struct TokenRequestPlan {
    /// URL template.
    pub url: Template,
    /// `POST` or `GET`.
    pub method: TokenRequestMethod,
    /// Header templates.
    pub headers: Vec<(String, Template)>,
    /// Body template.
    pub body: Option<Template>,
    /// Body encoding.
    pub content_type: LoginContentType,
    /// Where the answer holds the token.
    pub answer: TokenAnswerPlan,
}

/// Where a token answer holds the token and its expiry.
#[derive(Debug, Clone)]
pub struct TokenAnswerPlan {
    /// The token.
    pub token: TokenLocation,
    /// The expiry, if the answer names one.
    pub expiry: Option<ExpiryLocation>,
    /// Lifetime assumed when the answer names none.
    pub default_lifetime: Option<Duration>,
}

/// Where the token is.
#[derive(Debug, Clone)]
pub enum TokenLocation {
    /// A JSONPath into the body.
    Body(CompiledPath),
    /// A response header.
    Header(String),
}

/// Where the expiry is.
#[derive(Debug, Clone)]
pub enum ExpiryLocation {
    /// An absolute time (RFC 3339 or unix seconds).
    At(CompiledPath),
    /// A lifetime in seconds.
    In(CompiledPath),
}

/// Checks that `text` looks like an http(s) URL (or starts with a placeholder) and compiles it.
fn url(scope: &RequestScope<'_>, text: &str, at: &str, issues: &mut Vec<Issue>) -> Option<Template> {
    if !(text.starts_with("https://") || text.starts_with("http://") || text.starts_with("{{")) {
        issues.push(Issue::new(at, format!("{text:?} is not an http(s) URL")));
    }
    scope.template(text, at, &["baseUrl"], issues)
}

fn declared_credential(scope: &RequestScope<'_>, key: &str, at: &str, issues: &mut Vec<Issue>) {
    if !scope.has_credential(key) {
        issues.push(Issue::new(
            at,
            format!(
                "credential field {key:?} is not declared in credentialFields (declared: {})",
                listed(&scope.credential_keys())
            ),
        ));
    }
}

fn listed(keys: &[&str]) -> String {
    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
}

fn templates<'a>(
    scope: &RequestScope<'_>,
    entries: impl IntoIterator<Item = (&'a String, &'a String)>,
    at: &str,
    issues: &mut Vec<Issue>,
) -> Option<Vec<(String, Template)>> {
    let mut out = Vec::new();
    let mut ok = true;
    for (name, text) in entries {
        let pointer = format!("{at}/{}", crate::model::escape_pointer(name));
        match scope.template(text, &pointer, &["baseUrl"], issues) {
            Some(template) => out.push((name.clone(), template)),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn header_names<'a>(names: impl IntoIterator<Item = &'a String>, at: &str, issues: &mut Vec<Issue>) {
    for name in names {
        if !is_header_name(name) {
            issues.push(Issue::new(
                format!("{at}/{}", crate::model::escape_pointer(name)),
                format!("{name:?} is not a valid HTTP header name"),
            ));
        }
    }
}

/// RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn path(text: &str, at: &str, issues: &mut Vec<Issue>) -> Option<CompiledPath> {
    CompiledPath::parse(text).map_err(|e| issues.push(Issue::new(at, e))).ok()
}

impl ClientCredentialsPlan {
    /// Checks and compiles a client credentials config; problems go to `issues`.
    pub fn compile(c: &ClientCredentialsConfig, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<Self> {
        let token_url = url(scope, &c.token_url, "/auth/config/tokenUrl", issues);
        for key in ["clientId", "clientSecret"] {
            if !scope.has_credential(key) {
                issues.push(Issue::new(
                    "/auth/config/credentialFields",
                    format!("the client credentials grant needs a credential field {key:?}"),
                ));
            }
        }
        for name in c.token_params.keys().filter(|k| ENGINE_PARAMS.contains(&k.as_str())) {
            issues.push(Issue::new(
                format!("/auth/config/tokenParams/{}", crate::model::escape_pointer(name)),
                format!("{name:?} is set by the engine (from scopes and the client credentials); remove it"),
            ));
        }
        let token_params = templates(scope, &c.token_params, "/auth/config/tokenParams", issues);
        Some(Self {
            token_url: token_url?,
            scopes: c.scopes.clone(),
            client_auth: c.client_auth.unwrap_or(OAuth2ClientAuth::Body),
            token_params: token_params?,
        })
    }
}

impl JwtPlan {
    /// Checks and compiles a JWT assertion config; problems go to `issues`.
    pub fn compile(c: &JwtAssertionConfig, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        declared_credential(scope, &c.signing_key, "/auth/config/signingKey", issues);
        for name in c.claims.keys().filter(|k| ENGINE_CLAIMS.contains(&k.as_str())) {
            issues.push(Issue::new(
                format!("/auth/config/claims/{name}"),
                format!("`{name}` is set by the engine (from lifetimeSeconds and issuedAtSkewSeconds); remove it"),
            ));
        }
        if c.claims.is_empty() {
            issues.push(Issue::new("/auth/config/claims", "declare at least the issuer claim `iss`"));
        }
        for (i, name) in c.numeric_claims.iter().enumerate() {
            if !c.claims.contains_key(name) {
                issues.push(Issue::new(
                    format!("/auth/config/numericClaims/{i}"),
                    format!(
                        "{name:?} is not one of the claims ({})",
                        c.claims.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        let lifetime = c.lifetime_seconds.unwrap_or(DEFAULT_JWT_LIFETIME_SECONDS);
        if !(1..=MAX_JWT_LIFETIME_SECONDS).contains(&lifetime) {
            issues.push(Issue::new(
                "/auth/config/lifetimeSeconds",
                format!("{lifetime} is out of range: a JWT may live 1 to {MAX_JWT_LIFETIME_SECONDS} seconds"),
            ));
        }
        let skew = c.issued_at_skew_seconds.unwrap_or(0);
        if skew > MAX_JWT_SKEW_SECONDS {
            issues.push(Issue::new(
                "/auth/config/issuedAtSkewSeconds",
                format!("{skew} is out of range: `iat` may be set 0 to {MAX_JWT_SKEW_SECONDS} seconds in the past"),
            ));
        }
        let claims = templates(scope, &c.claims, "/auth/config/claims", issues);
        let key_id = c.key_id.as_ref().map(|k| scope.template(k, "/auth/config/keyId", &["baseUrl"], issues));
        let exchange = match &c.exchange {
            JwtExchange::JwtBearerGrant(grant) => {
                url(scope, &grant.token_url, "/auth/config/exchange/tokenUrl", issues)
                    .map(|token_url| JwtExchangePlan::Grant { token_url })
            }
            JwtExchange::BearerRequest(request) => {
                let at = "/auth/config/exchange";
                header_names(request.headers.keys(), &format!("{at}/headers"), issues);
                let url = url(scope, &request.url, &format!("{at}/url"), issues);
                let headers = templates(scope, &request.headers, &format!("{at}/headers"), issues);
                let answer = TokenAnswerPlan::compile(&request.answer, &format!("{at}/answer"), issues);
                match (url, headers, answer) {
                    (Some(url), Some(headers), Some(answer)) => {
                        Some(JwtExchangePlan::Bearer(Box::new(TokenRequestPlan {
                            url,
                            method: request.method.unwrap_or(TokenRequestMethod::Post),
                            headers,
                            body: None,
                            content_type: LoginContentType::Json,
                            answer,
                        })))
                    }
                    _ => None,
                }
            }
        };
        let key_id = match key_id {
            Some(Some(template)) => Some(template),
            Some(None) => return None,
            None => None,
        };
        let plan = Self {
            signing_key: c.signing_key.clone(),
            algorithm: c.algorithm.unwrap_or(JwtAlgorithm::Rs256),
            claims: claims?,
            numeric_claims: c.numeric_claims.iter().cloned().collect(),
            key_id,
            lifetime: Duration::from_secs(u64::from(lifetime)),
            skew: Duration::from_secs(u64::from(skew)),
            exchange: exchange?,
        };
        (issues.len() == before).then_some(plan)
    }
}

impl SessionTokenPlan {
    /// Checks and compiles a session token config; problems go to `issues`.
    pub fn compile(c: &SessionTokenConfig, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let at = "/auth/config/login";
        let method = c.login.method.unwrap_or(TokenRequestMethod::Post);
        if method == TokenRequestMethod::Get && c.login.body.is_some() {
            issues.push(Issue::new(format!("{at}/body"), "a GET login request cannot have a body: use POST"));
        }
        header_names(c.login.headers.keys(), &format!("{at}/headers"), issues);
        let url = url(scope, &c.login.url, &format!("{at}/url"), issues);
        let headers = templates(scope, &c.login.headers, &format!("{at}/headers"), issues);
        let body = c.login.body.as_ref().map(|b| scope.template(b, &format!("{at}/body"), &["baseUrl"], issues));
        let answer = TokenAnswerPlan::compile(&c.answer, "/auth/config/answer", issues);
        match &c.delivery {
            TokenDelivery::Bearer => {}
            TokenDelivery::Header(header) => {
                if !is_header_name(&header.name) {
                    issues.push(Issue::new(
                        "/auth/config/delivery/name",
                        format!("{:?} is not a valid HTTP header name", header.name),
                    ));
                }
            }
            TokenDelivery::Query(query) => {
                if query.name.trim().is_empty() {
                    issues.push(Issue::new("/auth/config/delivery/name", "must not be empty"));
                }
            }
        }
        if issues.len() != before {
            return None;
        }
        Some(Self {
            login: TokenRequestPlan {
                url: url?,
                method,
                headers: headers?,
                body: body.flatten(),
                content_type: c.login.content_type.unwrap_or(LoginContentType::Json),
                answer: answer?,
            },
            delivery: c.delivery.clone(),
        })
    }
}

impl TokenAnswerPlan {
    /// Checks and compiles where a token answer holds the token; `at` points at the spec.
    pub fn compile(spec: &TokenAnswerSpec, at: &str, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let token = match (&spec.token_path, &spec.token_header) {
            (Some(p), None) => path(p, &format!("{at}/tokenPath"), issues).map(TokenLocation::Body),
            (None, Some(h)) if is_header_name(h) => Some(TokenLocation::Header(h.clone())),
            (None, Some(h)) => {
                issues.push(Issue::new(format!("{at}/tokenHeader"), format!("{h:?} is not a valid HTTP header name")));
                None
            }
            (Some(_), Some(_)) => {
                issues.push(Issue::new(at, "set only one of `tokenPath` (body) and `tokenHeader` (header)"));
                None
            }
            (None, None) => {
                issues.push(Issue::new(
                    at,
                    "missing required field `tokenPath` or `tokenHeader`: where the answer holds the token",
                ));
                None
            }
        };
        let expiry = match (&spec.expires_at_path, &spec.expires_in_path) {
            (Some(p), None) => path(p, &format!("{at}/expiresAtPath"), issues).map(ExpiryLocation::At),
            (None, Some(p)) => path(p, &format!("{at}/expiresInPath"), issues).map(ExpiryLocation::In),
            (Some(_), Some(_)) => {
                issues.push(Issue::new(at, "set only one of `expiresAtPath` and `expiresInPath`"));
                None
            }
            (None, None) => None,
        };
        if spec.lifetime_seconds == Some(0) {
            issues.push(Issue::new(format!("{at}/lifetimeSeconds"), "must be at least 1 second"));
        }
        let plan = Self {
            token: token?,
            expiry,
            default_lifetime: spec.lifetime_seconds.map(|s| Duration::from_secs(u64::from(s))),
        };
        (issues.len() == before).then_some(plan)
    }
}

/// The URL templates of the token-issuing methods' requests, with their pointers (for the
/// `allowedHosts` check of URLs that name their host literally).
pub fn token_urls(auth: &crate::model::AuthDescriptor) -> Vec<(&str, &'static str)> {
    use crate::model::AuthDescriptor;
    match auth {
        AuthDescriptor::Oauth2ClientCredentials(c) => vec![(c.token_url.as_str(), "/auth/config/tokenUrl")],
        AuthDescriptor::JwtAssertion(c) => match &c.exchange {
            JwtExchange::JwtBearerGrant(g) => vec![(g.token_url.as_str(), "/auth/config/exchange/tokenUrl")],
            JwtExchange::BearerRequest(r) => vec![(r.url.as_str(), "/auth/config/exchange/url")],
        },
        AuthDescriptor::SessionToken(c) => vec![(c.login.url.as_str(), "/auth/config/login/url")],
        _ => Vec::new(),
    }
}
