//! [`GatewayError`]: every way a delivery can be refused, mapped to its HTTP status and the JSON
//! error body of DESIGN.md §6 (`switchboard-http-error`, shared with the registry API) in one
//! place.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_core::catalog::CatalogError;
use switchboard_core::ports::StoreError;
use switchboard_core::webhook::VerifyError;
use switchboard_http_error::{ErrorBody, ErrorDetail};

/// Why the gateway refused a request. Each variant names its status; internal causes are
/// logged when the response is built and never sent to the caller.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// **404** `not_found`: no enabled instance of a webhook connector at this path. Unknown
    /// connector, unknown project, disabled instance and a connector without webhooks all get
    /// this same answer, so the response reveals nothing about what exists.
    #[error("no webhook endpoint for connector `{connector_id}` in project `{project_id}`")]
    NotFound {
        /// The connector id in the path.
        connector_id: String,
        /// The project id in the path.
        project_id: String,
    },
    /// **404** `not_found`: the path is not a webhook route.
    #[error("no route for this path")]
    RouteNotFound,
    /// **405** `method_not_allowed`: webhooks are `POST`; `GET` and `HEAD` are probes.
    #[error("method not allowed; deliver webhooks with POST")]
    MethodNotAllowed,
    /// **413** `payload_too_large`: the body (or its `Content-Length`) exceeds the limit.
    #[error("the body exceeds the limit of {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// **400** `body_unreadable`: the body could not be read to its end.
    #[error("the request body could not be read")]
    BodyUnreadable,
    /// **429** `rate_limited` with `Retry-After`: this instance received too many verified
    /// deliveries in the current window.
    #[error("too many deliveries for this endpoint; retry after {} s", retry_after_seconds(*retry_after))]
    RateLimited {
        /// Time until the window ends.
        retry_after: Duration,
    },
    /// **429** `rate_limited` with `Retry-After`: this request was not verified, and this
    /// instance or this source address sent too many unverified requests in the current window.
    /// (Verified deliveries are counted apart and never get this answer.)
    #[error(
        "too many unauthenticated requests for this endpoint; retry after {} s",
        retry_after_seconds(*retry_after)
    )]
    UnverifiedRateLimited {
        /// Time until the window ends.
        retry_after: Duration,
    },
    /// **401** `unauthorized`: the signature (or token) did not verify, or no secret is
    /// configured to verify it with (logged as a configuration problem).
    #[error("the delivery could not be authenticated")]
    Unauthorized(#[source] VerifyError),
    /// **400** `missing_delivery_id`: an authenticated delivery the connector would ingest
    /// lacks the delivery id its descriptor names, so it could not be told from a replay.
    #[error("the delivery carries no delivery id (expected in the {expected_in})")]
    MissingDeliveryId {
        /// Where the descriptor says it is.
        expected_in: String,
    },
    /// **503** `delivery_in_progress` with `Retry-After`: another copy of this delivery is being
    /// enqueued right now; retrying later gets its outcome (2xx `duplicate` once it is in).
    #[error("another copy of this delivery is being accepted right now; retry later")]
    DeliveryInProgress {
        /// How long the caller is asked to wait.
        retry_after: Duration,
    },
    /// **400** `invalid_json`: an authenticated body that is not JSON.
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    /// **503** `unavailable` with `Retry-After`: a store or the ingest queue failed; the
    /// delivery was not accepted and the provider should retry.
    #[error("the webhook could not be accepted right now; retry later")]
    Unavailable {
        /// What was being done, for the log.
        action: &'static str,
        /// How long the caller is asked to wait.
        retry_after: Duration,
        /// The store's error (logged, never returned).
        #[source]
        source: StoreError,
    },
    /// **503** `key_unavailable` with `Retry-After`: the key verifying this delivery (a
    /// certificate, a key set) could not be fetched; the provider should retry.
    #[error("the delivery's verification key could not be fetched right now; retry later")]
    KeyUnavailable {
        /// Why (logged, never returned).
        #[source]
        reason: VerifyError,
        /// How long the caller is asked to wait.
        retry_after: Duration,
    },
    /// **502** `handshake_failed`: a handshake that confirms a subscription by GET could not
    /// confirm it; nothing was enqueued, and the provider may send it again.
    #[error("the subscription could not be confirmed: {0}")]
    HandshakeFailed(String),
    /// **500** `internal`: a stored descriptor cannot be used (it no longer validates, or
    /// needs a native implementation missing from this build).
    #[error("internal error")]
    Internal(#[source] CatalogError),
}

impl GatewayError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } | Self::RouteNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyUnreadable | Self::InvalidJson(_) | Self::MissingDeliveryId { .. } => StatusCode::BAD_REQUEST,
            Self::RateLimited { .. } | Self::UnverifiedRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Unavailable { .. } | Self::DeliveryInProgress { .. } | Self::KeyUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::HandshakeFailed(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable `code` of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } | Self::RouteNotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::RateLimited { .. } | Self::UnverifiedRateLimited { .. } => "rate_limited",
            Self::Unauthorized(_) => "unauthorized",
            Self::InvalidJson(_) => "invalid_json",
            Self::MissingDeliveryId { .. } => "missing_delivery_id",
            Self::DeliveryInProgress { .. } => "delivery_in_progress",
            Self::Unavailable { .. } => "unavailable",
            Self::KeyUnavailable { .. } => "key_unavailable",
            Self::HandshakeFailed(_) => "handshake_failed",
            Self::Internal(_) => "internal",
        }
    }

    /// `Retry-After`, for the errors that have one.
    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after }
            | Self::UnverifiedRateLimited { retry_after }
            | Self::DeliveryInProgress { retry_after }
            | Self::Unavailable { retry_after, .. }
            | Self::KeyUnavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Details safe to show the caller: why verification failed (about the delivery as a whole,
    /// pointer `""`), unless the reason is the instance's own configuration (that is for the
    /// operator's log, not for the internet).
    fn details(&self) -> Vec<ErrorDetail> {
        match self {
            Self::Unauthorized(reason) if is_configuration(reason) => Vec::new(),
            Self::Unauthorized(reason) => vec![ErrorDetail::whole(reason.to_string())],
            _ => Vec::new(),
        }
    }

    /// Logs what the caller is not told.
    fn log(&self) {
        match self {
            Self::Unauthorized(reason) if is_configuration(reason) => {
                tracing::error!(error = %reason, "webhook refused: configuration problem, the instance has no usable webhook secret or key");
            }
            Self::KeyUnavailable { reason, .. } => {
                tracing::error!(error = %reason, "webhook refused: its verification key could not be fetched");
            }
            Self::Unauthorized(reason) => tracing::warn!(error = %reason, "webhook refused: verification failed"),
            Self::Unavailable { action, source, .. } => {
                tracing::error!(action, error = %source, "webhook refused: backend unavailable");
            }
            Self::Internal(source) => tracing::error!(error = %source, "webhook refused: internal error"),
            Self::RateLimited { .. } => tracing::warn!("webhook refused: rate limited"),
            // A flood of these is what the limit is for: one line each at debug level only.
            Self::UnverifiedRateLimited { .. } => tracing::debug!("webhook refused: unverified requests rate limited"),
            other => tracing::info!(status = other.status().as_u16(), error = %other, "webhook refused"),
        }
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody::new(self.code(), self.to_string(), self.details());
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(wait) = self.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds(wait)));
        }
        response
    }
}

/// Whether a verification failure is the instance's own configuration (for the operator's log,
/// not for the caller).
fn is_configuration(reason: &VerifyError) -> bool {
    matches!(
        reason,
        VerifyError::NoSecretConfigured
            | VerifyError::UnusableSecret(_)
            | VerifyError::InvalidKey(_)
            | VerifyError::MissingConfig(_)
    )
}

/// Whole seconds for `Retry-After`, rounded up and at least 1 (0 would invite an instant retry).
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(41_200)), 42);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn configuration_problems_are_not_explained_to_the_caller() {
        assert!(GatewayError::Unauthorized(VerifyError::NoSecretConfigured).details().is_empty());
        let mismatch = GatewayError::Unauthorized(VerifyError::MissingHeader("X-Hub-Signature-256".into()));
        assert_eq!(mismatch.details(), [ErrorDetail::whole("header X-Hub-Signature-256 is missing or empty")]);
    }
}
