//! Deduplication records: has this signal been seen within its time to live?

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// What an insert found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DedupOutcome {
    /// First time seen (or the earlier record expired): go ahead.
    Inserted,
    /// Seen before within the time to live: drop it.
    Duplicate,
}

/// Insert-if-absent records that expire.
#[async_trait]
pub trait DedupStore: Send + Sync {
    /// Records `id` for `ttl` unless an unexpired record of it exists.
    async fn insert_if_absent(&self, id: &str, ttl: Duration) -> Result<DedupOutcome, StoreError>;

    /// Removes the record of `id`, so that a signal whose downstream send failed is accepted
    /// again on retry. Forgetting an unknown id is not an error.
    async fn forget(&self, id: &str) -> Result<(), StoreError>;
}
