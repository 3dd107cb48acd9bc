//! Message queues (the ingest and signals queues): batch sends that retry only the entries the
//! queue rejected, and receive / ack with a visibility timeout and a dead-letter queue.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{EntryFailure, InstanceKey, StoreError};

/// The most entries one batch request may carry (SQS's limit).
pub const MAX_BATCH_ENTRIES: usize = 10;
/// The largest message body plus attributes accepted (SQS's limit, 1 MiB).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Receives before a message moves to its dead-letter queue, in every backend (`maxReceiveCount`).
pub const DEFAULT_MAX_RECEIVES: u32 = 5;
/// Name of the queue of raw envelopes (webhook gateway and poller → normaliser).
pub const INGEST_QUEUE: &str = "ingest";
/// Name of the queue of normalised signals (normaliser → downstream).
pub const SIGNALS_QUEUE: &str = "signals";
/// Message attribute naming the connector.
pub const ATTR_CONNECTOR_ID: &str = "connectorId";
/// Message attribute naming the project.
pub const ATTR_PROJECT_ID: &str = "projectId";

/// A message to send: a body and string attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    /// The payload (JSON text in Switchboard's queues).
    pub body: String,
    /// String attributes (`connectorId`, `projectId`, …).
    pub attributes: BTreeMap<String, String>,
}

impl QueueMessage {
    /// A message with no attributes.
    pub fn new(body: impl Into<String>) -> Self {
        Self { body: body.into(), attributes: BTreeMap::new() }
    }

    /// A message tagged with the instance it belongs to (`connectorId`, `projectId`).
    pub fn for_instance(body: impl Into<String>, key: &InstanceKey) -> Self {
        Self::new(body)
            .with_attribute(ATTR_CONNECTOR_ID, key.connector_id.clone())
            .with_attribute(ATTR_PROJECT_ID, key.project_id.clone())
    }

    /// Adds an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(name.into(), value.into());
        self
    }

    /// Body plus attribute names and values, as SQS counts them.
    pub fn size_bytes(&self) -> usize {
        self.body.len() + self.attributes.iter().map(|(k, v)| k.len() + v.len() + "String".len()).sum::<usize>()
    }
}

/// A received message; ack it with its receipt once handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The queue's id of the message.
    pub message_id: String,
    /// Handle for [`QueueReceiver::ack`] / [`QueueReceiver::retry_later`], valid for this receive.
    pub receipt: String,
    /// How many times it has been received, this time included.
    pub receive_count: u32,
    /// Body and attributes.
    pub message: QueueMessage,
}

/// Sends raw batches. Adapters implement this; callers use [`send_batch`].
#[async_trait]
pub trait QueueSender: Send + Sync {
    /// Sends at most [`MAX_BATCH_ENTRIES`] messages in one request and returns the entries that
    /// were not accepted (empty when all were). An `Err` means the whole request failed.
    async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError>;
}

/// How a receive waits and hides what it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveOptions {
    /// At most this many messages (1–10).
    pub max_messages: u32,
    /// Received messages stay hidden from other receivers this long, unless acked.
    pub visibility_timeout: Duration,
    /// Wait up to this long for a message when none is ready (long polling).
    pub wait: Duration,
}

impl Default for ReceiveOptions {
    fn default() -> Self {
        Self { max_messages: 10, visibility_timeout: Duration::from_secs(30), wait: Duration::ZERO }
    }
}

/// Receives messages. A message received more often than the queue's limit without being
/// acked moves to the queue's dead-letter queue instead of being delivered again.
#[async_trait]
pub trait QueueReceiver: Send + Sync {
    /// Receives ready messages, hiding them for the visibility timeout.
    async fn receive(&self, options: ReceiveOptions) -> Result<Vec<ReceivedMessage>, StoreError>;

    /// Deletes a handled message.
    async fn ack(&self, receipt: &str) -> Result<(), StoreError>;

    /// Makes a received message visible again after `delay` (zero: at once).
    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), StoreError>;
}

/// A queue one can send to and receive from.
pub trait MessageQueue: QueueSender + QueueReceiver {}

impl<T: QueueSender + QueueReceiver + ?Sized> MessageQueue for T {}

/// How [`send_batch`] retries rejected entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Sends per entry, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 4, initial_backoff: Duration::from_millis(50) }
    }
}

