//! Durable queues on the `queue_messages` table, with SQS's semantics: a received message is
//! hidden for its visibility timeout and comes back unless acked; once received `max_receives`
//! times, the next receive moves it to the dead-letter queue instead of delivering it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, params};
use switchboard_core::ports::{
    DedupOutcome, EntryFailure, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, QueueMessage, QueueReceiver, QueueSender,
    ReceiveOptions, ReceivedMessage, SendOnce, SendSignalOnce, StoreError,
};
use switchboard_core::signal::NormalisedSignal;

use crate::db::Cached;
use crate::db::{Db, DbResult, Sweep, millis, now_ms};
use crate::dedup_record::record_if_absent;
use crate::recent_signal::RecentSignal;

/// Where a queue's repeatedly failing messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The dead-letter queue's name.
    pub queue: String,
    /// Receives allowed before a message moves there (SQS's `maxReceiveCount`).
    pub max_receives: u32,
}

/// A named durable queue in the embedded database.
#[derive(Clone)]
pub struct EmbeddedQueue {
    db: Db,
    name: String,
    dead_letter: Option<DeadLetter>,
    /// When [`SendOnce::send_once`] deletes expired dedup records.
    dedup_sweep: Arc<Sweep>,
    /// When [`SendSignalOnce::send_signal_once`] deletes expired recent signals.
    recent_sweep: Arc<Sweep>,
}

/// Most messages [`EmbeddedQueue::receive_batch`] and [`EmbeddedQueue::ack_batch`] take at once.
pub const MAX_LOCAL_BATCH: usize = 500;

/// How often an empty receive looks again while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

