//! A compiled verification scheme and the check it runs on each delivery.

use std::collections::BTreeMap;

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use super::error::VerifyError;
use super::headers::{Headers, WebhookRequest};
use super::jwt::JwtScheme;
use super::keys::KeySource;
use super::rsa::RsaScheme;
use super::signature_header::{Layout, Prefix};
use super::signed_content::{Piece, SignedContent, Values};
use crate::model::{HmacAlgorithm, SecretEncoding, SignatureEncoding};

/// Length of an Ed25519 signature in bytes.
const ED25519_SIGNATURE_LEN: usize = 64;

/// A compiled verifier: built once when a descriptor is validated, then run on every delivery.
///
/// Build one with [`Verifier::from_spec`] or [`Verifier::from_webhook_secret`].
#[derive(Debug, Clone)]
pub struct Verifier {
    /// The credential field holding the secret (or the Ed25519 public key), when there is one.
    pub(super) secret_field: Option<String>,
    /// The config field holding the Ed25519 public key, when the key is in the config.
    pub(super) config_key_field: Option<String>,
    pub(super) scheme: Scheme,
}

/// What verification may read besides the request: the instance's secrets (current, then
/// previous), its config, and where fetched keys come from.
#[derive(Clone, Copy)]
pub struct VerifyContext<'a> {
    /// Values of the scheme's credential field, current first.
    pub secrets: &'a [&'a str],
    /// The instance's config.
    pub config: &'a BTreeMap<String, String>,
    /// Where certificates and key sets come from (`None`: schemes that fetch keys fail).
    pub keys: Option<&'a dyn KeySource>,
    /// The current time.
    pub now: DateTime<Utc>,
}

/// What is checked.
#[derive(Debug, Clone)]
pub(super) enum Scheme {
    /// The header holds the shared secret itself.
    Token {
        /// Header holding the token.
        header: String,
        /// Text before the token.
        prefix: Prefix,
    },
    /// The header holds an HMAC (or an Ed25519 signature) of the signed content.
    Hmac(HmacScheme),
    /// RSA over named payload fields, with a fetched certificate.
    Rsa(Box<RsaScheme>),
    /// JWTs checked against a fetched key set.
    Jwt(Box<JwtScheme>),
}

/// What signs the content of an [`HmacScheme`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Primitive {
    /// An HMAC keyed with the shared secret.
    Hmac(HmacAlgorithm),
    /// An Ed25519 signature checked with a hex public key.
    Ed25519,
}

/// An HMAC scheme with every default resolved.
#[derive(Debug, Clone)]
pub(super) struct HmacScheme {
    pub header: String,
    pub primitive: Primitive,
    pub encoding: SignatureEncoding,
    pub layout: Layout,
    pub content: SignedContent,
    pub timestamp: Option<TimestampRule>,
    pub id_header: Option<String>,
    pub secret_encoding: SecretEncoding,
}

/// Where the signed timestamp comes from and how far from now it may be.
#[derive(Debug, Clone)]
pub(super) struct TimestampRule {
    /// `Some(header)` for a header of its own, `None` for the signature header's timestamp entry.
    pub header: Option<String>,
    pub tolerance_seconds: u32,
}

/// The timestamp of one delivery.
#[derive(Debug, Clone, Copy)]
struct SignedTimestamp<'a> {
    /// As received (this is what is signed).
    raw: &'a str,
    /// Parsed unix seconds.
    seconds: i64,
    tolerance_seconds: u32,
}

impl Verifier {
    /// The credential field holding the secret (or public key), when the scheme reads one.
    pub fn secret_field(&self) -> Option<&str> {
        self.secret_field.as_deref()
    }

    /// The config field holding the Ed25519 public key, when the key is in the config.
    pub fn config_key_field(&self) -> Option<&str> {
        self.config_key_field.as_deref()
    }

    /// The URL of the key set a `jwt` scheme fetches (for tools that serve it from a file).
    pub fn jwks_url(&self) -> Option<&str> {
        match &self.scheme {
            Scheme::Jwt(jwt) => Some(jwt.jwks_url()),
            _ => None,
        }
    }

    /// Verifies a delivery with everything a scheme may need: secrets, the instance config (an
    /// Ed25519 key kept there, a JWT audience) and fetched keys (an SNS certificate, a JWKS).
    pub async fn verify_with(&self, request: &WebhookRequest<'_>, ctx: &VerifyContext<'_>) -> Result<(), VerifyError> {
        match &self.scheme {
            Scheme::Rsa(rsa) => {
                let payload = serde_json::from_slice(request.body)
                    .map_err(|_| VerifyError::MalformedPayload("the body is not JSON".to_owned()))?;
                let url = rsa.certificate_url(&payload)?;
                let certificate = fetch(ctx.keys, &url).await?;
                rsa.verify(&payload, &certificate)
            }
            Scheme::Jwt(jwt) => {
                let jwks = fetch(ctx.keys, jwt.jwks_url()).await?;
                jwt.verify(request.headers, request.body, ctx.config, &jwks, ctx.now)
            }
            Scheme::Token { .. } | Scheme::Hmac(_) => match &self.config_key_field {
                Some(field) => {
                    let key = ctx.config.get(field).map(String::as_str).unwrap_or_default();
                    self.verify(request, &[key], ctx.now)
                }
                None => self.verify(request, ctx.secrets, ctx.now),
            },
        }
    }

