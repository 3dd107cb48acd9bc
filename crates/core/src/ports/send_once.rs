//! Sending a message and recording its dedup key in one atomic write.

use std::time::Duration;

use async_trait::async_trait;

use super::{DedupOutcome, QueueMessage, StoreError};

/// A queue that sends a message together with a dedup record, as one write: either both are
/// stored or neither, and a key already recorded within its time to live sends nothing.
///
/// Only a backend whose queue and dedup records share a transaction can offer it (the embedded
/// database). Elsewhere (SQS and DynamoDB) a caller claims the key, sends, then records it, in
/// separate writes; with this port one write replaces them, and two concurrent senders of one
/// key can never both send.
#[async_trait]
pub trait SendOnce: Send + Sync {
    /// Sends `message` and records `key` for `ttl`, unless an unexpired record of `key` exists:
    /// [`DedupOutcome::Inserted`] when sent, [`DedupOutcome::Duplicate`] when nothing was sent.
    /// The record lives in the same dedup records as [`DedupStore`](super::DedupStore)'s.
    async fn send_once(&self, key: &str, ttl: Duration, message: &QueueMessage) -> Result<DedupOutcome, StoreError>;
}
