//! Polling failures and their classification, which the caller records on the instance's health.
//!
//! Messages never contain secret values: URLs are shown without their query string and any
//! credential value found in text taken from a response is replaced by `***`.

use std::time::Duration;

use serde::Serialize;

/// What a failure means for the instance, and so what the caller should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The credentials are missing, rejected or expired for good: the user must re-authorise.
    Auth,
    /// The descriptor or the instance configuration is wrong (a 4xx, a path that matches
    /// nothing): retrying will not help until someone fixes it.
    Config,
    /// A network error, a timeout, a 5xx or a garbled response: retry on the next run.
    Transient,
    /// The API asked us to slow down: retry after [`PollError::retry_after`].
    RateLimited,
}

impl FailureClass {
    /// The snake_case name used in JSON and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Config => "config",
            Self::Transient => "transient",
            Self::RateLimited => "rate_limited",
        }
    }
}

/// Why a poll (or one of its pages) failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PollError {
    /// The descriptor has no polling part (class config).
    #[error("connector {0:?} does not poll")]
    NotPolling(String),
    /// The connector polls over HTTP, but this process was built without a polling driver (the
    /// webhook gateway and the normaliser never poll) (class config).
    #[error("connector {0:?} cannot poll here: this process has no HTTP polling driver")]
    NoDriver(String),
    /// The descriptor, config or checkpoint cannot produce a request (class config).
    #[error("{0}")]
    Config(String),
    /// A credential the auth method needs is not set (class auth).
    #[error("credential {0:?} is not set")]
    MissingCredential(String),
    /// The API rejected the credentials (401) or refused access (403) (class auth).
    #[error("{endpoint} answered HTTP {status}: the credentials were rejected")]
    Unauthorized {
        /// The request URL without its query.
        endpoint: String,
        /// 401 or 403.
        status: u16,
    },
    /// The OAuth2 token endpoint failed; its own error says how (class per [`OAuthError`]).
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The API answered a 4xx other than 401/403/429 (class config).
    #[error("{endpoint} answered HTTP {status}: {detail}")]
    Rejected {
        /// The request URL without its query.
        endpoint: String,
        /// The status code.
        status: u16,
        /// The start of the response body, secrets removed.
        detail: String,
    },
    /// The API kept answering 429 (or a rate-limit 403/503) (class rate limited).
    #[error("{endpoint} is rate limiting us{}", retry_after.map(|d| format!("; retry after {} s", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The request URL without its query.
        endpoint: String,
        /// How long the API asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The API kept answering 5xx (class transient).
    #[error("{endpoint} answered HTTP {status} after {attempts} attempt(s)")]
    Server {
        /// The request URL without its query.
        endpoint: String,
        /// The last status code.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The request could not be completed: connection failure or timeout (class transient).
    #[error("request to {endpoint} failed after {attempts} attempt(s): {message}")]
    Network {
        /// The request URL without its query.
        endpoint: String,
        /// What went wrong.
        message: String,
        /// Whether it was a timeout.
        timeout: bool,
        /// Attempts made.
        attempts: u32,
    },
    /// The response body is not JSON (class transient).
    #[error("{endpoint} answered with a body that is not valid JSON: {message}")]
    MalformedJson {
        /// The request URL without its query.
        endpoint: String,
        /// The parser's message.
        message: String,
    },
    /// The descriptor's `itemsPath` matched nothing in the response (class config).
    #[error("{endpoint}: the descriptor's itemsPath {items_path:?} matched nothing in the response")]
    NoItems {
        /// The request URL without its query.
        endpoint: String,
        /// The JSONPath.
        items_path: String,
    },
    /// A response rule of the descriptor failed the request (class as the rule says).
    #[error("{endpoint} answered HTTP {status}: {rule}")]
    Declared {
        /// The request URL without its query.
        endpoint: String,
        /// The status code.
        status: u16,
        /// The class the rule gave.
        class: FailureClass,
        /// The rule, as `responseRules[i]` with its message, and what happened.
        rule: String,
    },
    /// A response body was larger than the engine accepts (class config: the same request
    /// would be as large next time).
    #[error(
        "{endpoint} answered with more than {limit} bytes, more than one page may hold; ask for smaller pages (the descriptor's page size parameter)"
    )]
    TooLarge {
        /// The request URL without its query.
        endpoint: String,
        /// The limit in bytes.
        limit: usize,
    },
}

impl PollError {
    /// The failure class the caller records on the instance's health.
    pub fn class(&self) -> FailureClass {
        match self {
            Self::NotPolling(_)
            | Self::NoDriver(_)
            | Self::Config(_)
            | Self::Rejected { .. }
            | Self::NoItems { .. }
            | Self::TooLarge { .. } => FailureClass::Config,
            Self::MissingCredential(_) | Self::Unauthorized { .. } => FailureClass::Auth,
            Self::OAuth(e) => e.class(),
            Self::Declared { class, .. } => *class,
            Self::RateLimited { .. } => FailureClass::RateLimited,
            Self::Server { .. } | Self::Network { .. } | Self::MalformedJson { .. } => FailureClass::Transient,
        }
    }

    /// How long to wait before polling again, when the API said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::OAuth(e) => e.retry_after(),
            _ => None,
        }
    }

    /// Whether the user must re-authorise the instance (an OAuth2 `invalid_grant`, a rejected
    /// or missing credential).
    pub fn needs_reauth(&self) -> bool {
        self.class() == FailureClass::Auth
    }
}

/// Why a token could not be obtained. Never contains a token or client secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OAuthError {
    /// The grant is gone (`invalid_grant`, no refresh token): the user must connect again
    /// (class auth).
    #[error("re-authorisation needed: {0}")]
    ReauthNeeded(String),
    /// The token endpoint rejected the client or request, e.g. `invalid_client` (class auth).
    #[error("the token endpoint rejected the request: {0}")]
    Rejected(String),
    /// A credential the flow needs is not set (class auth).
    #[error("credential {0:?} is not set")]
    MissingCredential(String),
    /// The token endpoint is down or unreachable: 5xx or network error (class transient).
    #[error("token endpoint {endpoint} is unavailable: {message}")]
    Unavailable {
        /// Token URL without its query.
        endpoint: String,
        /// What went wrong.
        message: String,
    },
    /// The token endpoint answered 429 (class rate limited).
    #[error("token endpoint {endpoint} is rate limiting us")]
    RateLimited {
        /// Token URL without its query.
        endpoint: String,
        /// How long it asked us to wait.
        retry_after: Option<Duration>,
    },
    /// The token endpoint's answer has no usable token (class transient).
    #[error("token endpoint {endpoint} answered without a usable token: {message}")]
    BadResponse {
        /// Token URL without its query.
        endpoint: String,
        /// What was wrong.
        message: String,
    },
    /// The token URL cannot be built from the descriptor and config (class config).
    #[error("{0}")]
    Config(String),
}

impl OAuthError {
    /// The failure class, as for [`PollError::class`].
    pub fn class(&self) -> FailureClass {
        match self {
            Self::ReauthNeeded(_) | Self::Rejected(_) | Self::MissingCredential(_) => FailureClass::Auth,
            Self::Unavailable { .. } | Self::BadResponse { .. } => FailureClass::Transient,
            Self::RateLimited { .. } => FailureClass::RateLimited,
            Self::Config(_) => FailureClass::Config,
        }
    }

    /// How long to wait, when the token endpoint said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
