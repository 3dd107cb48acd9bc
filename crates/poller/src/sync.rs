//! Polling one instance: take its lease (renewed in the background while the instance is
//! polled), fetch page by page within the instance's time budget, enqueue each page's items,
//! THEN advance the checkpoint; store refreshed OAuth2 tokens at once (only the token fields);
//! record the sync run and the instance's health; give the lease back.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret as _;
use switchboard_core::health_notice;
use switchboard_core::polling::{Checkpoint, GuardTrip, PollRequest, RunNote, StopReason};
use switchboard_core::ports::{
    BackfillProgress, CredentialChange, Credentials, HealthUpdate, InstanceKey, InstanceRecord, PollRecord,
    QueueMessage, StoreError, SyncRun, SyncStatus, send_batch,
};
use switchboard_core::signal::IngestionKind;
use switchboard_core::sync_schedule::{next_poll_at, reschedule};
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::due::{DueInstance, REAUTH_NEEDED};
use crate::enqueue::{EnvelopeBuilder, SkippedItem};
use crate::error::PollerError;
use crate::lease::keep_lease;
use crate::poller::{Poller, RunLimits};
use crate::summary::{InstanceOutcome, InstanceReport};

/// The time limits of one instance in a run.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// No request starts after this (the run's stop time or the end of the instance's budget).
    stop_at: Instant,
    /// A request still going at this point is abandoned.
    cut_at: Instant,
    /// Whether `cut_at` is the end of the instance's budget (rather than the run's deadline).
    budget: Option<Duration>,
}

/// How far one instance's run got.
#[derive(Default)]
struct Progress {
    pages: u32,
    items: u64,
    stop: Option<StopReason>,
    guard: Option<GuardTrip>,
    /// What the run's record should say besides (a checkpoint reset, the rate budget).
    notes: Vec<RunNote>,
    /// The stored checkpoint continues an unfinished run.
    resuming: bool,
    /// The credentials stored last in this run.
    saved_credentials: Option<Credentials>,
    /// The run was cut short because the process is stopping or the run's deadline came.
    stopped: bool,
    /// Items too large for the queue, left out.
    skipped: Vec<SkippedItem>,
    /// The run started from no checkpoint: a backfill from the start date begins.
    from_scratch: bool,
    /// Partitions whose checkpoint holds a position and no resume point after the run.
    partitions_done: u32,
    /// Partitions the run listed, for a partitioned stream.
    partitions_total: Option<u32>,
}

impl Poller {
    /// Polls one instance under its lease and records the outcome.
    pub(crate) async fn poll_instance(&self, due: DueInstance, holder: &str, run: RunLimits) -> InstanceReport {
        let key = due.record.key();
        let span = tracing::info_span!("instance", connector_id = %key.connector_id, project_id = %key.project_id);
        let outcome = self.poll_leased(&due.record, due.interval, holder, run).instrument(span).await;
        InstanceReport { key, outcome }
    }