    /// Verifies a delivery. `secrets` are tried in order (current, then previous), so a
    /// delivery signed with either verifies during a rotation; empty secrets are ignored.
    ///
    /// `now` is the current time, passed in so tests and replays control the clock.
    pub fn verify(
        &self,
        request: &WebhookRequest<'_>,
        secrets: &[&str],
        now: DateTime<Utc>,
    ) -> Result<(), VerifyError> {
        if matches!(self.scheme, Scheme::Rsa(_) | Scheme::Jwt(_)) {
            return Err(VerifyError::KeyUnavailable("this scheme fetches its key, and no key source was given".into()));
        }
        let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
        if secrets.is_empty() {
            return Err(VerifyError::NoSecretConfigured);
        }
        match &self.scheme {
            Scheme::Token { header, prefix } => verify_token(request.headers, header, prefix, &secrets),
            Scheme::Hmac(scheme) => scheme.verify(request, &secrets, now),
            Scheme::Rsa(_) | Scheme::Jwt(_) => Err(VerifyError::NoSignatureMatched),
        }
    }
}

fn verify_token(headers: &Headers, header: &str, prefix: &Prefix, secrets: &[&str]) -> Result<(), VerifyError> {
    let value = required_header(headers, header)?;
    let token =
        prefix.strip(value.trim()).ok_or_else(|| malformed(header, "it does not start with the expected prefix"))?;
    // `ct_eq` on slices of different lengths is false; only the length can leak, and it is public.
    if secrets.iter().any(|secret| bool::from(token.as_bytes().ct_eq(secret.as_bytes()))) {
        Ok(())
    } else {
        Err(VerifyError::NoSignatureMatched)
    }
}

impl HmacScheme {
    fn verify(&self, request: &WebhookRequest<'_>, secrets: &[&str], now: DateTime<Utc>) -> Result<(), VerifyError> {
        let headers = request.headers;
        let parsed =
            self.layout.parse(required_header(headers, &self.header)?).map_err(|r| malformed(&self.header, r))?;
        let timestamp = match &self.timestamp {
            None => None,
            Some(rule) => {
                let (name, raw) = match &rule.header {
                    Some(name) => (name.as_str(), required_header(headers, name)?),
                    // The layout already reported a missing timestamp entry.
                    None => (self.header.as_str(), parsed.timestamp.unwrap_or_default()),
                };
                let seconds = parse_unix_seconds(raw)
                    .ok_or_else(|| malformed(name, "its timestamp is not a whole number of unix seconds"))?;
                Some(SignedTimestamp { raw, seconds, tolerance_seconds: rule.tolerance_seconds })
            }
        };
        let id = match &self.id_header {
            Some(name) => required_header(headers, name)?,
            None => "",
        };
        let url = match request.url {
            _ if !self.content.uses(Piece::Url) => "",
            Some(url) => url,
            None => return Err(VerifyError::UrlUnknown),
        };

        let candidates = self.decode_signatures(&parsed.signatures);
        if candidates.is_empty() {
            let reason = format!("it has no {} signature of {} bytes", self.encoding.as_str(), self.signature_len());
            return Err(malformed(&self.header, reason));
        }

        let values = Values { body: request.body, timestamp: timestamp.map(|t| t.raw).unwrap_or_default(), id, url };
        let algorithm = match self.primitive {
            Primitive::Hmac(algorithm) => algorithm,
            Primitive::Ed25519 => return verify_ed25519(&self.content, &values, &candidates, secrets, timestamp, now),
        };
        let mut unusable_reason = None;
        let mut usable = false;
        for secret in secrets {
            let key = match decode_secret(secret, self.secret_encoding) {
                Ok(key) => key,
                Err(reason) => {
                    unusable_reason = Some(reason);
                    continue;
                }
            };
            usable = true;
            let mac = SignedMac::new(algorithm, &key, &self.content, &values)?;
            if candidates.iter().any(|candidate| mac.matches(candidate)) {
                return check_tolerance(timestamp, now);
            }
        }
        match unusable_reason {
            Some(reason) if !usable => Err(VerifyError::UnusableSecret(reason)),
            _ => Err(VerifyError::NoSignatureMatched),
        }
    }

    /// Decodes candidate signatures, dropping those of the wrong encoding or length (Stripe and
    /// PagerDuty ignore unreadable entries too).
    fn decode_signatures(&self, signatures: &[&str]) -> Vec<Vec<u8>> {
        signatures
            .iter()
            .filter_map(|signature| match self.encoding {
                SignatureEncoding::Hex => hex::decode(signature).ok(),
                SignatureEncoding::Base64 => BASE64.decode(signature).ok(),
            })
            .filter(|bytes| bytes.len() == self.signature_len())
            .collect()
    }

