//! Durable queues on the `queue_messages` table, with SQS's semantics: a received message is
//! hidden for its visibility timeout and comes back unless acked; once received `max_receives`
//! times, the next receive moves it to the dead-letter queue instead of delivering it.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, TransactionBehavior, params};
use switchboard_core::ports::{
    EntryFailure, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, QueueMessage, QueueReceiver, QueueSender, ReceiveOptions,
    ReceivedMessage, StoreError,
};

use crate::db::{Db, DbResult, millis, now_ms};

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
}

/// How often an empty receive looks again while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

impl EmbeddedQueue {
    pub(crate) fn new(db: Db, name: &str, dead_letter: Option<DeadLetter>) -> Self {
        Self { db, name: name.to_owned(), dead_letter }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Messages in the queue, visible or not (for tests and the dashboard).
    pub async fn depth(&self) -> Result<u64, StoreError> {
        let name = self.name.clone();
        self.db
            .call("counting queue messages", move |conn| {
                let n: i64 =
                    conn.query_row("SELECT COUNT(*) FROM queue_messages WHERE queue = ?1", [&name], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            })
            .await
    }

    /// One receive attempt without waiting.
    async fn receive_now(&self, options: ReceiveOptions) -> Result<Vec<ReceivedMessage>, StoreError> {
        let name = self.name.clone();
        let dead_letter = self.dead_letter.clone();
        let max = usize::try_from(options.max_messages.clamp(1, 10)).unwrap_or(MAX_BATCH_ENTRIES);
        let visibility = millis(options.visibility_timeout);
        self.db
            .call("receiving queue messages", move |conn| {
                take_ready(conn, &name, dead_letter.as_ref(), max, visibility)
            })
            .await
    }
}

/// Claims up to `max` ready messages, moving over-received ones to the dead-letter queue.
fn take_ready(
    conn: &mut Connection,
    queue: &str,
    dead_letter: Option<&DeadLetter>,
    max: usize,
    visibility_ms: i64,
) -> DbResult<Vec<ReceivedMessage>> {
    let now = now_ms();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut received = Vec::new();
    let mut taken_ids: Vec<i64> = Vec::new();
    loop {
        let candidates: Vec<(i64, String, String, u32)> = {
            let mut stmt = tx.prepare(
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
                tx.execute(
                    "UPDATE queue_messages SET queue = ?2, visible_at_ms = ?3, receipt = NULL WHERE id = ?1",
                    params![id, dlq.queue, now],
                )?;
                tracing::warn!(queue, dead_letter_queue = %dlq.queue, message_id = id, receive_count, "message moved to the dead-letter queue");
                continue;
            }
            taken_ids.push(id);
            let receipt = uuid::Uuid::new_v4().to_string();
            tx.execute(
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
    tx.commit()?;
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
            .call("sending queue messages", move |conn| {
                let now = now_ms();
                let tx = conn.transaction()?;
                for (body, attributes) in rows {
                    tx.execute(
                        "INSERT INTO queue_messages (queue, body, attributes, visible_at_ms, sent_at_ms)
                         VALUES (?1, ?2, ?3, ?4, ?4)",
                        params![name, body, attributes, now],
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
        Ok(failures)
    }
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
            .call("acknowledging a queue message", move |conn| {
                conn.execute("DELETE FROM queue_messages WHERE receipt = ?1", [&receipt])?;
                Ok(())
            })
            .await
    }

    async fn retry_later(&self, receipt: &str, delay: Duration) -> Result<(), StoreError> {
        let receipt = receipt.to_owned();
        let visible_at = now_ms().saturating_add(millis(delay));
        self.db
            .call("changing a queue message's visibility", move |conn| {
                conn.execute(
                    "UPDATE queue_messages SET visible_at_ms = ?2 WHERE receipt = ?1",
                    params![receipt, visible_at],
                )?;
                Ok(())
            })
            .await
    }
}
