//! Connector instances: a connector configured for one project (seed §5.1:
//! `PK=PROJECT#{p}, SK=CONNECTOR_INSTANCE#{c}`, listed per connector through `GSI2`).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;
use super::key::InstanceKey;
use super::subscription_state::SubscriptionState;

/// Health as last observed by health checks and syncs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceHealth {
    /// When the last health check ran.
    pub last_health_check: Option<DateTime<Utc>>,
    /// Whether the last health check passed (`false` until one has).
    pub healthy: bool,
    /// Failed checks or syncs in a row.
    pub consecutive_failures: u32,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the last successful sync finished.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Latency of the last health check.
    pub last_latency_ms: Option<u64>,
    /// The user must re-authorise: a sync's token refresh answered `invalid_grant`, or the API
    /// rejected the credentials. Set by [`HealthUpdate::SyncFailed`] with `reauth`; cleared by
    /// new credentials ([`InstanceUpdate::reauth_needed`]) or a successful sync. Such an instance
    /// is not polled until it is cleared.
    #[serde(default)]
    pub reauth_needed: bool,
    /// The health state last notified (a `connector_health` signal), `None` when the last
    /// notice said it works (or none was ever sent). Changed only by
    /// [`InstanceRegistry::set_health_alert`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<HealthAlert>,
    /// When [`Self::alert`] last changed (the time of the transition its notice reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_changed_at: Option<DateTime<Utc>>,
}

/// A health state worth a notice (a `connector_health` signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthAlert {
    /// Failing: the configured number of consecutive failures was reached.
    Failing,
    /// The user must re-authorise the instance.
    ReauthNeeded,
}

impl HealthAlert {
    /// The snake_case name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Failing => "failing",
            Self::ReauthNeeded => "reauth_needed",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "failing" => Ok(Self::Failing),
            "reauth_needed" => Ok(Self::ReauthNeeded),
            other => {
                Err(StoreError::Corrupt(format!("stored health alert `{other}` is not `failing` or `reauth_needed`")))
            }
        }
    }
}

/// A backfill in progress: the runs from an empty checkpoint (the start date) to the first
/// complete run, added up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackfillProgress {
    /// When its first run started.
    pub started_at: DateTime<Utc>,
    /// Pages enqueued so far.
    pub pages: u64,
    /// Items enqueued so far.
    pub items: u64,
    /// Partitions (of a partitioned stream) whose backfill is done.
    pub partitions_done: u32,
    /// Partitions listed by the last run, for a partitioned stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partitions_total: Option<u32>,
}

/// What the poller observed of an instance's runs (seed `001_*`: last poll, change and error
/// counts; the last error is [`InstanceHealth::last_error`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncState {
    /// When the last run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_polled_at: Option<DateTime<Utc>>,
    /// Whether the last run failed (it is then retried an interval after it started).
    #[serde(default)]
    pub last_poll_failed: bool,
    /// Items enqueued by every run so far.
    #[serde(default)]
    pub change_count: u64,
    /// Runs that failed so far.
    #[serde(default)]
    pub error_count: u64,
    /// The backfill under way, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillProgress>,
}

/// One poll run, recorded on the instance in one atomic write ([`InstanceRegistry::record_poll`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRecord {
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Items it enqueued.
    pub items: u64,
    /// Whether it failed.
    pub failed: bool,
    /// Its effect on health (none for a run that stopped early without failing).
    pub health: Option<HealthUpdate>,
    /// The backfill after it: `Some(None)` ends one, `Some(Some(..))` records its progress.
    pub backfill: Option<Option<BackfillProgress>>,
    /// The instance's stored schedule after it ([`InstanceRecord::next_poll_at`]), written in
    /// the same write.
    pub next_poll_at: Option<DateTime<Utc>>,
}

impl SyncState {
    /// Applies one poll run's counts (its health goes to [`InstanceHealth::apply`]).
    pub fn apply(&mut self, poll: &PollRecord) {
        self.last_polled_at = Some(poll.started_at);
        self.last_poll_failed = poll.failed;
        self.change_count = self.change_count.saturating_add(poll.items);
        if poll.failed {
            self.error_count = self.error_count.saturating_add(1);
        }
        if let Some(backfill) = &poll.backfill {
            self.backfill = backfill.clone();
        }
    }
}

