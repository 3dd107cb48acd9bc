//! Poll-now requests inside one process (`switchboard serve`): the registry asks through a
//! [`PollNowSender`] ([`PollTrigger`]), the poller's worker waits on the [`PollNowReceiver`] beside
//! its timer and polls the instances asked for at once ([`crate::Poller::poll_now`]).

use async_trait::async_trait;
use switchboard_core::ports::{InstanceKey, PollTrigger, StoreError};
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

#[cfg(test)]
mod tests {
    use super::*;

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
