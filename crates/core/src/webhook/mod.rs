//! Webhook signature verification driven by descriptor data.
//!
//! PLACEHOLDER interface, replaced by the full implementation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::descriptor::Issue;

/// A webhook signature scheme described as data (the JSON field names are a contract: built-in
/// descriptors use them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationSpec {
    /// `hmac` (default): an HMAC of the signed content; `token`: the header holds the secret itself
    /// (GitLab), compared in constant time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<SchemeKind>,
    /// Header carrying the signature (or token).
    pub signature_header: String,
    /// Credential field holding the secret.
    pub secret_field: String,
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
}

/// Verification scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SchemeKind {
    /// HMAC over the signed content.
    Hmac,
    /// Plain shared token in a header.
    Token,
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

/// A compiled verifier.
#[derive(Debug, Clone)]
pub struct Verifier {
    secret_field: String,
}

impl Verifier {
    /// Compiles a scheme object; `pointer` locates it for error messages.
    pub fn from_spec(spec: &VerificationSpec, pointer: &str, credential_keys: &[&str]) -> Result<Self, Vec<Issue>> {
        if !credential_keys.contains(&spec.secret_field.as_str()) {
            return Err(vec![Issue::new(format!("{pointer}/secretField"), "unknown credential field")]);
        }
        Ok(Self { secret_field: spec.secret_field.clone() })
    }

    /// Builds the verifier for the specification's `signature` / `token` keywords from
    /// `auth.webhook_secret`.
    pub fn from_webhook_secret(
        _keyword: crate::descriptor::model::VerificationKeyword,
        config: &crate::descriptor::model::WebhookSecretConfig,
        _pointer: &str,
    ) -> Result<Self, Vec<Issue>> {
        Ok(Self { secret_field: config.credential_fields.first().map(|f| f.key.clone()).unwrap_or_default() })
    }

    /// The credential field holding the secret.
    pub fn secret_field(&self) -> &str {
        &self.secret_field
    }
}

/// Request headers, looked up case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// Builds from name/value pairs.
    pub fn new<N: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (N, V)>) -> Self {
        Self { entries: pairs.into_iter().map(|(n, v)| (n.into().to_ascii_lowercase(), v.into())).collect() }
    }

    /// The first value of a header.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.entries.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// What a verifier sees of a delivery.
#[derive(Debug, Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// Request headers.
    pub headers: &'a Headers,
    /// Raw body bytes, exactly as received.
    pub body: &'a [u8],
    /// The public URL the provider called (some schemes sign it).
    pub url: Option<&'a str>,
}

/// Why a delivery failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The connector does not receive webhooks.
    #[error("this connector does not receive webhooks")]
    NotAWebhookConnector,
    /// No signature matched.
    #[error("signature does not match")]
    Mismatch,
}

impl Verifier {
    /// Verifies a delivery against the given secrets.
    pub fn verify(
        &self,
        _request: &WebhookRequest<'_>,
        _secrets: &[&str],
        _now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), VerifyError> {
        Err(VerifyError::Mismatch)
    }
}