    fn signature_len(&self) -> usize {
        match self.primitive {
            Primitive::Hmac(algorithm) => algorithm.digest_len(),
            Primitive::Ed25519 => ED25519_SIGNATURE_LEN,
        }
    }
}

/// Checks Ed25519 candidates with each configured public key (hex, 32 bytes).
fn verify_ed25519(
    content: &SignedContent,
    values: &Values<'_>,
    candidates: &[Vec<u8>],
    public_keys: &[&str],
    timestamp: Option<SignedTimestamp<'_>>,
    now: DateTime<Utc>,
) -> Result<(), VerifyError> {
    let mut message = Vec::new();
    content.feed(values, |bytes| message.extend_from_slice(bytes));
    let keys: Vec<Vec<u8>> =
        public_keys.iter().filter_map(|key| hex::decode(key.trim()).ok()).filter(|key| key.len() == 32).collect();
    if keys.is_empty() {
        return Err(VerifyError::InvalidKey("the public key is not 32 bytes of hex".to_owned()));
    }
    let verified = keys.iter().any(|key| {
        let key = UnparsedPublicKey::new(&ED25519, key);
        candidates.iter().any(|candidate| key.verify(&message, candidate).is_ok())
    });
    if verified { check_tolerance(timestamp, now) } else { Err(VerifyError::NoSignatureMatched) }
}

/// The document at `url`, from the key source.
async fn fetch(keys: Option<&dyn KeySource>, url: &str) -> Result<std::sync::Arc<Vec<u8>>, VerifyError> {
    let keys = keys.ok_or_else(|| VerifyError::KeyUnavailable("no key source is configured".to_owned()))?;
    keys.key_document(url).await.map_err(|error| VerifyError::KeyUnavailable(error.to_string()))
}

/// An HMAC already fed with the signed content, ready to compare against candidates.
enum SignedMac {
    Sha256(Hmac<sha2::Sha256>),
    Sha1(Hmac<sha1::Sha1>),
}

impl SignedMac {
    fn new(
        algorithm: HmacAlgorithm,
        key: &[u8],
        content: &SignedContent,
        values: &Values<'_>,
    ) -> Result<Self, VerifyError> {
        // HMAC accepts keys of any length, so this error cannot happen in practice.
        let invalid_key = |_| VerifyError::UnusableSecret("it is not a valid HMAC key");
        Ok(match algorithm {
            HmacAlgorithm::HmacSha256 => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).map_err(invalid_key)?;
                content.feed(values, |bytes| mac.update(bytes));
                Self::Sha256(mac)
            }
            HmacAlgorithm::HmacSha1 => {
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).map_err(invalid_key)?;
                content.feed(values, |bytes| mac.update(bytes));
                Self::Sha1(mac)
            }
        })
    }

    /// Constant-time comparison with one candidate signature.
    fn matches(&self, candidate: &[u8]) -> bool {
        match self {
            Self::Sha256(mac) => mac.clone().verify_slice(candidate).is_ok(),
            Self::Sha1(mac) => mac.clone().verify_slice(candidate).is_ok(),
        }
    }
}

/// Rejects an authentic delivery whose signed timestamp is too far from `now`. Checked after the
/// signature, so a stale but authentic delivery is reported as stale rather than as forged.
fn check_tolerance(timestamp: Option<SignedTimestamp<'_>>, now: DateTime<Utc>) -> Result<(), VerifyError> {
    if let Some(SignedTimestamp { seconds, tolerance_seconds, .. }) = timestamp {
        let skew_seconds = now.timestamp().saturating_sub(seconds);
        if skew_seconds.unsigned_abs() > u64::from(tolerance_seconds) {
            return Err(VerifyError::TimestampOutsideTolerance { skew_seconds, tolerance_seconds });
        }
    }
    Ok(())
}

/// Turns a stored secret into the HMAC key; the error never contains the secret.
fn decode_secret(secret: &str, encoding: SecretEncoding) -> Result<Vec<u8>, &'static str> {
    let key = match encoding {
        SecretEncoding::Raw => secret.as_bytes().to_vec(),
        SecretEncoding::Base64 => BASE64.decode(secret).map_err(|_| "it is not valid base64")?,
        SecretEncoding::Whsec => {
            let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
            BASE64.decode(encoded).map_err(|_| "it is not a whsec_ secret (whsec_ followed by base64)")?
        }
    };
    if key.is_empty() {
        return Err("it decodes to an empty key");
    }
    Ok(key)
}

/// Unix seconds written as plain digits (what Slack, Stripe and Standard Webhooks send).
fn parse_unix_seconds(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

fn required_header<'h>(headers: &'h Headers, name: &str) -> Result<&'h str, VerifyError> {
    match headers.get(name) {
        Some(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(VerifyError::MissingHeader(name.to_owned())),
    }
}

fn malformed(header: &str, reason: impl Into<String>) -> VerifyError {
    VerifyError::MalformedHeader { header: header.to_owned(), reason: reason.into() }
}
