//! Storage ports: one narrow trait per storage capability, implemented by the SQLite adapters
//! (`switchboard-embedded`, the local default) and the AWS adapters (`switchboard-aws`).
//!
//! Domain code takes only the capability it needs (`&dyn CheckpointStore`, `&dyn DedupStore`, …);
//! [`Stores`] bundles one of each for wiring and for the operations that span several of them
//! (creating an instance with credentials, deleting an instance with its secret and checkpoint).
//!
//! Every adapter passes the same contract suite (`crates/contract-tests`), so the semantics written
//! on these traits hold for both backends.

mod checkpoints;
mod dedup;
mod descriptors;
mod error;
mod instances;
mod key;
mod leases;
mod oauth_state;
mod poll_trigger;
mod queue;
mod rate_limit;
mod secrets;
mod send_once;
mod signals;
mod stats;
mod stores;
mod subscription_state;

pub use checkpoints::{Checkpoint, CheckpointStore, stale_checkpoint};
pub use dedup::{DedupOutcome, DedupStore};
pub use descriptors::{DescriptorRecord, DescriptorRegistry};
pub use error::{EntryFailure, StoreError};
pub use instances::{
    BackfillProgress, HealthAlert, HealthUpdate, InstanceHealth, InstanceRecord, InstanceRegistry, InstanceUpdate,
    NewInstance, PollRecord, ScheduleSweep, SyncState,
};
pub use key::InstanceKey;
pub use leases::{Lease, LeaseStore, lease_expiry, lease_lost};
pub use oauth_state::{OAuthState, OAuthStateStore};
pub use poll_trigger::PollTrigger;
pub use queue::{
    ATTR_CONNECTOR_ID, ATTR_PROJECT_ID, DEFAULT_MAX_RECEIVES, INGEST_QUEUE, MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES,
    MessageQueue, QueueMessage, QueueReceiver, QueueSender, ReceiveOptions, ReceivedMessage, RetryPolicy,
    SIGNALS_QUEUE, send_batch,
};
pub use rate_limit::{FixedWindow, RateDecision, RateLimiter};
pub use secrets::{
    CredentialChange, CredentialVersion, CredentialVersions, Credentials, DEFAULT_ROTATION_GRACE,
    MAX_CREDENTIAL_UPDATE_ATTEMPTS, OAUTH_TOKEN_FIELDS, SecretStore, StoredCredentials,
};
pub use send_once::{SendOnce, SendSignalOnce};
pub use signals::{
    DEFAULT_SIGNAL_PAGE, MAX_INDEXED_REFERENCES, MAX_REFERENCE_BYTES, MAX_SIGNAL_PAGE, SignalPage, SignalQuery,
    SignalSortKey, SignalStore, indexed_references,
};
pub use stats::{HourlyStats, SignalCounts, StatsStore, SyncRun, SyncStatus, hour_of};
pub use stores::Stores;
pub use subscription_state::{SubscriptionState, SubscriptionStatus};

/// The current time at the precision every store keeps (milliseconds), so a record returned by
/// a write equals the same record read back.
pub fn store_now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(now, chrono::TimeDelta::milliseconds(1)).unwrap_or(now)
}
