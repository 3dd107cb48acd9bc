//! The compiled outgoing auth of a connector: which credential goes where on each request, and
//! for the methods that obtain a token first (OAuth2, client credentials, JWT assertions,
//! session logins) the compiled token requests ([`super::token_auth`]).

use std::collections::BTreeMap;

use super::scope::RequestScope;
use super::token_auth::{ClientCredentialsPlan, JwtPlan, SessionTokenPlan};
use crate::model::{ApiKeyDelivery, AuthDescriptor, Issue, OAuth2ClientAuth, PatDelivery};
use crate::template::Template;

/// How requests to the connector's API are authenticated.
#[derive(Debug, Clone)]
pub enum AuthPlan {
    /// No credentials on requests (also `webhook_secret`, which authenticates incoming
    /// deliveries, not our requests).
    None,
    /// An API key from credential `credential`.
    ApiKey {
        /// The credential field holding the key.
        credential: String,
        /// Header, query parameter or bearer.
        delivery: ApiKeyDelivery,
        /// Header or query parameter name.
        param_name: String,
    },
    /// A personal access token from credential `credential`.
    Pat {
        /// The credential field holding the token.
        credential: String,
        /// Header or bearer.
        delivery: PatDelivery,
        /// Header name.
        param_name: String,
    },
    /// HTTP Basic from two credential fields.
    Basic {
        /// The credential field holding the user name.
        username: String,
        /// The credential field holding the password.
        password: String,
    },
    /// An OAuth2 bearer token, refreshed as needed.
    OAuth2(OAuth2Plan),
    /// A bearer token from the OAuth2 client credentials grant.
    ClientCredentials(ClientCredentialsPlan),
    /// A bearer token obtained with a signed JWT.
    JwtAssertion(JwtPlan),
    /// A session token from a login request.
    SessionToken(SessionTokenPlan),
}

/// Compiled OAuth2 settings.
#[derive(Debug, Clone)]
pub struct OAuth2Plan {
    /// Where the user is sent to authorise (may use `{{baseUrl}}` and `{{config.*}}`).
    pub authorise_url: Template,
    /// Token endpoint for code exchange and refresh.
    pub token_url: Template,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// How the client authenticates to the token endpoint.
    pub client_auth: OAuth2ClientAuth,
    /// Extra query parameters of the authorisation URL.
    pub authorise_params: BTreeMap<String, String>,
    /// Whether the authorisation-code flow uses PKCE (S256): on unless the descriptor says
    /// `"pkce": false`.
    pub pkce: bool,
}

