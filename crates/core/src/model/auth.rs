//! The token-issuing auth methods as authored (extensions): the OAuth 2.0 client credentials
//! grant, JWT-signed assertions (Google service accounts, GitHub App installation tokens) and a
//! login request that returns a session token. Each obtains a token before the API is called;
//! the engine caches it until shortly before it expires and renews it single-flight.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fields::CredentialField;

/// OAuth 2.0 client credentials grant (RFC 6749 §4.4): machine-to-machine, no user consent.
/// The client's id and secret are the credential fields `clientId` and `clientSecret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCredentialsConfig {
    /// Token endpoint (may use `{{baseUrl}}` and `{{config.<key>}}`).
    pub token_url: String,
    /// Scopes requested (sent space-separated as `scope`; none: no `scope` parameter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Credential fields the user must provide: `clientId` and `clientSecret`.
    pub credential_fields: Vec<CredentialField>,
    /// How the client authenticates to the token endpoint (default `body`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<OAuth2ClientAuth>,
    /// Extra form parameters of the token request, as templates, e.g. `"audience":
    /// "https://api.example.com"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub token_params: BTreeMap<String, String>,
}

/// A JWT signed with a private key from the credentials, exchanged for an access token: a
/// Google service account (RFC 7523 grant) or a GitHub App installation token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtAssertionConfig {
    /// Credential fields the user must provide (the private key, and e.g. a client e-mail).
    pub credential_fields: Vec<CredentialField>,
    /// The credential field holding the PEM private key (`-----BEGIN PRIVATE KEY-----` or
    /// `-----BEGIN RSA PRIVATE KEY-----`).
    pub signing_key: String,
    /// Signature algorithm (default `RS256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<JwtAlgorithm>,
    /// Claims as templates (`{{config.<key>}}`, `{{credentials.<key>}}`), e.g. `iss`,
    /// `scope`, `sub`. A claim that renders empty or reads a config value the instance does not
    /// set is left out (an optional `sub`).
    /// `iat` and `exp` are set by the engine; `aud` defaults to the token URL of a
    /// `jwt_bearer_grant`.
    pub claims: BTreeMap<String, String>,
    /// Claims sent as JSON numbers rather than strings (a GitHub App id), e.g. `["iss"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub numeric_claims: Vec<String>,
    /// The JWT header's `kid`, as a template (e.g. `{{credentials.privateKeyId}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Seconds from `iat` to `exp`, 1 to 3600 (default 600; GitHub accepts at most 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3600))]
    pub lifetime_seconds: Option<u32>,
    /// Seconds `iat` is set in the past to allow for clock drift, 0 to 300 (default 0; GitHub
    /// recommends 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 300))]
    pub issued_at_skew_seconds: Option<u32>,
    /// How the signed JWT is exchanged for an access token.
    pub exchange: JwtExchange,
}

/// A JWT signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum JwtAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (Google, GitHub).
    #[serde(rename = "RS256")]
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    #[serde(rename = "RS384")]
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    #[serde(rename = "RS512")]
    Rs512,
    /// ECDSA P-256 with SHA-256 (a PKCS#8 EC key).
    #[serde(rename = "ES256")]
    Es256,
}

/// Where a signed JWT is exchanged for an access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JwtExchange {
    /// RFC 7523: `POST tokenUrl` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
    /// and `assertion=<jwt>`; the answer is an OAuth2 token response (`access_token`,
    /// `expires_in`). Google service accounts.
    JwtBearerGrant(JwtBearerGrant),
    /// A request authenticated with `Authorization: Bearer <jwt>` whose answer holds the token
    /// (GitHub App installation tokens: `POST .../access_tokens`, answer `{token, expires_at}`).
    BearerRequest(BearerTokenRequest),
}

/// The RFC 7523 JWT bearer grant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtBearerGrant {
    /// Token endpoint (may use `{{baseUrl}}` and `{{config.<key>}}`).
    pub token_url: String,
}

/// A token request authenticated by the JWT itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BearerTokenRequest {
    /// URL template, e.g. `{{baseUrl}}/app/installations/{{config.installationId}}/access_tokens`.
    pub url: String,
    /// HTTP method (default `POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<TokenRequestMethod>,
    /// Extra request header templates (e.g. `Accept: application/vnd.github+json`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Where the answer holds the token and its expiry.
    pub answer: TokenAnswerSpec,
}

/// A login request that returns a session token, sent with every API request after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionTokenConfig {
    /// Credential fields the user must provide (e.g. `username` and `password`).
    pub credential_fields: Vec<CredentialField>,
    /// The login request.
    pub login: LoginRequest,
    /// Where the login answer holds the token and its expiry.
    pub answer: TokenAnswerSpec,
    /// How the token is sent with API requests.
    pub delivery: TokenDelivery,
}

/// The login request of a `session_token` auth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    /// URL template, e.g. `{{baseUrl}}/api/login`.
    pub url: String,
    /// HTTP method (default `POST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<TokenRequestMethod>,
    /// Request header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Body template, e.g. `{"user": "{{credentials.username}}", "password":
    /// "{{credentials.password}}"}` (values are escaped for `contentType`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// How the body is encoded (default `json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<LoginContentType>,
}

/// The HTTP method of a token or login request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TokenRequestMethod {
    /// `POST`
    Post,
    /// `GET`
    Get,
}

/// The body encoding of a login request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginContentType {
    /// `application/json`: placeholders are JSON-escaped.
    Json,
    /// `application/x-www-form-urlencoded`: placeholders are form-encoded.
    Form,
}

/// Where a token answer holds the token and its expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenAnswerSpec {
    /// JSONPath to the token in the answer body, e.g. `$.token`. Exactly one of this and
    /// `tokenHeader`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
    /// Response header holding the token, e.g. `X-Subject-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
    /// JSONPath to the expiry time (RFC 3339 or unix seconds), e.g. `$.expires_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_path: Option<String>,
    /// JSONPath to the token's lifetime in seconds, e.g. `$.expires_in`. At most one of this
    /// and `expiresAtPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_path: Option<String>,
    /// Lifetime assumed when the answer names no expiry, in seconds (default: kept until the
    /// API answers 401).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub lifetime_seconds: Option<u32>,
}

/// How an obtained token is sent with API requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TokenDelivery {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// In a header, optionally after a prefix.
    Header(HeaderDelivery),
    /// In a query parameter.
    Query(QueryDelivery),
}

/// A token sent in a header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderDelivery {
    /// Header name, e.g. `X-Auth-Token`.
    pub name: String,
    /// Text before the token, e.g. `Token ` (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A token sent in a query parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryDelivery {
    /// Query parameter name, e.g. `sid`.
    pub name: String,
}

/// Where an OAuth2 client sends its id and secret to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuth2ClientAuth {
    /// `client_id` and `client_secret` in the form body.
    Body,
    /// HTTP Basic with the client id and secret.
    Basic,
}
