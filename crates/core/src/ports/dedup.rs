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

    /// Records `id` for `ttl` from now, replacing any record of it. The normaliser claims a
    /// signal id briefly with [`insert_if_absent`](Self::insert_if_absent) before sending it and
    /// confirms it for the full time to live once it is sent, so a crash in between loses no
    /// signal: the claim expires and the message's redelivery sends it.
    async fn confirm(&self, id: &str, ttl: Duration) -> Result<(), StoreError>;

    /// Removes the record of `id`, so that a signal whose downstream send failed is accepted
    /// again on retry. Forgetting an unknown id is not an error.
    async fn forget(&self, id: &str) -> Result<(), StoreError>;
}
