//! Webhook signature verification driven by descriptor data.
//!
//! PLACEHOLDER interface, replaced by the full implementation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::descriptor::Issue;

/// A webhook signature scheme described as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationSpec {
    /// Header carrying the signature.
    pub signature_header: String,
    /// Credential field holding the secret.
    pub secret_field: String,
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
