//! The JSON shape of the public-key signature families of a verification object: RSA over a
//! canonical string of named payload fields with a fetched certificate (Amazon SNS), and JWTs
//! checked against a fetched JWKS (Google Pub/Sub push, Microsoft Graph validation tokens).
//! Ed25519 (Discord) needs no object of its own: it uses the scheme object's header fields.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// RSA signatures over named payload fields, with the signing certificate fetched from a URL in
/// the payload (scheme `rsa`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RsaSpec {
    /// JSONPath to the base64 signature in the payload, e.g. `$.Signature`.
    pub signature_path: String,
    /// JSONPath to the certificate URL in the payload, e.g. `$.SigningCertURL`.
    pub certificate_url_path: String,
    /// Host patterns a certificate URL must match (`https` only); `*` stands for exactly one
    /// DNS label (`sns.*.amazonaws.com`).
    pub certificate_hosts: Vec<String>,
    /// JSONPath to the signature version in the payload, e.g. `$.SignatureVersion`.
    pub version_path: String,
    /// The algorithm of each signature version, e.g. `{"1": "rsa-sha1", "2": "rsa-sha256"}`.
    pub versions: BTreeMap<String, RsaAlgorithm>,
    /// JSONPath to the message type in the payload, e.g. `$.Type`.
    pub type_path: String,
    /// Per message type, the payload members signed, in order: each present member is signed
    /// as its name, a newline, its value and a newline; absent members are skipped.
    pub signed_fields: BTreeMap<String, Vec<String>>,
}

/// An RSA signature algorithm (PKCS #1 v1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RsaAlgorithm {
    /// SHA-1 with RSA (SNS `SignatureVersion` 1).
    #[serde(rename = "rsa-sha1")]
    RsaSha1,
    /// SHA-256 with RSA (SNS `SignatureVersion` 2).
    #[serde(rename = "rsa-sha256")]
    RsaSha256,
}

/// A JWT checked against a JSON Web Key Set fetched from an allowlisted URL (scheme `jwt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtSpec {
    /// Header carrying the token (Google Pub/Sub push: `Authorization`). One of this and
    /// `tokenPath`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_header: Option<String>,
    /// Text before the token in `tokenHeader`, e.g. `Bearer `.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_prefix: Option<String>,
    /// JSONPath to the token(s) in the payload (Microsoft Graph: `$.validationTokens[*]`);
    /// every token found must verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_path: Option<String>,
    /// The JWKS URL (`https`), e.g. `https://www.googleapis.com/oauth2/v3/certs`.
    pub jwks_url: String,
    /// Host patterns the JWKS URL must match; `*` stands for exactly one DNS label.
    pub jwks_hosts: Vec<String>,
    /// Accepted `iss` values; `{{config.<key>}}` reads the instance's config.
    pub issuers: Vec<String>,
    /// The required `aud`; `{{config.<key>}}` reads the instance's config.
    pub audience: String,
    /// Accepted algorithms (default `["RS256"]`): `RS256`, `RS384`, `RS512`, `ES256`, `ES384`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
    /// Accepted clock skew in seconds for `exp` / `nbf` (default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leeway_seconds: Option<u32>,
}