/// A stored instance. Credentials are not here: the secret store holds them and
/// `credential_secret_ref` points at them (a Secrets Manager ARN on AWS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    /// The project.
    pub project_id: String,
    /// The connector id.
    pub connector_id: String,
    /// Disabled instances are neither polled nor accept webhooks.
    pub enabled: bool,
    /// Where the credentials are (`credentialSecretArn` in DynamoDB), once stored.
    pub credential_secret_ref: Option<String>,
    /// Non-secret configuration values (`baseUrl`, `projectKey`, …).
    pub config: BTreeMap<String, String>,
    /// Health fields.
    #[serde(flatten)]
    pub health: InstanceHealth,
    /// The instance's own polling interval, within its descriptor's bounds (`None`: the
    /// descriptor's `intervalSeconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_interval_seconds: Option<u32>,
    /// What its poll runs did.
    #[serde(flatten)]
    pub sync: SyncState,
    /// The webhook subscription Switchboard manages at the provider, once it tried to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionState>,
    /// The stored schedule: when the poller's due listing
    /// ([`InstanceRegistry::list_due_instances`]) finds the instance; `None`: it does not
    /// (disabled, waiting for re-authorisation). Written by whoever knows the interval
    /// (`switchboard_core::sync_schedule::reschedule`, the poller's [`PollRecord`]); the poller
    /// still applies the schedule rule to what it finds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_poll_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl InstanceRecord {
    /// The record of a just-created instance: no credentials yet, no health observed; when
    /// enabled, due at once (its backfill starts), whatever its interval.
    pub fn created(new: &NewInstance, at: DateTime<Utc>) -> Self {
        Self {
            project_id: new.key.project_id.clone(),
            connector_id: new.key.connector_id.clone(),
            enabled: new.enabled,
            credential_secret_ref: None,
            config: new.config.clone(),
            health: InstanceHealth::default(),
            polling_interval_seconds: None,
            sync: SyncState::default(),
            subscription: None,
            next_poll_at: new.enabled.then_some(at),
            created_at: at,
            updated_at: at,
        }
    }

    /// Applies one poll run: its counts ([`SyncState::apply`]), its health
    /// ([`InstanceHealth::apply`]) and the stored schedule it carries.
    pub fn apply_poll(&mut self, poll: &PollRecord) {
        self.sync.apply(poll);
        if let Some(update) = &poll.health {
            self.health.apply(update);
        }
        self.next_poll_at = poll.next_poll_at;
    }

    /// This instance's key.
    pub fn key(&self) -> InstanceKey {
        InstanceKey::new(&self.project_id, &self.connector_id)
    }
}

/// What creating an instance needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// Which connector in which project.
    pub key: InstanceKey,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Whether it starts enabled.
    pub enabled: bool,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceUpdate {
    /// Replaces the whole config map.
    pub config: Option<BTreeMap<String, String>>,
    /// Enables or disables.
    pub enabled: Option<bool>,
    /// Sets (`Some(Some(..))`) or clears (`Some(None)`) the credential reference.
    pub credential_secret_ref: Option<Option<String>>,
    /// Sets (`Some(Some(..))`) or clears (`Some(None)`) the managed webhook subscription.
    pub subscription: Option<Option<SubscriptionState>>,
    /// Sets (`Some(Some(..))`) or clears (`Some(None)`, back to the descriptor's) the instance's
    /// polling interval in seconds.
    pub polling_interval_seconds: Option<Option<u32>>,
    /// Sets or clears "re-auth needed" (cleared when the user supplies new credentials).
    pub reauth_needed: Option<bool>,
}

/// When the poller last checked a connector's stored schedules against a full listing of its
/// instances (a sweep), and under which interval bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSweep {
    /// The interval bounds the sweep applied (`IntervalBounds::key` of
    /// `switchboard_core::sync_schedule`): a sweep under other bounds does not count.
    pub bounds: String,
    /// When it ran.
    pub swept_at: DateTime<Utc>,
}

/// The outcome of one health check or sync, folded into [`InstanceHealth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthUpdate {
    /// A health check ran.
    Checked {
        /// When.
        at: DateTime<Utc>,
        /// Whether it passed.
        healthy: bool,
        /// How long it took.
        latency_ms: u64,
        /// Why it failed.
        error: Option<String>,
    },
    /// A sync succeeded.
    Synced {
        /// When it finished.
        at: DateTime<Utc>,
    },
    /// A sync failed, or another scheduled task of the instance did (renewing its webhook
    /// subscription): the message says which.
    SyncFailed {
        /// Why.
        error: String,
        /// The user must re-authorise (sets [`InstanceHealth::reauth_needed`]).
        reauth: bool,
    },
}

