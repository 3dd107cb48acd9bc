//! What an adapter crate implements to run the contract suite against its backend.

use std::sync::Arc;

use async_trait::async_trait;
use switchboard_core::ports::{MessageQueue, Stores};

/// A queue with its dead-letter queue.
#[derive(Clone)]
pub struct QueuePair {
    /// The queue under test.
    pub queue: Arc<dyn MessageQueue>,
    /// Where messages received too often go.
    pub dead_letters: Arc<dyn MessageQueue>,
    /// Receives allowed before a message moves to `dead_letters`.
    pub max_receives: u32,
}

/// A backend under test. Every call returns an isolated, empty world, so tests can run in
/// parallel and in any order.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Fresh, empty stores.
    async fn stores(&self) -> Stores;

    /// A fresh, empty queue whose messages move to a fresh dead-letter queue after
    /// `max_receives` receives.
    async fn queue_pair(&self, max_receives: u32) -> QueuePair;
}
