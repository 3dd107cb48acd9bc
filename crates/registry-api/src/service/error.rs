//! [`ServiceError`]: why a service operation refused or failed, in domain terms. The routes turn
//! it into an [`ApiError`] (one `From` impl, here), which picks the HTTP status.

use switchboard_core::Issue;
use switchboard_core::ports::StoreError;

use crate::error::ApiError;

/// Why a service operation did not succeed. Messages are shown to the caller: they name records
/// and fields, never a credential value.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// An input does not fit its rule (a category, a project id, a query parameter).
    #[error("{0}")]
    Invalid(String),
    /// The caller may not do this (a descriptor write without admin).
    #[error("{0}")]
    Forbidden(String),
    /// No such record, or one in a project the caller may not see.
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state (built in, still in use, missing client id).
    #[error("{0}")]
    Conflict(String),
    /// A descriptor failed validation: every issue.
    #[error("the descriptor is invalid: {} problem(s)", .0.len())]
    InvalidDescriptor(Vec<Issue>),
    /// Config or credential values do not fit the descriptor's fields.
    #[error("{message}")]
    InvalidFields {
        /// What is wrong, in one sentence.
        message: String,
        /// Each problem, with a JSON pointer into the request body.
        details: Vec<Issue>,
    },
    /// A third-party service (an OAuth2 token endpoint) failed.
    #[error("{0}")]
    Upstream(String),
    /// A store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An unexpected failure, with its cause.
    #[error("{0:#}")]
    Internal(anyhow::Error),
}

impl ServiceError {
    /// An unexpected failure; `context` says what was being done.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        Self::Internal(anyhow::anyhow!("{context}: {cause}"))
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(message) => Self::BadRequest(message),
            ServiceError::Forbidden(message) => Self::Forbidden(message),
            ServiceError::NotFound(message) => Self::NotFound(message),
            ServiceError::Conflict(message) => Self::Conflict(message),
            ServiceError::InvalidDescriptor(issues) => Self::InvalidDescriptor(issues),
            ServiceError::InvalidFields { message, details } => Self::Unprocessable { message, details },
            ServiceError::Upstream(message) => Self::Upstream(message),
            ServiceError::Store(err) => err.into(),
            ServiceError::Internal(cause) => Self::Internal(cause),
        }
    }
}
