//! The error every port returns.

use std::error::Error as StdError;

/// Why a storage operation failed. Messages name the record, never a credential value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist.
    #[error("{what} not found")]
    NotFound {
        /// The record, e.g. ``connector descriptor `github` ``.
        what: String,
    },
    /// A conditional create found the record already there.
    #[error("{what} already exists")]
    AlreadyExists {
        /// The record.
        what: String,
    },
    /// An optimistic condition did not hold (stale checkpoint version, lease held by another).
    #[error("condition failed: {0}")]
    ConditionFailed(String),
    /// Built-in descriptors ship with Switchboard and cannot be deleted.
    #[error("connector descriptor `{connector_id}` is built in and cannot be deleted")]
    BuiltInProtected {
        /// The descriptor's id.
        connector_id: String,
    },
    /// Some queue entries were still rejected after every retry.
    #[error("{} of {total} queue messages were not accepted: {}", failed.len(), summarise(failed))]
    SendFailed {
        /// The entries that failed, indexed into the caller's message list.
        failed: Vec<EntryFailure>,
        /// How many messages the caller sent.
        total: usize,
    },
    /// The caller passed something the store cannot hold.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A stored record could not be read back (corrupt, or written by an incompatible version).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The backend (SQLite, DynamoDB, SQS, Secrets Manager) failed.
    #[error("storage backend failed while {action}: {source}")]
    Backend {
        /// What was being done, e.g. `reading checkpoint`.
        action: String,
        /// The backend's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl StoreError {
    /// A backend failure while doing `action`.
    pub fn backend(action: impl Into<String>, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Backend { action: action.into(), source: source.into() }
    }

    /// A missing record.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// A record that already exists.
    pub fn already_exists(what: impl Into<String>) -> Self {
        Self::AlreadyExists { what: what.into() }
    }

    /// No descriptor with this id.
    pub fn descriptor_not_found(connector_id: &str) -> Self {
        Self::not_found(format!("connector descriptor `{connector_id}`"))
    }

    /// A descriptor with this id exists already.
    pub fn descriptor_exists(connector_id: &str) -> Self {
        Self::already_exists(format!("connector descriptor `{connector_id}`"))
    }
}

/// An entry of a batch that the queue did not accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    /// Index of the entry in the list passed in.
    pub index: usize,
    /// The queue's reason.
    pub reason: String,
    /// The entry itself is at fault (too large, invalid characters): retrying cannot help.
    pub sender_fault: bool,
}

fn summarise(failed: &[EntryFailure]) -> String {
    failed.iter().map(|f| format!("#{} ({})", f.index, f.reason)).collect::<Vec<_>>().join(", ")
}
