//! [`ApiError`]: every way a request can fail, its HTTP status, and the JSON error body of
//! DESIGN.md §6 (`{"error": {"code", "message", "details"}}`, the [`ErrorBody`] of
//! `switchboard-http-error`, shared with the webhook gateway).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use switchboard_core::Issue;
use switchboard_core::ports::StoreError;
pub use switchboard_http_error::{ErrorBody, ErrorContent, ErrorDetail};

/// A failed request. Each variant documents its status; [`IntoResponse`] renders the JSON body.
///
/// Messages are shown to the caller, so they name records and fields but never a credential
/// value; internal causes are logged and answered with a generic message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `bad_request`: the request is malformed (JSON syntax, query parameter, path segment).
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthenticated`: no valid bearer token or authorizer claims.
    #[error("authentication required: send a valid bearer token")]
    Unauthenticated,
    /// 403 `forbidden`: authenticated but not allowed, e.g. a descriptor write without admin.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`: no such record, or one in a project the caller may not see (whose
    /// existence is not revealed).
    #[error("{0}")]
    NotFound(String),
    /// 404 `unknown_route`: no route has this path.
    #[error("no route for {0}")]
    UnknownRoute(String),
    /// 413 `payload_too_large`: the request body is over the limit (2 MiB).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 405 `method_not_allowed`: the path exists but not with this method.
    #[error("method not allowed for this path")]
    MethodNotAllowed,
    /// 409 `conflict`: the request clashes with the current state (record exists, built in,
    /// still in use).
    #[error("{0}")]
    Conflict(String),
    /// 422 `invalid_descriptor`: a descriptor failed validation; `details` lists every issue.
    #[error("the descriptor is invalid: {} problem(s)", .0.len())]
    InvalidDescriptor(Vec<Issue>),
    /// 422 `invalid_request`: the body is well-formed JSON but its values do not fit (missing
    /// required fields, unknown keys); `details` points at each.
    #[error("{message}")]
    Unprocessable {
        /// What is wrong, in one sentence.
        message: String,
        /// Each problem, with a JSON pointer into the request body.
        details: Vec<Issue>,
    },
    /// 502 `upstream_error`: a third-party service (an OAuth2 token endpoint) failed.
    #[error("{0}")]
    Upstream(String),
    /// 500 `internal`: logged with its cause, answered with a generic message.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A 500 for an unexpected failure; `context` says what was being done.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{context}: {cause}"))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::UnknownRoute(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::InvalidDescriptor(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::UnknownRoute(_) => "unknown_route",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Conflict(_) => "conflict",
            Self::InvalidDescriptor(_) => "invalid_descriptor",
            Self::Unprocessable { .. } => "invalid_request",
            Self::Upstream(_) => "upstream_error",
            Self::Internal(_) => "internal",
        }
    }

    /// The body sent to the caller.
    pub fn body(&self) -> ErrorBody {
        let details = match self {
            Self::InvalidDescriptor(issues) | Self::Unprocessable { details: issues, .. } => {
                issues.iter().map(|i| ErrorDetail::new(i.pointer.clone(), i.message.clone())).collect()
            }
            _ => Vec::new(),
        };
        let message = match self {
            Self::Internal(_) => "internal error; the cause has been logged".to_owned(),
            other => other.to_string(),
        };
        ErrorBody::new(self.code(), message, details)
    }
}

impl ApiError {
    /// Logs what the caller is not told: internal causes (error) and upstream failures (warn).
    pub fn log(&self) {
        match self {
            Self::Internal(cause) => tracing::error!(error = format!("{cause:#}"), "request failed"),
            Self::Upstream(message) => tracing::warn!(error = %message, "upstream service failed"),
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, Self::Unauthenticated) {
            // RFC 6750 §3: tell the client which scheme to use.
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { .. } => Self::NotFound(err.to_string()),
            StoreError::AlreadyExists { .. } | StoreError::BuiltInProtected { .. } | StoreError::ConditionFailed(_) => {
                Self::Conflict(err.to_string())
            }
            StoreError::Invalid(message) => Self::BadRequest(message),
            StoreError::SendFailed { .. } | StoreError::Corrupt(_) | StoreError::Backend { .. } => {
                Self::Internal(anyhow::Error::new(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_answer_a_generic_message() {
        let body = ApiError::internal("reading instance", "connection refused to db.internal:5432").body();
        assert_eq!(body.error.code, "internal");
        assert!(!body.error.message.contains("db.internal"));
    }

    #[test]
    fn descriptor_issues_become_details() {
        let err = ApiError::InvalidDescriptor(vec![Issue::new("/id", "must be kebab case")]);
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            err.body().error.details,
            [ErrorDetail { pointer: "/id".into(), message: "must be kebab case".into() }]
        );
    }

    #[test]
    fn store_errors_map_to_statuses() {
        assert_eq!(ApiError::from(StoreError::not_found("x")).status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::from(StoreError::already_exists("x")).status(), StatusCode::CONFLICT);
        let backend = StoreError::backend("reading", std::io::Error::other("boom"));
        assert_eq!(ApiError::from(backend).status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
