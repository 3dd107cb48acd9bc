//! Poll checkpoints: how far an instance's poller got, advanced with an optimistic version.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{InstanceKey, StoreError};

/// A stored checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The delta strategy's value (a timestamp, a cursor, an id).
    pub value: String,
    /// Starts at 1 and goes up by one with every advance.
    pub version: u64,
    /// When it was last advanced.
    pub updated_at: DateTime<Utc>,
}

/// Stores one checkpoint per instance.
///
/// The poller reads the checkpoint, fetches and enqueues everything after it, then advances it
/// with the version it read. A poller that read a stale version (another one advanced in between)
/// gets [`StoreError::ConditionFailed`], so a checkpoint never moves backwards.
#[async_trait]
pub trait CheckpointStore: Send + Sync {
    /// The current checkpoint, or `None` before the first advance.
    async fn read_checkpoint(&self, key: &InstanceKey) -> Result<Option<Checkpoint>, StoreError>;

    /// Sets the checkpoint to `value` if its version is still `expected_version` (`0` when there is
    /// none yet); returns the new checkpoint, whose version is `expected_version + 1`.
    async fn advance_checkpoint(
        &self,
        key: &InstanceKey,
        expected_version: u64,
        value: &str,
    ) -> Result<Checkpoint, StoreError>;

    /// Removes the checkpoint; does nothing when there is none.
    async fn delete_checkpoint(&self, key: &InstanceKey) -> Result<(), StoreError>;
}

/// The error for an advance whose expected version is stale.
pub fn stale_checkpoint(key: &InstanceKey, expected_version: u64) -> StoreError {
    StoreError::ConditionFailed(format!(
        "checkpoint of {key} is no longer at version {expected_version}; another poller advanced it"
    ))
}
