//! [`PollerError`]: every reason polling an instance (or a whole run) fails, with its retry
//! class in one place.

use switchboard_core::IdError;
use switchboard_core::catalog::CatalogError;
use switchboard_core::polling::{FailureClass, PollError};
use switchboard_core::ports::StoreError;

pub use switchboard_core::retry_class::RetryClass;

/// Why an instance's poll (or a whole run) failed. Messages never contain credential values: the
/// polling engine and the stores keep them out of their errors.
#[derive(Debug, thiserror::Error)]
pub enum PollerError {
    /// A store failed while doing `action` (retryable).
    #[error("{action} failed: {source}")]
    Store {
        /// What was being done, e.g. `reading the checkpoint`.
        action: &'static str,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The descriptor could not be loaded: retryable when the registry failed.
    #[error("cannot load connector `{connector_id}`: {source}")]
    Catalog {
        /// The connector id.
        connector_id: String,
        /// Why.
        #[source]
        source: CatalogError,
    },
    /// The stored instance's connector or project id breaks the id rules (non-retryable).
    #[error("the instance cannot be polled: {0}")]
    InvalidInstance(#[source] IdError),
    /// The descriptor was deleted after the run listed it (non-retryable).
    #[error("connector `{0}` is no longer registered")]
    UnknownConnector(String),
    /// The API or the engine failed; the class follows [`PollError::class`].
    #[error(transparent)]
    Poll(#[from] PollError),
    /// The ingest queue did not take every item of a page; the checkpoint stays where it was
    /// (retryable).
    #[error("the ingest queue did not accept the page's items: {0}")]
    Enqueue(#[source] StoreError),
    /// Another poller advanced the checkpoint in between; this run stops (non-retryable: the
    /// other run carries on).
    #[error("another poller advanced the checkpoint; this run stopped: {0}")]
    CheckpointConflict(#[source] StoreError),
    /// The lease expired or was taken over; this run stops (retryable).
    #[error("the poll lease was lost: {0}")]
    LeaseLost(#[source] StoreError),
    /// The instance used up its share of the run ([`crate::PollerSettings::instance_budget`])
    /// waiting for a request; the request was abandoned (retryable).
    #[error("the instance used up its {0:?} budget in this run; the request in flight was abandoned")]
    BudgetExceeded(std::time::Duration),
    /// Refreshed OAuth2 tokens could not be stored: with rotation the old refresh token no
    /// longer works (retryable, but urgent).
    #[error("refreshed OAuth2 credentials could not be stored: {0}")]
    CredentialsNotSaved(#[source] StoreError),
}

impl PollerError {
    /// A store failure while doing `action`.
    pub fn store(action: &'static str) -> impl FnOnce(StoreError) -> Self {
        move |source| Self::Store { action, source }
    }

    /// Whether the next run may succeed without anyone fixing anything.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            Self::Poll(error) => match error.class() {
                FailureClass::Transient | FailureClass::RateLimited => RetryClass::Retryable,
                FailureClass::Auth | FailureClass::Config => RetryClass::NonRetryable,
            },
            Self::Catalog { source: CatalogError::Store(_), .. }
            | Self::Store { .. }
            | Self::Enqueue(_)
            | Self::LeaseLost(_)
            | Self::BudgetExceeded(_)
            | Self::CredentialsNotSaved(_) => RetryClass::Retryable,
            Self::Catalog { .. }
            | Self::InvalidInstance(_)
            | Self::UnknownConnector(_)
            | Self::CheckpointConflict(_) => RetryClass::NonRetryable,
        }
    }

    /// Whether the user must re-authorise the instance before polling can work again.
    pub fn needs_reauth(&self) -> bool {
        matches!(self, Self::Poll(error) if error.needs_reauth())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::polling::OAuthError;

    #[test]
    fn auth_and_config_failures_wait_for_a_fix_and_the_rest_is_retried() {
        let unauthorized = PollerError::Poll(PollError::Unauthorized { endpoint: "https://api/x".into(), status: 401 });
        assert_eq!(unauthorized.retry_class(), RetryClass::NonRetryable);
        assert!(unauthorized.needs_reauth());
        let revoked = PollerError::Poll(PollError::OAuth(OAuthError::ReauthNeeded("invalid_grant".into())));
        assert!(revoked.needs_reauth());
        let server = PollError::Server { endpoint: "https://api/x".into(), status: 502, attempts: 3 };
        assert_eq!(PollerError::Poll(server).retry_class(), RetryClass::Retryable);
        let invalid = PollerError::InvalidInstance(switchboard_core::IdError::Project(".p".into()));
        assert_eq!(invalid.retry_class(), RetryClass::NonRetryable);
        let queue = PollerError::Enqueue(StoreError::backend("sending", "reset"));
        assert_eq!((queue.retry_class(), queue.needs_reauth()), (RetryClass::Retryable, false));
    }
}