impl InstanceHealth {
    /// Applies one health event: failures count up, a success resets the count.
    pub fn apply(&mut self, update: &HealthUpdate) {
        match update {
            HealthUpdate::Checked { at, healthy, latency_ms, error } => {
                self.last_health_check = Some(*at);
                self.healthy = *healthy;
                self.last_latency_ms = Some(*latency_ms);
                if *healthy {
                    self.consecutive_failures = 0;
                    self.last_error = None;
                } else {
                    self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                    self.last_error = error.clone();
                }
            }
            HealthUpdate::Synced { at } => {
                self.last_sync_at = Some(*at);
                self.consecutive_failures = 0;
                self.last_error = None;
                self.reauth_needed = false;
            }
            HealthUpdate::SyncFailed { error, reauth } => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                self.last_error = Some(error.clone());
                self.reauth_needed |= *reauth;
            }
        }
    }
}

/// Stores connector instances.
#[async_trait]
pub trait InstanceRegistry: Send + Sync {
    /// Instances of one project, ordered by connector id.
    async fn list_instances_by_project(&self, project_id: &str) -> Result<Vec<InstanceRecord>, StoreError>;

    /// Instances of one connector across projects, ordered by project id (the `GSI2` query).
    async fn list_instances_by_connector(&self, connector_id: &str) -> Result<Vec<InstanceRecord>, StoreError>;

    /// The instances of one connector whose stored schedule ([`InstanceRecord::next_poll_at`])
    /// is at or before `now`, ordered by project id. Reads only those (an index range), so its
    /// cost follows the number of due instances, not the registry's size.
    async fn list_due_instances(
        &self,
        connector_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<InstanceRecord>, StoreError>;

    /// Replaces the stored schedule of an instance (and nothing else: `updatedAt` stays);
    /// [`StoreError::NotFound`] when there is no such instance.
    async fn set_next_poll_at(&self, key: &InstanceKey, at: Option<DateTime<Utc>>) -> Result<(), StoreError>;

    /// The connector's last schedule sweep, if one was recorded.
    async fn schedule_sweep(&self, connector_id: &str) -> Result<Option<ScheduleSweep>, StoreError>;

    /// Records a schedule sweep of the connector (replacing the previous one).
    async fn record_schedule_sweep(&self, connector_id: &str, sweep: &ScheduleSweep) -> Result<(), StoreError>;

    /// One instance, or `None`.
    async fn get_instance(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>, StoreError>;

    /// Creates an instance; [`StoreError::AlreadyExists`] when it exists.
    async fn create_instance(&self, new: &NewInstance) -> Result<InstanceRecord, StoreError>;

    /// Applies a partial update; [`StoreError::NotFound`] when there is no such instance.
    async fn update_instance(&self, key: &InstanceKey, update: &InstanceUpdate) -> Result<InstanceRecord, StoreError>;

    /// Enables or disables; [`StoreError::NotFound`] when there is no such instance.
    async fn enable_instance(&self, key: &InstanceKey, enabled: bool) -> Result<(), StoreError> {
        self.update_instance(key, &InstanceUpdate { enabled: Some(enabled), ..InstanceUpdate::default() }).await?;
        Ok(())
    }

    /// Records a health check or sync outcome; returns the new health.
    async fn record_health(&self, key: &InstanceKey, update: &HealthUpdate) -> Result<InstanceHealth, StoreError>;

    /// Records one poll run (its counts, backfill progress and health) in one atomic write, so
    /// concurrent writers never lose a count; returns the new record.
    async fn record_poll(&self, key: &InstanceKey, poll: &PollRecord) -> Result<InstanceRecord, StoreError>;

    /// Compare-and-set of the notified health state: sets [`InstanceHealth::alert`] to `alert`
    /// and [`InstanceHealth::alert_changed_at`] to `at` only if `alert_changed_at` is still
    /// `expected_at` (`None`: never set). Returns whether it was set: of two writers noticing the
    /// same transition, exactly one wins and sends its notice. [`StoreError::NotFound`] when
    /// there is no such instance.
    async fn set_health_alert(
        &self,
        key: &InstanceKey,
        expected_at: Option<DateTime<Utc>>,
        alert: Option<HealthAlert>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes the instance row only; [`StoreError::NotFound`] when there is none.
    /// Use [`super::Stores::delete_instance`] to remove its secret and checkpoint too.
    async fn delete_instance(&self, key: &InstanceKey) -> Result<(), StoreError>;
}