    async fn poll_leased(
        &self,
        instance: &InstanceRecord,
        interval: Duration,
        holder: &str,
        run: RunLimits,
    ) -> InstanceOutcome {
        if Instant::now() >= run.stop_at {
            tracing::info!("deadline reached before this instance's turn; deferred to the next run");
            return InstanceOutcome::Deferred;
        }
        if self.stop_requested() {
            tracing::info!("stopping before this instance's turn; deferred to the next run");
            return InstanceOutcome::Deferred;
        }
        let key = instance.key();
        let ttl = self.settings.lease_ttl;
        match self.stores.leases.acquire_lease(&key, holder, ttl).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::info!("another poller holds the lease; skipped");
                return InstanceOutcome::LeaseHeld;
            }
            Err(error) => {
                tracing::error!(%error, "cannot take the lease; skipped");
                return InstanceOutcome::NotStarted { error: error.to_string() };
            }
        }

        let started_at = Utc::now();
        let clock = Instant::now();
        let budget_end = clock.checked_add(self.settings.instance_budget).unwrap_or(run.deadline);
        let limits = if budget_end < run.stop_at {
            Limits { stop_at: budget_end, cut_at: budget_end, budget: Some(self.settings.instance_budget) }
        } else {
            Limits { stop_at: run.stop_at, cut_at: run.deadline, budget: None }
        };
        let mut progress = Progress::default();
        let (lost_tx, lost_rx) = watch::channel(false);
        let result = {
            let sync = self.sync(instance, limits, &mut progress, lost_rx);
            let keep = keep_lease(&*self.stores.leases, &key, holder, ttl, lost_tx);
            tokio::pin!(sync);
            tokio::select! {
                result = &mut sync => result,
                lost = keep => {
                    // The sync sees the lease is gone at its next step, stores refreshed tokens
                    // and stops without enqueuing or checkpointing anything more.
                    if let Err(error) = sync.await {
                        tracing::info!(%error, "the instance's work ended after the lease was lost");
                    }
                    Err(PollerError::LeaseLost(lost))
                }
            }
        };
        let (run, health) = progress.conclude(started_at, clock.elapsed(), result.as_ref().err());
        let mut poll = PollRecord {
            started_at,
            items: run.items,
            failed: result.is_err(),
            backfill: progress.backfill(instance, &run, health.as_ref()),
            health,
            next_poll_at: None,
        };
        // The next poll time after this run, stored in the same write as the run.
        let mut after = instance.clone();
        after.apply_poll(&poll);
        poll.next_poll_at = next_poll_at(&after, interval);
        self.record(&key, &run, &poll, interval, result.as_ref().err()).await;
        if let Err(error) = self.stores.leases.release_lease(&key, holder).await {
            tracing::warn!(%error, "cannot release the lease; it expires by itself");
        }
        InstanceOutcome::Polled { run }
    }

    /// Fetches, enqueues and checkpoints page by page until the API has no more, the time is
    /// up, the lease is lost, or something fails.
    async fn sync(
        &self,
        instance: &InstanceRecord,
        limits: Limits,
        progress: &mut Progress,
        mut lease_lost: watch::Receiver<bool>,
    ) -> Result<(), PollerError> {
        let key = instance.key();
        // Checked once: every envelope of the run carries these.
        let (connector_id, project_id) = key.ids().map_err(PollerError::InvalidInstance)?;
        let loaded = self
            .catalog
            .get(&key.connector_id)
            .await
            .map_err(|source| PollerError::Catalog { connector_id: key.connector_id.clone(), source })?
            .ok_or_else(|| PollerError::UnknownConnector(key.connector_id.clone()))?;
        let credentials = self
            .stores
            .secrets
            .get_credentials(&key)
            .await
            .map_err(PollerError::store("reading credentials"))?
            .map(|versions| versions.current)
            .unwrap_or_default();
        let stored = self
            .stores
            .checkpoints
            .read_checkpoint(&key)
            .await
            .map_err(PollerError::store("reading the checkpoint"))?;
        let (mut version, mut current) = stored.map_or((0, String::new()), |c| (c.version, c.value));
        let checkpoint = Checkpoint::parse(&current)?;
        progress.from_scratch = checkpoint == Checkpoint::default();
        progress.resuming = checkpoint.is_resuming();

        let request = PollRequest {
            checkpoint: Some(checkpoint),
            time_budget: Some(limits.stop_at.saturating_duration_since(Instant::now())),
            ..PollRequest::new(&instance.config, &credentials)
        };
        let mut builder = EnvelopeBuilder {
            key: &key,
            connector_id: &connector_id,
            project_id: &project_id,
            mapper: loaded.descriptor.mapper(IngestionKind::Polling),
            config: loaded.connector.mapping_config(IngestionKind::Polling, &instance.config),
            received_at: Utc::now(),
        };
        // Through the connector's own face: a native connector polls here just like a generic one.
        let mut pages = loaded.connector.pages(request)?;
        let result = loop {
            let next = tokio::select! {
                next = pages.next_page() => next,
                () = self.stopping() => {
                    tracing::info!(pages = progress.pages, "stopping: the next run resumes from the checkpoint");
                    progress.stopped = true;
                    break Ok(());
                }
                () = tokio::time::sleep_until(limits.cut_at.into()) => match limits.budget {
                    Some(budget) => break Err(PollerError::BudgetExceeded(budget)),
                    None => {
                        tracing::info!(pages = progress.pages, "run deadline: the next run resumes from the checkpoint");
                        progress.stopped = true;
                        break Ok(());
                    }
                },
                Ok(_) = lease_lost.wait_for(|lost| *lost) => break Ok(()),
            };
            let page = match next {
                Ok(Some(page)) => page,
                Ok(None) => break Ok(()),
                Err(error) => break Err(PollerError::Poll(error)),
            };
            if let Some(refreshed) = &page.refreshed_credentials
                && let Err(error) = self.save_credentials(&key, refreshed, progress).await
            {
                break Err(error);
            }
            if *lease_lost.borrow() {
                break Ok(()); // Another poller may be on it now: enqueue and checkpoint nothing more.
            }
            let items = page.items.len() as u64;
            builder.received_at = Utc::now();
            let (messages, skipped) = builder.messages(page.index, page.items);
            if let Err(error) = self.send(messages).await {
                break Err(error);
            }
            // Only now that every item of the page is on the queue may the checkpoint move.
            let next = page.checkpoint_after.to_string();
            if next != current {
                match self.stores.checkpoints.advance_checkpoint(&key, version, &next).await {
                    Ok(advanced) => (version, current) = (advanced.version, next),
                    Err(error @ StoreError::ConditionFailed(_)) => break Err(PollerError::CheckpointConflict(error)),
                    Err(error) => break Err(PollerError::store("advancing the checkpoint")(error)),
                }
            }
            progress.pages += 1;
            progress.items += items - skipped.len() as u64;
            progress.skipped.extend(skipped);
            progress.resuming = page.checkpoint_after.is_resuming();
            tracing::debug!(page = page.index, items, "page enqueued and checkpointed");
        };

        let summary = pages.summary();
        if let Ok(reached) = Checkpoint::parse(&current) {
            let done = reached.partitions.values().filter(|p| p.position.is_some() && p.resume.is_none()).count();
            progress.partitions_done = u32::try_from(done).unwrap_or(u32::MAX);
        }
        progress.partitions_total = summary.notes.iter().find_map(|note| match note {
            RunNote::Partitions { listed, .. } => Some(u32::try_from(*listed).unwrap_or(u32::MAX)),
            _ => None,
        });
        progress.stop = summary.stop;
        progress.guard = summary.guard;
        progress.notes = summary.notes;
        // A refresh during a failed or cut-short request is only in the summary: store it even
        // after an error, or a rotated refresh token is lost.
        if let Some(refreshed) = &summary.refreshed_credentials
            && let Err(error) = self.save_credentials(&key, refreshed, progress).await
        {
            match result {
                Ok(()) => return Err(error),
                Err(_) => tracing::error!(%error, "refreshed OAuth2 credentials could not be stored"),
            }
        }
        result
    }

    /// Puts a page's messages on the ingest queue.
    async fn send(&self, messages: Vec<QueueMessage>) -> Result<(), PollerError> {
        if messages.is_empty() {
            return Ok(());
        }
        send_batch(&*self.ingest, &messages, self.settings.send_retry, tokio::time::sleep)
            .await
            .map_err(PollerError::Enqueue)
    }

    /// Stores the token fields of refreshed OAuth2 credentials (merged into the latest stored
    /// version with a compare-and-swap, so a concurrent edit of another field survives) unless
    /// this run already stored the same ones.
    async fn save_credentials(
        &self,
        key: &InstanceKey,
        credentials: &Credentials,
        progress: &mut Progress,
    ) -> Result<(), PollerError> {
        if progress.saved_credentials.as_ref().is_some_and(|saved| same_credentials(saved, credentials)) {
            return Ok(());
        }
        let tokens = CredentialChange::oauth_tokens(credentials);
        self.stores.update_credentials(key, &tokens).await.map_err(PollerError::CredentialsNotSaved)?;
        tracing::info!("refreshed OAuth2 credentials stored");
        progress.saved_credentials = Some(credentials.clone());
        Ok(())
    }

    /// Appends the run to the sync log, records it on the instance (counts, backfill progress,
    /// health) and sends the health notice it calls for, if any.
    async fn record(
        &self,
        key: &InstanceKey,
        run: &SyncRun,
        poll: &PollRecord,
        interval: Duration,
        error: Option<&PollerError>,
    ) {
        match error {
            None => tracing::info!(
                status = run.status.as_str(),
                pages = run.pages,
                items = run.items,
                duration_ms = run.duration_ms,
                "instance polled"
            ),
            Some(error) => tracing::warn!(
                status = run.status.as_str(),
                pages = run.pages,
                items = run.items,
                duration_ms = run.duration_ms,
                error_type = error.retry_class().as_str(),
                %error,
                "instance poll failed"
            ),
        }
        if let Err(error) = self.stores.stats.record_sync_run(key, run).await {
            tracing::warn!(%error, "cannot record the sync run");
        }
        let mut record = match self.stores.instances.record_poll(key, poll).await {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(%error, "cannot record the run on the instance");
                return;
            }
        };
        // A change that landed while this instance was polled (disabled, new interval) moves the
        // next poll time from the one written with the run: stored again from the record as it
        // now is (no write when they agree, the usual case).
        if let Err(error) = reschedule(&*self.stores.instances, &mut record, interval).await {
            tracing::warn!(%error, "cannot correct the stored next poll time; the next sweep does");
        }
        let notice = health_notice::notify(
            &*self.stores.instances,
            &*self.ingest,
            key,
            &record.health,
            self.settings.failure_threshold,
            self.settings.send_retry,
            tokio::time::sleep,
        )
        .await;
        if let Err(error) = notice {
            tracing::warn!(%error, "cannot send the instance's health notice; the next run tries again");
        }
    }
}

