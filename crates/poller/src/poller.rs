//! [`Poller`]: one scheduled run over every due instance, a few at a time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::ports::{QueueSender, RetryPolicy, Stores};
use tokio::sync::watch;

use switchboard_core::health_notice::DEFAULT_FAILURE_THRESHOLD;
use switchboard_core::ports::InstanceKey;

use crate::due::{DEFAULT_INTERVAL, DEFAULT_SWEEP_INTERVAL, DueInstance, due_instances, pollable_now};
use crate::error::PollerError;
use crate::summary::PollRunSummary;

/// Default of [`PollerSettings::instance_budget`]: a fifth of a five-minute poller run.
pub const DEFAULT_INSTANCE_BUDGET: Duration = Duration::from_secs(60);

/// Tunables of a [`Poller`].
#[derive(Debug, Clone)]
pub struct PollerSettings {
    /// Instances polled at the same time (at least 1).
    pub concurrency: usize,
    /// How long an instance's lease lasts unless renewed. While an instance is polled its lease
    /// is renewed in the background every third of this; the instance's work stops as soon as a
    /// renewal finds the lease lost (or cannot renew it before it lapses).
    pub lease_ttl: Duration,
    /// Wall-clock time one instance may take in a run, so one slow tenant cannot hold the
    /// others: no request starts after it, and a request still running when it ends is
    /// abandoned and recorded as a transient error (the checkpoint stays at the last page
    /// enqueued).
    pub instance_budget: Duration,
    /// Time kept free before the deadline: no request starts after `deadline - safety_margin`,
    /// leaving room for the last page's enqueue, checkpoint and bookkeeping. Keep it above the
    /// engine's request timeout.
    pub safety_margin: Duration,
    /// Interval of connectors whose descriptor sets none.
    pub default_interval: Duration,
    /// How often each polling connector's stored schedules are checked against a full listing
    /// of its instances (a sweep: [`crate::due_instances`]); between sweeps a run reads only
    /// the due instances.
    pub schedule_sweep_interval: Duration,
    /// How rejected ingest-queue entries are resent before the page fails.
    pub send_retry: RetryPolicy,
    /// Consecutive failures after which a `connector_health` notice says the instance is failing
    /// ([`switchboard_core::health_notice`]; at least 1).
    pub failure_threshold: u32,
}

impl Default for PollerSettings {
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease_ttl: Duration::from_secs(120),
            instance_budget: DEFAULT_INSTANCE_BUDGET,
            safety_margin: Duration::from_secs(40),
            default_interval: DEFAULT_INTERVAL,
            schedule_sweep_interval: DEFAULT_SWEEP_INTERVAL,
            send_retry: RetryPolicy::default(),
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
        }
    }
}

/// The time limits of one run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunLimits {
    /// No request starts after this.
    pub(crate) stop_at: Instant,
    /// The run's hard end: a request still going is abandoned.
    pub(crate) deadline: Instant,
}

/// Polls due instances and enqueues their items, each through its connector. Build it once per
/// process: the catalogue caches connectors, and its polling driver keeps per-instance rate
/// limiters and single-flight OAuth2 refreshes.
pub struct Poller {
    pub(crate) stores: Stores,
    pub(crate) catalog: Arc<ConnectorCatalog>,
    pub(crate) ingest: Arc<dyn QueueSender>,
    pub(crate) settings: PollerSettings,
    /// Becomes `true` when the process is shutting down.
    pub(crate) stop: Option<watch::Receiver<bool>>,
}

impl Poller {
    /// A poller over `stores`, polling the connectors of `catalog` (give it a polling driver:
    /// [`ConnectorCatalog::with_poll_driver`]) and sending envelopes to `ingest`.
    pub fn new(
        stores: Stores,
        catalog: Arc<ConnectorCatalog>,
        ingest: Arc<dyn QueueSender>,
        settings: PollerSettings,
    ) -> Self {
        Self { stores, catalog, ingest, settings, stop: None }
    }