impl EmbeddedQueue {
    pub(crate) fn new(db: Db, name: &str, dead_letter: Option<DeadLetter>) -> Self {
        Self {
            db,
            name: name.to_owned(),
            dead_letter,
            dedup_sweep: Arc::new(Sweep::default()),
            recent_sweep: Arc::new(Sweep::default()),
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages in the queue, visible or not (for tests and the dashboard).
    pub async fn depth(&self) -> Result<u64, StoreError> {
        let name = self.name.clone();
        self.db
            .read("counting queue messages", move |conn| {
                let n: i64 = conn.row("SELECT COUNT(*) FROM queue_messages WHERE queue = ?1", [&name], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }

    /// One receive attempt without waiting.
    async fn receive_now(&self, options: ReceiveOptions) -> Result<Vec<ReceivedMessage>, StoreError> {
        let max = usize::try_from(options.max_messages.clamp(1, 10)).unwrap_or(MAX_BATCH_ENTRIES);
        self.receive_batch(max, options.visibility_timeout).await
    }

    /// Claims up to `max` ready messages (at least one, at most [`MAX_LOCAL_BATCH`]) in one
    /// write, without waiting: the batch receive of the in-process workers, which are not bound
    /// by SQS's ten messages per call. The dead-letter rule applies as in
    /// [`QueueReceiver::receive`].
    pub async fn receive_batch(&self, max: usize, visibility: Duration) -> Result<Vec<ReceivedMessage>, StoreError> {
        let name = self.name.clone();
        let dead_letter = self.dead_letter.clone();
        let max = max.clamp(1, MAX_LOCAL_BATCH);
        let visibility = millis(visibility);
        self.db
            .write("receiving queue messages", move |conn| {
                take_ready(conn, &name, dead_letter.as_ref(), max, visibility)
            })
            .await
    }
}

/// Claims up to `max` ready messages, moving over-received ones to the dead-letter queue.
fn take_ready(
    conn: &Connection,
    queue: &str,
    dead_letter: Option<&DeadLetter>,
    max: usize,
    visibility_ms: i64,
) -> DbResult<Vec<ReceivedMessage>> {
    let now = now_ms();
    let mut received = Vec::new();
    let mut taken_ids: Vec<i64> = Vec::new();
    loop {
        let candidates: Vec<(i64, String, String, u32)> = {
            let mut stmt = conn.prepare_cached(
                "SELECT id, body, attributes, receive_count FROM queue_messages
                 WHERE queue = ?1 AND visible_at_ms <= ?2 AND id NOT IN (SELECT value FROM json_each(?4))
                 ORDER BY visible_at_ms, id LIMIT ?3",
            )?;
            let limit = i64::try_from(max - received.len()).unwrap_or(1);
            // A zero visibility timeout leaves claimed messages visible: never claim one twice per call.
            let taken = serde_json::to_string(&taken_ids).unwrap_or_else(|_| "[]".into());
            stmt.query_map(params![queue, now, limit, taken], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<_, _>>()?
        };
        if candidates.is_empty() {
            break;
        }
        for (id, body, attributes, receive_count) in candidates {
            if let Some(dlq) = dead_letter.filter(|d| receive_count >= d.max_receives) {
                conn.exec(
                    "UPDATE queue_messages SET queue = ?2, visible_at_ms = ?3, receipt = NULL WHERE id = ?1",
                    params![id, dlq.queue, now],
                )?;
                tracing::warn!(queue, dead_letter_queue = %dlq.queue, message_id = id, receive_count, "message moved to the dead-letter queue");
                continue;
            }
            taken_ids.push(id);
            let receipt = uuid::Uuid::new_v4().to_string();
            conn.exec(
                "UPDATE queue_messages SET receive_count = receive_count + 1, visible_at_ms = ?2, receipt = ?3 WHERE id = ?1",
                params![id, now.saturating_add(visibility_ms), receipt],
            )?;
            let attributes: BTreeMap<String, String> = serde_json::from_str(&attributes)
                .map_err(|err| StoreError::Corrupt(format!("queue message attributes do not parse: {err}")))?;
            received.push(ReceivedMessage {
                message_id: id.to_string(),
                receipt,
                receive_count: receive_count + 1,
                message: QueueMessage { body, attributes },
            });
        }
        if received.len() >= max {
            break;
        }
    }
    Ok(received)
}

#[async_trait]
impl QueueSender for EmbeddedQueue {
    async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        if entries.len() > MAX_BATCH_ENTRIES {
            return Err(StoreError::Invalid(format!("a batch holds at most {MAX_BATCH_ENTRIES} messages")));
        }
        let mut failures = Vec::new();
        let mut rows = Vec::new();
        for (index, message) in entries.iter().enumerate() {
            if message.size_bytes() > MAX_MESSAGE_BYTES {
                failures.push(EntryFailure {
                    index,
                    reason: format!("message is larger than {MAX_MESSAGE_BYTES} bytes"),
                    sender_fault: true,
                });
                continue;
            }
            let attributes = serde_json::to_string(&message.attributes)
                .map_err(|err| StoreError::Invalid(format!("message attributes do not serialise: {err}")))?;
            rows.push((message.body.clone(), attributes));
        }
        let name = self.name.clone();
        self.db
            .write("sending queue messages", move |conn| {
                let now = now_ms();
                for (body, attributes) in rows {
                    insert_message(conn, &name, &body, &attributes, now)?;
                }
                Ok(())
            })
            .await?;
        Ok(failures)
    }
}

/// Adds one message, visible at once.
fn insert_message(conn: &Connection, queue: &str, body: &str, attributes: &str, now: i64) -> DbResult<()> {
    conn.exec(
        "INSERT INTO queue_messages (queue, body, attributes, visible_at_ms, sent_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?4)",
        params![queue, body, attributes, now],
    )?;
    Ok(())
}

/// The message and its dedup record in one write of the group commit: the webhook gateway's
/// replay protection without a claim (one write per delivery instead of five).
#[async_trait]
impl SendOnce for EmbeddedQueue {
    async fn send_once(&self, key: &str, ttl: Duration, message: &QueueMessage) -> Result<DedupOutcome, StoreError> {
        let (body, attributes) = message_row(message)?;
        let (key, name) = (key.to_owned(), self.name.clone());
        let purge = self.dedup_sweep.due();
        self.db
            .write("sending a message once", move |conn| {
                let now = now_ms();
                let outcome = record_if_absent(conn, &key, now.saturating_add(millis(ttl)), now, purge)?;
                if outcome == DedupOutcome::Inserted {
                    insert_message(conn, &name, &body, &attributes, now)?;
                }
                Ok(outcome)
            })
            .await
    }
}

/// The signal's message, its dedup record and its recent copy in one write of the group
/// commit: the normaliser's one write per signal.
#[async_trait]
impl SendSignalOnce for EmbeddedQueue {
    async fn send_signal_once(
        &self,
        signal: &NormalisedSignal,
        message: &QueueMessage,
        dedup_ttl: Duration,
        recent_ttl: Duration,
    ) -> Result<DedupOutcome, StoreError> {
        let (body, attributes) = message_row(message)?;
        let recent = RecentSignal::of(signal, recent_ttl)?;
        let name = self.name.clone();
        let (purge_dedup, purge_recent) = (self.dedup_sweep.due(), self.recent_sweep.due());
        self.db
            .write("sending a signal once", move |conn| {
                let now = now_ms();
                let expires = now.saturating_add(millis(dedup_ttl));
                let outcome = record_if_absent(conn, recent.id(), expires, now, purge_dedup)?;
                if outcome == DedupOutcome::Inserted {
                    insert_message(conn, &name, &body, &attributes, now)?;
                    recent.store(conn, purge_recent)?;
                }
                Ok(outcome)
            })
            .await
    }
}

/// A message's body and serialised attributes, refused when it is larger than a queue takes.
fn message_row(message: &QueueMessage) -> Result<(String, String), StoreError> {
    if message.size_bytes() > MAX_MESSAGE_BYTES {
        return Err(StoreError::Invalid(format!("message is larger than {MAX_MESSAGE_BYTES} bytes")));
    }
    let attributes = serde_json::to_string(&message.attributes)
        .map_err(|err| StoreError::Invalid(format!("message attributes do not serialise: {err}")))?;
    Ok((message.body.clone(), attributes))
}

#[async_trait]
impl QueueReceiver for EmbeddedQueue {
    async fn receive(&self, options: ReceiveOptions) -> Result<Vec<ReceivedMessage>, StoreError> {
        let deadline = tokio::time::Instant::now() + options.wait;
        loop {
            let received = self.receive_now(options).await?;
            if !received.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(received);
            }
            tokio::time::sleep(POLL_INTERVAL.min(deadline - tokio::time::Instant::now())).await;
        }
    }

    async fn ack(&self, receipt: &str) -> Result<(), StoreError> {
        let receipt = receipt.to_owned();
        self.db
            .write("acknowledging a queue message", move |conn| {
                conn.exec("DELETE FROM queue_messages WHERE receipt = ?1", [&receipt])?;
                Ok(())
            })
            .await
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), StoreError> {
        self.settle(&[], &[(receipt.to_owned(), delay)]).await
    }
}

impl EmbeddedQueue {
    /// Deletes the received messages of `receipts` in one write (the batch form of
    /// [`QueueReceiver::ack`], at most [`MAX_LOCAL_BATCH`] at once).
    pub async fn ack_batch(&self, receipts: &[String]) -> Result<(), StoreError> {
        self.settle(receipts, &[]).await
    }

    /// Acks `done` and puts each of `retry` back after its delay, all in one write: how a worker
    /// settles a whole batch.
    pub async fn settle(&self, done: &[String], retry: &[(String, Duration)]) -> Result<(), StoreError> {
        if done.len() + retry.len() > MAX_LOCAL_BATCH {
            return Err(StoreError::Invalid(format!("a batch settles at most {MAX_LOCAL_BATCH} messages")));
        }
        let done = done.to_vec();
        let now = now_ms();
        let retry: Vec<(String, i64)> =
            retry.iter().map(|(receipt, delay)| (receipt.clone(), now.saturating_add(millis(*delay)))).collect();
        self.db
            .write("settling queue messages", move |conn| {
                for receipt in &done {
                    conn.exec("DELETE FROM queue_messages WHERE receipt = ?1", [receipt])?;
                }
                for (receipt, visible_at) in &retry {
                    conn.exec(
                        "UPDATE queue_messages SET visible_at_ms = ?2 WHERE receipt = ?1",
                        params![receipt, visible_at],
                    )?;
                }
                Ok(())
            })
            .await
    }
}
