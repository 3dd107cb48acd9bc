//! [`NormaliserError`]: every reason a message fails, with its retry class in one place.

use switchboard_core::catalog::CatalogError;
use switchboard_core::envelope::EnvelopeError;
use switchboard_core::mapping::{ItemError, MapError};
use switchboard_core::ports::StoreError;

pub use switchboard_core::retry_class::RetryClass;

/// Why a message could not be normalised. Messages name connectors, projects and items, never a
/// payload or credential.
#[derive(Debug, thiserror::Error)]
pub enum NormaliserError {
    /// The body is not an envelope (non-retryable).
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// No descriptor is registered under the envelope's connector id (non-retryable).
    #[error("no connector `{0}` is registered")]
    UnknownConnector(String),
    /// The descriptor could not be loaded: retryable when the registry failed, not when the
    /// stored descriptor is unusable.
    #[error("cannot load connector `{connector_id}`: {source}")]
    Catalog {
        /// The connector id.
        connector_id: String,
        /// Why.
        #[source]
        source: CatalogError,
    },
    /// The payload has no items to map, or is not JSON (non-retryable).
    #[error("the payload cannot be mapped: {0}")]
    Unmappable(#[from] MapError),
    /// Some items could not be mapped (non-retryable); each is logged.
    #[error("{count} item(s) could not be mapped; the first: {first}")]
    Items {
        /// How many.
        count: usize,
        /// The first of them.
        first: Box<ItemError>,
    },
    /// The dedup store failed (retryable).
    #[error("the dedup store failed: {0}")]
    Dedup(#[source] StoreError),
    /// The signals queue did not take every signal (retryable).
    #[error("the signals queue did not accept the signals: {0}")]
    SignalsQueue(#[source] StoreError),
}

impl NormaliserError {
    /// Whether the message's next receive may succeed.
    pub fn retry_class(&self) -> RetryClass {
        match self {
            Self::Catalog { source: CatalogError::Store(_), .. } | Self::Dedup(_) | Self::SignalsQueue(_) => {
                RetryClass::Retryable
            }
            Self::Envelope(_)
            | Self::UnknownConnector(_)
            | Self::Catalog { .. }
            | Self::Unmappable(_)
            | Self::Items { .. } => RetryClass::NonRetryable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_failures_are_retryable_and_bad_messages_are_not() {
        let backend = || StoreError::backend("sending", "connection reset");
        assert_eq!(NormaliserError::SignalsQueue(backend()).retry_class(), RetryClass::Retryable);
        assert_eq!(NormaliserError::Dedup(backend()).retry_class(), RetryClass::Retryable);
        let catalog = NormaliserError::Catalog { connector_id: "gh".into(), source: CatalogError::Store(backend()) };
        assert_eq!(catalog.retry_class(), RetryClass::Retryable);
        assert_eq!(NormaliserError::UnknownConnector("gh".into()).retry_class(), RetryClass::NonRetryable);
        let malformed = NormaliserError::Envelope(EnvelopeError::Malformed("eof".into()));
        assert_eq!(malformed.retry_class(), RetryClass::NonRetryable);
    }
}
