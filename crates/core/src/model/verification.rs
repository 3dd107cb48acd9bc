//! The JSON shape of a webhook signature scheme (`ingestion.webhook.verification` as an object).
//!
//! Field names and enum values are a contract: descriptors are written against them. New fields
//! must be optional.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::signature_family::{JwtSpec, RsaSpec};

/// A webhook signature scheme described as data (the JSON field names are a contract: built-in
/// descriptors use them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationSpec {
    /// `hmac` (default): an HMAC of the signed content; `token`: the header holds the secret itself
    /// (GitLab), compared in constant time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<SchemeKind>,
    /// Header carrying the signature (or token). Required by `hmac`, `token` and `ed25519`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_header: Option<String>,
    /// Credential field holding the secret. Required by `hmac` and `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_field: Option<String>,
    /// HMAC algorithm (default `hmac-sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<HmacAlgorithm>,
    /// Signature encoding (default `hex`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<SignatureEncoding>,
    /// Prefix before each signature, e.g. `sha256=`, `v0=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// What is signed (default `{body}`); placeholders `{body}`, `{timestamp}`, `{id}`, `{url}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_content: Option<String>,
    /// How signatures are laid out in the header (default `plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_format: Option<SignatureFormat>,
    /// Header carrying the timestamp (Slack, Standard Webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
    /// Header carrying the message id (Standard Webhooks `webhook-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_header: Option<String>,
    /// Accepted clock skew in seconds when a timestamp is signed (default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_seconds: Option<u32>,
    /// How the stored secret is turned into the HMAC key (default `raw`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_encoding: Option<SecretEncoding>,
    /// `ed25519`: the config or credential field holding the hex public key (Discord's
    /// application public key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_field: Option<String>,
    /// `rsa`: where the signature, certificate and signed fields are (Amazon SNS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsa: Option<RsaSpec>,
    /// `jwt`: where the token is and what it must say (Google Pub/Sub push, Microsoft Graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtSpec>,
}

/// Verification scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemeKind {
    /// HMAC over the signed content.
    Hmac,
    /// Plain shared token in a header.
    Token,
    /// Ed25519 signature of the signed content, checked with a public key (Discord).
    Ed25519,
    /// RSA signature of named payload fields, checked with a fetched certificate (Amazon SNS).
    Rsa,
    /// A JWT checked against a fetched JSON Web Key Set (Google Pub/Sub push, Microsoft Graph).
    Jwt,
}

/// HMAC algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum HmacAlgorithm {
    /// HMAC-SHA256.
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    /// HMAC-SHA1 (legacy GitHub, Trello).
    #[serde(rename = "hmac-sha1")]
    HmacSha1,
}

/// Signature encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    /// Lower- or upper-case hex.
    Hex,
    /// Standard base64.
    Base64,
}

/// Layout of the signature header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SignatureFormat {
    /// The header is one signature (after `prefix`).
    Plain,
    /// `key=value` pairs: Stripe `t=..,v1=..,v1=..`, PagerDuty `v1=..,v1=..`.
    #[serde(rename_all = "camelCase")]
    KeyValue {
        /// Separator between pairs (default `,`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pair_separator: Option<String>,
        /// Key of signature entries (e.g. `v1`); several entries may be present.
        signature_key: String,
        /// Key of the timestamp entry (Stripe `t`), if the header carries it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp_key: Option<String>,
    },
    /// Space-separated `version,signature` entries: Standard Webhooks `v1,<b64> v1,<b64>`.
    #[serde(rename_all = "camelCase")]
    List {
        /// Separator between entries (default a space).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        separator: Option<String>,
        /// Version tag of accepted entries, including its delimiter (e.g. `v1,`).
        version_prefix: String,
    },
}

/// How the stored secret becomes the HMAC key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SecretEncoding {
    /// The secret's UTF-8 bytes.
    Raw,
    /// Standard base64.
    Base64,
    /// Standard Webhooks: `whsec_` prefix followed by base64.
    Whsec,
}

impl HmacAlgorithm {
    /// The JSON name, e.g. `hmac-sha256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HmacSha256 => "hmac-sha256",
            Self::HmacSha1 => "hmac-sha1",
        }
    }

    /// Length of a signature in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            Self::HmacSha256 => 32,
            Self::HmacSha1 => 20,
        }
    }
}

impl SignatureEncoding {
    /// The JSON name, e.g. `hex`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hex => "hex",
            Self::Base64 => "base64",
        }
    }
}