impl Progress {
    /// The sync run to log and the health update to record (none for a run that stopped early
    /// without failing: `lastSyncAt` stays, so the instance is due again at once and continues).
    fn conclude(
        &self,
        started_at: DateTime<Utc>,
        duration: Duration,
        error: Option<&PollerError>,
    ) -> (SyncRun, Option<HealthUpdate>) {
        let (status, error, health) = match error {
            Some(error) => {
                let text = describe(error);
                let status = if self.pages > 0 { SyncStatus::Partial } else { SyncStatus::Failed };
                let reauth = error.needs_reauth();
                (status, Some(text.clone()), Some(HealthUpdate::SyncFailed { error: text, reauth }))
            }
            // The credential's rate budget is spent: stopped cleanly, said why (in the notes).
            None if self.stop == Some(StopReason::RateBudget) => (SyncStatus::Partial, None, None),
            None if self.stop == Some(StopReason::TimeBudget) || self.resuming || self.stopped => {
                (SyncStatus::Partial, None, None)
            }
            None => {
                let synced = Some(HealthUpdate::Synced { at: Utc::now() });
                match &self.guard {
                    // The API misbehaved (a repeated or empty page); what came before is kept.
                    Some(guard) => (SyncStatus::Partial, Some(guard.to_string()), synced),
                    None => (SyncStatus::Succeeded, None, synced),
                }
            }
        };
        // A checkpoint reset or a rate budget spent is said in the run's text, after any error;
        // the partitions a run covered are not a problem to report (they are logged).
        let error = self
            .notes
            .iter()
            .filter(|note| !matches!(note, RunNote::Partitions { .. }))
            .map(ToString::to_string)
            .fold(error, |text, note| Some(text.map_or(note.clone(), |text| format!("{text}; {note}"))));
        let (status, error) = match self.skipped.as_slice() {
            [] => (status, error),
            skipped => {
                let list: Vec<String> = skipped.iter().map(ToString::to_string).collect();
                let note = format!(
                    "{} item(s) too large for the queue even with only their mapped fields were left out: {}",
                    skipped.len(),
                    list.join(", ")
                );
                let status = if status == SyncStatus::Succeeded { SyncStatus::Partial } else { status };
                (status, Some(error.map_or(note.clone(), |error| format!("{error}; {note}"))))
            }
        };
        let run = SyncRun {
            started_at,
            status,
            pages: self.pages,
            items: self.items,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            error,
        };
        (run, health)
    }
}

