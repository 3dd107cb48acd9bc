//! [`PollTrigger`]: asks the poller to poll one instance now, instead of at its next scheduled
//! run (a new or re-enabled instance starts its sync at once). `switchboard serve` wakes its
//! poller worker in-process.

use async_trait::async_trait;

use super::{InstanceKey, StoreError};

/// Asks the poller to poll an instance now. A request that cannot be made is not fatal: the
/// instance is polled at its next scheduled run.
#[async_trait]
pub trait PollTrigger: Send + Sync {
    /// Asks for `key` to be polled now.
    async fn poll_now(&self, key: &InstanceKey) -> Result<(), StoreError>;
}