    /// Stops runs early once `stop` becomes `true` (a long-running process shutting down): the
    /// page being enqueued is finished and checkpointed, a request in progress is abandoned,
    /// instances not started are deferred, and the next run resumes from the checkpoint.
    #[must_use]
    pub fn with_stop(mut self, stop: watch::Receiver<bool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Whether a stop was asked for.
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| *stop.borrow())
    }

    /// Resolves once a stop is asked for; never without [`Self::with_stop`].
    pub(crate) async fn stopping(&self) {
        match self.stop.clone() {
            Some(mut stop) => {
                if stop.wait_for(|stopping| *stopping).await.is_err() {
                    std::future::pending::<()>().await; // The sender is gone: no stop will come.
                }
            }
            None => std::future::pending().await,
        }
    }

    /// Polls every instance due at `now`, at most `concurrency` at a time, and stops starting
    /// requests `safety_margin` before `deadline`; instances not reached by then are deferred
    /// to the next run. Each instance gets at most `instance_budget` of it. Each instance's
    /// failure is recorded on the instance (sync log and health); only a failure to find the
    /// due instances fails the run. Then the webhook subscriptions due for renewal are renewed
    /// ([`Self::renew_subscriptions`]).
    pub async fn run_due(&self, now: DateTime<Utc>, deadline: Instant) -> Result<PollRunSummary, PollerError> {
        let stop_at = deadline.checked_sub(self.settings.safety_margin).unwrap_or(deadline);
        let run = RunLimits { stop_at, deadline };
        // Unique per run: a lease is re-entrant for its holder, so two runs must not share one.
        let holder = format!("poller-{}", uuid::Uuid::new_v4());
        let settings = &self.settings;
        let listing =
            due_instances(&self.stores, settings.default_interval, settings.schedule_sweep_interval, now).await?;
        tracing::info!(
            due = listing.instances.len(),
            instances_read = listing.instances_read,
            swept = ?listing.swept,
            rescheduled = listing.rescheduled,
            %holder,
            "polling due instances"
        );
        let mut summary = self.poll_all(listing.instances, &holder, run).await;
        summary.instances_read = listing.instances_read;
        summary.swept = listing.swept;
        summary.rescheduled = listing.rescheduled;
        self.renew_subscriptions(now).await;
        tracing::info!(
            due = summary.due,
            instances_read = summary.instances_read,
            swept = ?summary.swept,
            succeeded = summary.succeeded,
            partial = summary.partial,
            failed = summary.failed,
            lease_held = summary.lease_held,
            deferred = summary.deferred,
            items = summary.items,
            "poll run finished"
        );
        Ok(summary)
    }

    /// Polls the instances at `keys` now, whatever their schedule: a new or re-enabled
    /// instance starts its sync (a backfill from its start date) without waiting for the next
    /// scheduled run. Instances that are missing, disabled, waiting for re-authorisation or of a
    /// connector that does not poll are skipped; one another poller holds is reported as such.
    pub async fn poll_now(&self, keys: &[InstanceKey], deadline: Instant) -> Result<PollRunSummary, PollerError> {
        let stop_at = deadline.checked_sub(self.settings.safety_margin).unwrap_or(deadline);
        let run = RunLimits { stop_at, deadline };
        let holder = format!("poller-{}", uuid::Uuid::new_v4());
        let mut instances = Vec::new();
        for key in keys {
            match pollable_now(&self.stores, key, self.settings.default_interval).await? {
                Some(instance) => instances.push(instance),
                None => tracing::info!(instance = %key, "poll-now request skipped: not a pollable, enabled instance"),
            }
        }
        tracing::info!(requested = keys.len(), polled = instances.len(), %holder, "polling instances now");
        Ok(self.poll_all(instances, &holder, run).await)
    }

    /// Polls `instances`, at most `concurrency` at a time.
    async fn poll_all(&self, instances: Vec<DueInstance>, holder: &str, run: RunLimits) -> PollRunSummary {
        let reports = futures_util::stream::iter(instances)
            .map(|instance| self.poll_instance(instance, holder, run))
            .buffered(self.settings.concurrency.max(1))
            .collect()
            .await;
        PollRunSummary::new(reports)
    }
}