impl Progress {
    /// The instance's backfill after this run: one begins when a run starts from no checkpoint
    /// and ends with the first complete run; in between, each run adds its pages and items.
    fn backfill(
        &self,
        instance: &InstanceRecord,
        run: &SyncRun,
        health: Option<&HealthUpdate>,
    ) -> Option<Option<BackfillProgress>> {
        let before = match (&instance.sync.backfill, self.from_scratch) {
            (Some(before), _) => before.clone(),
            (None, true) => BackfillProgress { started_at: run.started_at, ..BackfillProgress::default() },
            (None, false) => return None,
        };
        if matches!(health, Some(HealthUpdate::Synced { .. })) {
            return Some(None);
        }
        Some(Some(BackfillProgress {
            pages: before.pages + u64::from(run.pages),
            items: before.items + run.items,
            partitions_done: self.partitions_done,
            partitions_total: self.partitions_total.or(before.partitions_total),
            ..before
        }))
    }
}

/// The error as recorded on the instance, marked when the user must re-authorise.
fn describe(error: &PollerError) -> String {
    if error.needs_reauth() { format!("{REAUTH_NEEDED}: {error}") } else { error.to_string() }
}

/// Whether two credential sets hold the same values (compared in memory, never logged).
fn same_credentials(a: &Credentials, b: &Credentials) -> bool {
    a.to_json().expose_secret() == b.to_json().expose_secret()
}
