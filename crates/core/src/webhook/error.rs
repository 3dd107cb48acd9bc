//! Why a delivery failed verification.

/// Why a delivery failed verification.
///
/// Messages name headers and describe shapes; they never contain a secret, an expected
/// signature or a received header value, so they are safe to log and to return to the caller.
/// Every variant but [`NotAWebhookConnector`](Self::NotAWebhookConnector) and
/// [`NoSecretConfigured`](Self::NoSecretConfigured) means "reject the delivery" (HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The connector does not receive webhooks.
    #[error("this connector does not receive webhooks")]
    NotAWebhookConnector,
    /// No non-empty secret was given to verify with.
    #[error("no webhook secret is configured for this instance")]
    NoSecretConfigured,
    /// None of the given secrets can be turned into a key (e.g. not valid base64).
    #[error("the configured webhook secret cannot be used: {0}")]
    UnusableSecret(&'static str),
    /// A header the scheme needs is absent or empty.
    #[error("header {0} is missing or empty")]
    MissingHeader(String),
    /// A header is present but not in the scheme's format.
    #[error("header {header} is malformed: {reason}")]
    MalformedHeader {
        /// Header name.
        header: String,
        /// What is wrong with its shape.
        reason: String,
    },
    /// The signed timestamp is too far from the current time (a replay, or a skewed clock).
    #[error(
        "timestamp is {} s {} the current time; at most {tolerance_seconds} s is accepted",
        .skew_seconds.unsigned_abs(),
        if *.skew_seconds >= 0 { "before" } else { "after" }
    )]
    TimestampOutsideTolerance {
        /// Current time minus the delivery's timestamp, in seconds (positive: in the past).
        skew_seconds: i64,
        /// Accepted skew in seconds.
        tolerance_seconds: u32,
    },
    /// The scheme signs the request URL, but the caller did not provide it.
    #[error("the scheme signs the request URL, but the URL of this delivery is unknown")]
    UrlUnknown,
    /// Well-formed signatures were present, but none matched any secret.
    #[error("no signature matched")]
    NoSignatureMatched,
    /// The payload lacks what the scheme signs or names (a signed member, a certificate URL).
    #[error("the payload is malformed: {0}")]
    MalformedPayload(String),
    /// The payload names a key URL outside the scheme's host patterns.
    #[error("the key URL is not trusted: {0}")]
    UntrustedKeyUrl(String),
    /// A key (configured public key, fetched certificate or key set) cannot be used.
    #[error("the verification key cannot be used: {0}")]
    InvalidKey(String),
    /// The key document could not be fetched (retryable: the provider should send again).
    #[error("the verification key could not be fetched: {0}")]
    KeyUnavailable(String),
    /// A JWT was not accepted (signature aside: issuer, audience, expiry, key id).
    #[error("the token is not accepted: {0}")]
    InvalidToken(String),
    /// The scheme reads an instance config value the instance does not set.
    #[error("the instance config has no value for {0:?}, which verification needs")]
    MissingConfig(String),
}
