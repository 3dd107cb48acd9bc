//! Leases: at most one poller works on an instance at a time.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{InstanceKey, StoreError};

/// A held lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// Who holds it (e.g. a Lambda request id or a process id).
    pub holder: String,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Grants one lease per instance.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease when it is free, expired, or already held by `holder` (which extends it).
    /// Returns `None` when someone else holds an unexpired lease.
    async fn acquire_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Option<Lease>, StoreError>;

    /// Extends a lease `holder` still holds; [`StoreError::ConditionFailed`] when it expired or
    /// another holder has it.
    async fn renew_lease(&self, key: &InstanceKey, holder: &str, ttl: Duration) -> Result<Lease, StoreError>;

    /// Gives the lease up if `holder` has it; does nothing otherwise.
    async fn release_lease(&self, key: &InstanceKey, holder: &str) -> Result<(), StoreError>;
}

/// When a lease taken now for `ttl` expires.
pub fn lease_expiry(now: DateTime<Utc>, ttl: Duration) -> Result<DateTime<Utc>, StoreError> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .ok_or_else(|| StoreError::Invalid(format!("lease duration {ttl:?} is too long")))
}

/// The error for renewing a lease one does not hold.
pub fn lease_lost(key: &InstanceKey, holder: &str) -> StoreError {
    StoreError::ConditionFailed(format!("lease on {key} is no longer held by `{holder}`"))
}
