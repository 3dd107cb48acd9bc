//! Poll-now requests. Inside one process (`switchboard serve`) the registry asks through a
//! [`PollNowSender`] ([`PollTrigger`]), the poller's worker waits on the [`PollNowReceiver`] beside
//! its timer and polls the instances asked for at once ([`crate::Poller::poll_now`]). Between
//! Lambda functions the registry asks through a [`QueuePollTrigger`]: one message per request on
//! the poll-now queue, whose messages invoke the poller function ([`PollNowRequest::parse`]).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use switchboard_core::ports::{InstanceKey, PollTrigger, QueueMessage, QueueSender, StoreError, send_batch};
use tokio::sync::mpsc;

/// Requests that may wait at once; more are refused (the instances are then polled at the next
/// scheduled run).
pub const POLL_NOW_CAPACITY: usize = 1024;

/// Asks the poller worker of this process to poll an instance now.
#[derive(Debug, Clone)]
pub struct PollNowSender(mpsc::Sender<InstanceKey>);

/// Where the poller worker receives poll-now requests.
#[derive(Debug)]
pub struct PollNowReceiver(mpsc::Receiver<InstanceKey>);

/// A connected sender and receiver.
pub fn poll_now_channel() -> (PollNowSender, PollNowReceiver) {
    let (tx, rx) = mpsc::channel(POLL_NOW_CAPACITY);
    (PollNowSender(tx), PollNowReceiver(rx))
}

#[async_trait]
impl PollTrigger for PollNowSender {
    async fn poll_now(&self, key: &InstanceKey) -> Result<(), StoreError> {
        self.0
            .try_send(key.clone())
            .map_err(|error| StoreError::backend("asking the poller to poll now", error.to_string()))
    }
}

impl PollNowReceiver {
    /// Waits for at least one request and returns every request waiting, without repeats, in
    /// the order asked; `None` once every sender is gone.
    pub async fn next_batch(&mut self) -> Option<Vec<InstanceKey>> {
        let first = self.0.recv().await?;
        let mut keys = vec![first];
        while let Ok(key) = self.0.try_recv() {
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
        Some(keys)
    }
}

/// The body of a poll-now queue message: which instance to poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollNowRequest {
    /// The instance's project.
    pub project_id: String,
    /// The instance's connector.
    pub connector_id: String,
}

/// Why a poll-now message could not be read.
#[derive(Debug, thiserror::Error)]
#[error("a poll-now message must be {{\"projectId\": …, \"connectorId\": …}} with valid ids: {0}")]
pub struct PollNowMessageError(String);

impl PollNowRequest {
    /// The request for `key`.
    pub fn of(key: &InstanceKey) -> Self {
        Self { project_id: key.project_id.clone(), connector_id: key.connector_id.clone() }
    }

    /// Reads a message body; the ids must follow the id rules.
    pub fn parse(body: &str) -> Result<InstanceKey, PollNowMessageError> {
        let request: Self = serde_json::from_str(body).map_err(|e| PollNowMessageError(e.to_string()))?;
        let key = InstanceKey::new(request.project_id, request.connector_id);
        key.ids().map_err(|e| PollNowMessageError(e.to_string()))?;
        Ok(key)
    }

    /// The message body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("two strings serialise")
    }
}

/// Asks a poller in another process to poll an instance now, with one message on a queue (the
/// poll-now queue, whose messages invoke the poller function).
#[derive(Clone)]
pub struct QueuePollTrigger {
    queue: Arc<dyn QueueSender>,
}

impl QueuePollTrigger {
    /// Sends requests to `queue`.
    pub fn new(queue: Arc<dyn QueueSender>) -> Self {
        Self { queue }
    }
}

#[async_trait]
impl PollTrigger for QueuePollTrigger {
    async fn poll_now(&self, key: &InstanceKey) -> Result<(), StoreError> {
        let message = QueueMessage::for_instance(PollNowRequest::of(key).to_json(), key);
        // One attempt: a request that fails is not fatal (the scheduled run polls the instance).
        let once = switchboard_core::ports::RetryPolicy { max_attempts: 1, ..Default::default() };
        send_batch(self.queue.as_ref(), &[message], once, tokio::time::sleep).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_a_bad_message_says_what_a_good_one_is() {
        let key = InstanceKey::new("p1", "github-issues");
        assert_eq!(PollNowRequest::parse(&PollNowRequest::of(&key).to_json()).unwrap(), key);
        for bad in ["", "{}", r#"{"projectId":"p1"}"#, r#"{"projectId":"p1","connectorId":"Not An Id"}"#] {
            let error = PollNowRequest::parse(bad).unwrap_err().to_string();
            assert!(error.starts_with("a poll-now message must be"), "{bad}: {error}");
        }
    }

    #[tokio::test]
    async fn a_queue_trigger_puts_one_message_naming_the_instance_on_the_queue() {
        use switchboard_core::ports::{QueueReceiver, ReceiveOptions};
        let dir = tempfile::tempdir().unwrap();
        let db = switchboard_embedded::Embedded::open(&dir.path().join("db.sqlite")).unwrap();
        let queue = db.queue("poll-now", None);
        let key = InstanceKey::new("p1", "github-issues");
        QueuePollTrigger::new(Arc::new(queue.clone())).poll_now(&key).await.unwrap();
        let received = queue.receive(ReceiveOptions::default()).await.unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(PollNowRequest::parse(&received[0].message.body).unwrap(), key);
        assert_eq!(received[0].message.attributes.get("projectId").map(String::as_str), Some("p1"));
    }

    #[tokio::test]
    async fn requests_waiting_together_come_as_one_batch_without_repeats() {
        let (tx, mut rx) = poll_now_channel();
        let a = InstanceKey::new("p1", "a");
        let b = InstanceKey::new("p1", "b");
        for key in [&a, &b, &a] {
            tx.poll_now(key).await.unwrap();
        }
        assert_eq!(rx.next_batch().await, Some(vec![a, b]));
        drop(tx);
        assert_eq!(rx.next_batch().await, None);
    }
}