/// Sends every message in batches of at most [`MAX_BATCH_ENTRIES`], resending only the entries
/// the queue rejected (with backoff) until accepted or out of attempts. Entries rejected for a
/// sender fault are not retried. On failure, [`StoreError::SendFailed`] lists the indexes (into
/// `messages`) that were not accepted; all other messages were sent.
///
/// `pause` waits between retries (`tokio::time::sleep` in every process): the core links no
/// timer of its own.
pub async fn send_batch<S, P, F>(
    sender: &S,
    messages: &[QueueMessage],
    policy: RetryPolicy,
    pause: P,
) -> Result<(), StoreError>
where
    S: QueueSender + ?Sized,
    P: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut failed = Vec::new();
    for (chunk_number, chunk) in messages.chunks(MAX_BATCH_ENTRIES).enumerate() {
        let offset = chunk_number * MAX_BATCH_ENTRIES;
        failed.extend(send_chunk(sender, chunk, policy, &pause).await?.into_iter().map(|mut f| {
            f.index += offset;
            f
        }));
    }
    if failed.is_empty() { Ok(()) } else { Err(StoreError::SendFailed { failed, total: messages.len() }) }
}

/// Sends one chunk, retrying its rejected entries; returns the ones that never got through.
async fn send_chunk<S, P, F>(
    sender: &S,
    chunk: &[QueueMessage],
    policy: RetryPolicy,
    pause: &P,
) -> Result<Vec<EntryFailure>, StoreError>
where
    S: QueueSender + ?Sized,
    P: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    let mut pending: Vec<usize> = (0..chunk.len()).collect();
    let mut permanent = Vec::new();
    let mut backoff = policy.initial_backoff;
    for attempt in 1..=policy.max_attempts.max(1) {
        let entries: Vec<QueueMessage> = pending.iter().map(|&i| chunk[i].clone()).collect();
        let failures = sender.send_entries(&entries).await?;
        let mut retry = Vec::new();
        for failure in failures {
            let Some(&index) = pending.get(failure.index) else { continue };
            let failure = EntryFailure { index, ..failure };
            if failure.sender_fault || attempt == policy.max_attempts.max(1) {
                permanent.push(failure);
            } else {
                retry.push(index);
            }
        }
        if retry.is_empty() {
            break;
        }
        tracing::warn!(attempt, retrying = retry.len(), "queue rejected some batch entries; retrying those only");
        pending = retry;
        pause(backoff).await;
        backoff = backoff.saturating_mul(2);
    }
    permanent.sort_by_key(|f| f.index);
    Ok(permanent)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records every request and rejects entries whose body is in `flaky` on their first send.
    #[derive(Default)]
    struct Recorder {
        requests: Mutex<Vec<Vec<String>>>,
        flaky: Vec<&'static str>,
        broken: Vec<&'static str>,
    }

    #[async_trait]
    impl QueueSender for Recorder {
        async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
            let mut requests = self.requests.lock().unwrap();
            let seen_before = |body: &str| requests.iter().flatten().any(|b| b == body);
            let failures = entries
                .iter()
                .enumerate()
                .filter_map(|(index, m)| {
                    let flaky = self.flaky.contains(&m.body.as_str()) && !seen_before(&m.body);
                    let broken = self.broken.contains(&m.body.as_str());
                    (flaky || broken).then(|| EntryFailure { index, reason: "nope".into(), sender_fault: broken })
                })
                .collect();
            requests.push(entries.iter().map(|m| m.body.clone()).collect());
            Ok(failures)
        }
    }

    fn messages(n: usize) -> Vec<QueueMessage> {
        (0..n).map(|i| QueueMessage::new(format!("m{i}"))).collect()
    }

    #[tokio::test]
    async fn twenty_three_messages_go_out_in_batches_of_at_most_ten() {
        let sender = Recorder::default();
        send_batch(&sender, &messages(23), RetryPolicy::default(), tokio::time::sleep).await.unwrap();
        let sizes: Vec<usize> = sender.requests.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
    }

    #[tokio::test]
    async fn only_rejected_entries_are_resent() {
        let sender = Recorder { flaky: vec!["m3", "m12"], ..Recorder::default() };
        send_batch(
            &sender,
            &messages(15),
            RetryPolicy { initial_backoff: Duration::ZERO, ..RetryPolicy::default() },
            tokio::time::sleep,
        )
        .await
        .unwrap();
        let requests = sender.requests.lock().unwrap();
        assert_eq!(requests.len(), 4);
        assert_eq!(requests[1], ["m3"]);
        assert_eq!(requests[3], ["m12"]);
    }

    #[tokio::test]
    async fn entries_at_fault_are_reported_with_their_index_and_not_retried() {
        let sender = Recorder { broken: vec!["m11"], ..Recorder::default() };
        let err = send_batch(&sender, &messages(12), RetryPolicy::default(), tokio::time::sleep).await.unwrap_err();
        let StoreError::SendFailed { failed, total } = err else { panic!("unexpected {err}") };
        assert_eq!((failed[0].index, failed.len(), total), (11, 1, 12));
        assert_eq!(sender.requests.lock().unwrap().len(), 2);
    }
}
