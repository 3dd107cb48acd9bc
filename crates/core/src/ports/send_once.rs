//! Sending a message and recording its dedup key in one atomic write.

use std::time::Duration;

use async_trait::async_trait;

use super::{DedupOutcome, QueueMessage, StoreError};
use crate::signal::NormalisedSignal;

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

/// A signals queue that sends a signal, records its id and keeps it among the recent signals
/// (the [`SignalStore`](super::SignalStore) the dashboard lists), all in one write: either all
/// three are stored or none, and an id already recorded writes nothing.
///
/// The embedded database's signals queue offers it: the normaliser then makes one write per
/// signal instead of a send and a separate recent copy.
#[async_trait]
pub trait SendSignalOnce: Send + Sync {
    /// Sends `message` (the queue message of `signal`), records the signal's id for `dedup_ttl`
    /// and stores `signal` as a recent signal for `recent_ttl`, unless an unexpired record of the
    /// id exists: [`DedupOutcome::Inserted`] when all three were stored,
    /// [`DedupOutcome::Duplicate`] when nothing was written.
    async fn send_signal_once(
        &self,
        signal: &NormalisedSignal,
        message: &QueueMessage,
        dedup_ttl: Duration,
        recent_ttl: Duration,
    ) -> Result<DedupOutcome, StoreError>;
}