impl AuthPlan {
    /// Checks and compiles `auth`; problems go to `issues`.
    pub fn compile(auth: &AuthDescriptor, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let first_field = || auth.credential_fields().first().map(|f| f.key.clone()).unwrap_or_else(|| "apiKey".into());
        let plan = match auth {
            AuthDescriptor::ApiKey(c) => {
                credential_ref(scope, c.credential_key.as_deref(), "/auth/config/credentialKey", true, issues);
                non_empty(&c.param_name, "/auth/config/paramName", issues);
                Self::ApiKey {
                    credential: c.credential_key.clone().unwrap_or_else(first_field),
                    delivery: c.delivery,
                    param_name: c.param_name.clone(),
                }
            }
            AuthDescriptor::Pat(c) => {
                credential_ref(scope, c.credential_key.as_deref(), "/auth/config/credentialKey", true, issues);
                non_empty(&c.param_name, "/auth/config/paramName", issues);
                Self::Pat {
                    credential: c.credential_key.clone().unwrap_or_else(first_field),
                    delivery: c.delivery,
                    param_name: c.param_name.clone(),
                }
            }
            AuthDescriptor::Basic(c) => {
                let username = c.username_key.clone().unwrap_or_else(|| "username".into());
                let password = c.password_key.clone().unwrap_or_else(|| "password".into());
                credential_ref(scope, Some(&username), "/auth/config/usernameKey", false, issues);
                credential_ref(scope, Some(&password), "/auth/config/passwordKey", false, issues);
                Self::Basic { username, password }
            }
            AuthDescriptor::Oauth2(c) => {
                let mut url = |text: &str, at: &str| {
                    if !(text.starts_with("https://") || text.starts_with("http://") || text.contains("{{")) {
                        issues.push(Issue::new(at, format!("{text:?} is not an http(s) URL")));
                    }
                    scope.template(text, at, &["baseUrl"], issues)
                };
                let authorise_url = url(&c.authorise_url, "/auth/config/authoriseUrl");
                let token_url = url(&c.token_url, "/auth/config/tokenUrl");
                for key in ["clientId", "clientSecret"] {
                    if !scope.has_credential(key) {
                        issues.push(Issue::new(
                            "/auth/config/credentialFields",
                            format!("OAuth2 needs a credential field {key:?}"),
                        ));
                    }
                }
                Self::OAuth2(OAuth2Plan {
                    authorise_url: authorise_url?,
                    token_url: token_url?,
                    scopes: c.scopes.clone(),
                    client_auth: c.client_auth.unwrap_or(OAuth2ClientAuth::Body),
                    authorise_params: c.authorise_params.clone(),
                    pkce: c.pkce.unwrap_or(true),
                })
            }
            AuthDescriptor::WebhookSecret(c) => {
                credential_ref(scope, None, "/auth/config/credentialFields", true, issues);
                if let Some(algorithm) = &c.algorithm
                    && !matches!(algorithm.as_str(), "hmac-sha256" | "hmac-sha1")
                {
                    issues.push(Issue::new(
                        "/auth/config/algorithm",
                        format!("unknown algorithm {algorithm:?} (expected hmac-sha256 or hmac-sha1)"),
                    ));
                }
                Self::None
            }
            AuthDescriptor::None => Self::None,
            AuthDescriptor::Oauth2ClientCredentials(c) => {
                Self::ClientCredentials(ClientCredentialsPlan::compile(c, scope, issues)?)
            }
            AuthDescriptor::JwtAssertion(c) => Self::JwtAssertion(JwtPlan::compile(c, scope, issues)?),
            AuthDescriptor::SessionToken(c) => Self::SessionToken(SessionTokenPlan::compile(c, scope, issues)?),
        };
        (issues.len() == before).then_some(plan)
    }

    /// The URL template of the request that obtains a token (the OAuth2 or client credentials
    /// token URL, a JWT's exchange URL, the login URL), for the methods that obtain one.
    pub fn token_endpoint(&self) -> Option<&Template> {
        match self {
            Self::OAuth2(plan) => Some(&plan.token_url),
            Self::ClientCredentials(plan) => Some(&plan.token_url),
            Self::JwtAssertion(plan) => Some(plan.exchange.url()),
            Self::SessionToken(plan) => Some(&plan.login.url),
            Self::None | Self::ApiKey { .. } | Self::Pat { .. } | Self::Basic { .. } => None,
        }
    }

    /// The OAuth2 settings, when the connector uses OAuth2.
    pub fn oauth2(&self) -> Option<&OAuth2Plan> {
        match self {
            Self::OAuth2(plan) => Some(plan),
            _ => None,
        }
    }
}

fn credential_ref(
    scope: &RequestScope<'_>,
    key: Option<&str>,
    pointer: &str,
    fallback_first: bool,
    issues: &mut Vec<Issue>,
) {
    match key {
        Some(k) if !scope.has_credential(k) => {
            issues.push(Issue::new(pointer, format!("credential field {k:?} is not declared in credentialFields")));
        }
        None if fallback_first && scope.credential_keys().is_empty() => {
            issues.push(Issue::new("/auth/config/credentialFields", "at least one credential field is required"));
        }
        _ => {}
    }
}

fn non_empty(value: &str, pointer: &str, issues: &mut Vec<Issue>) {
    if value.trim().is_empty() {
        issues.push(Issue::new(pointer, "must not be empty"));
    }
}
