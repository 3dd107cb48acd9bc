//! [`PollRunSummary`]: what one scheduled run did, instance by instance (also the Lambda's
//! response, so `cargo lambda invoke` shows it).

use serde::Serialize;
use switchboard_core::ports::{InstanceKey, SyncRun, SyncStatus};

/// What happened to one due instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum InstanceOutcome {
    /// Polled; the run as recorded in the instance's sync log.
    Polled {
        /// The sync run.
        run: SyncRun,
    },
    /// Another poller holds the instance's lease: skipped.
    LeaseHeld,
    /// The run's deadline came before this instance's turn: left for the next run.
    Deferred,
    /// The lease could not be taken because the lease store failed.
    NotStarted {
        /// Why.
        error: String,
    },
}

/// One due instance and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceReport {
    /// Which instance.
    #[serde(flatten)]
    pub key: InstanceKey,
    /// What happened.
    #[serde(flatten)]
    pub outcome: InstanceOutcome,
}

/// What a scheduled run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PollRunSummary {
    /// Instances that were due.
    pub due: usize,
    /// Polled to the end.
    pub succeeded: usize,
    /// Polled, but stopped early (deadline, page limit, or an error after some pages).
    pub partial: usize,
    /// Polled without getting anywhere, or not started.
    pub failed: usize,
    /// Skipped because another poller held the lease.
    pub lease_held: usize,
    /// Left for the next run because the deadline came first.
    pub deferred: usize,
    /// Items put on the ingest queue.
    pub items: u64,
    /// Instance records read to find the due ones: about as many as are due, plus the full
    /// listings of the connectors swept (0 for a poll-now request).
    pub instances_read: usize,
    /// The connectors whose stored schedules this run checked against a full listing (none
    /// for most runs; see [`crate::due_instances`]).
    pub swept: Vec<String>,
    /// Stored next poll times this run corrected.
    pub rescheduled: usize,
    /// Every due instance, in the order they were found.
    pub instances: Vec<InstanceReport>,
}

impl PollRunSummary {
    /// The summary of these reports.
    pub fn new(instances: Vec<InstanceReport>) -> Self {
        let mut summary = Self { due: instances.len(), ..Self::default() };
        for report in &instances {
            match &report.outcome {
                InstanceOutcome::Polled { run } => {
                    summary.items += run.items;
                    match run.status {
                        SyncStatus::Succeeded => summary.succeeded += 1,
                        SyncStatus::Partial => summary.partial += 1,
                        SyncStatus::Failed => summary.failed += 1,
                    }
                }
                InstanceOutcome::LeaseHeld => summary.lease_held += 1,
                InstanceOutcome::Deferred => summary.deferred += 1,
                InstanceOutcome::NotStarted { .. } => summary.failed += 1,
            }
        }
        summary.instances = instances;
        summary
    }

    /// The outcome of one instance, if it was due.
    pub fn outcome(&self, key: &InstanceKey) -> Option<&InstanceOutcome> {
        self.instances.iter().find(|r| &r.key == key).map(|r| &r.outcome)
    }
}
