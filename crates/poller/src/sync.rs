//! Polling one instance: take its lease, fetch page by page, enqueue each page's items, THEN
//! advance the checkpoint; store refreshed OAuth2 tokens at once; record the sync run and the
//! instance's health; give the lease back.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use switchboard_core::envelope::Envelope;
use switchboard_core::polling::{Checkpoint, GuardTrip, PollRequest, StopReason};
use switchboard_core::ports::{
    Credentials, HealthUpdate, InstanceKey, InstanceRecord, QueueMessage, StoreError, SyncRun, SyncStatus, send_batch,
};
use switchboard_core::{ConnectorId, ProjectId};
use tracing::Instrument as _;

use crate::due::REAUTH_NEEDED;
use crate::error::PollerError;
use crate::poller::Poller;
use crate::summary::{InstanceOutcome, InstanceReport};

/// How far one instance's run got.
#[derive(Default)]
struct Progress {
    pages: u32,
    items: u64,
    stop: Option<StopReason>,
    guard: Option<GuardTrip>,
    /// The stored checkpoint continues an unfinished run.
    resuming: bool,
    /// The credentials stored last in this run.
    saved_credentials: Option<Credentials>,
    /// The run was cut short because the process is stopping.
    stopped: bool,
}

impl Poller {
    /// Polls one instance under its lease and records the outcome.
    pub(crate) async fn poll_instance(
        &self,
        instance: InstanceRecord,
        holder: &str,
        stop_at: Instant,
    ) -> InstanceReport {
        let key = instance.key();
        let span = tracing::info_span!("instance", connector_id = %key.connector_id, project_id = %key.project_id);
        let outcome = self.poll_leased(&instance, holder, stop_at).instrument(span).await;
        InstanceReport { key, outcome }
    }

    async fn poll_leased(&self, instance: &InstanceRecord, holder: &str, stop_at: Instant) -> InstanceOutcome {
        if Instant::now() >= stop_at {
            tracing::info!("deadline reached before this instance's turn; deferred to the next run");
            return InstanceOutcome::Deferred;
        }
        if self.stop_requested() {
            tracing::info!("stopping before this instance's turn; deferred to the next run");
            return InstanceOutcome::Deferred;
        }
        let key = instance.key();
        match self.stores.leases.acquire_lease(&key, holder, self.settings.lease_ttl).await {
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
        let mut progress = Progress::default();
        let result = self.sync(instance, holder, stop_at, &mut progress).await;
        let (run, health) = progress.conclude(started_at, clock.elapsed(), result.as_ref().err());
        self.record(&key, &run, health, result.as_ref().err()).await;
        if let Err(error) = self.stores.leases.release_lease(&key, holder).await {
            tracing::warn!(%error, "cannot release the lease; it expires by itself");
        }
        InstanceOutcome::Polled { run }
    }

    /// Fetches, enqueues and checkpoints page by page until the API has no more, the time is
    /// up, or something fails.
    async fn sync(
        &self,
        instance: &InstanceRecord,
        holder: &str,
        stop_at: Instant,
        progress: &mut Progress,
    ) -> Result<(), PollerError> {
        let key = instance.key();
        // Checked once: every envelope of the run carries these.
        let ids = key.ids().map_err(PollerError::InvalidInstance)?;
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
        progress.resuming = checkpoint.is_resuming();

        let request = PollRequest {
            checkpoint: Some(checkpoint),
            time_budget: Some(stop_at.saturating_duration_since(Instant::now())),
            ..PollRequest::new(&instance.config, &credentials)
        };
        // Through the connector's own face: a native connector polls here just like a generic one.
        let mut pages = loaded.connector.pages(request)?;
        let mut lease_renewed = Instant::now();
        let result = loop {
            let next = tokio::select! {
                next = pages.next_page() => next,
                () = self.stopping() => {
                    tracing::info!(pages = progress.pages, "stopping: the next run resumes from the checkpoint");
                    progress.stopped = true;
                    break Ok(());
                }
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
            let items = page.items.len() as u64;
            if let Err(error) = self.enqueue(&key, &ids, page.items).await {
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
            progress.items += items;
            progress.resuming = page.checkpoint_after.is_resuming();
            tracing::debug!(page = page.index, items, "page enqueued and checkpointed");
            if lease_renewed.elapsed() >= self.settings.lease_ttl / 2 {
                if let Err(error) = self.stores.leases.renew_lease(&key, holder, self.settings.lease_ttl).await {
                    break Err(PollerError::LeaseLost(error));
                }
                lease_renewed = Instant::now();
            }
        };

        let summary = pages.summary();
        progress.stop = summary.stop;
        progress.guard = summary.guard;
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

    /// Puts one envelope per item on the ingest queue.
    async fn enqueue(
        &self,
        key: &InstanceKey,
        (connector_id, project_id): &(ConnectorId, ProjectId),
        items: Vec<Value>,
    ) -> Result<(), PollerError> {
        if items.is_empty() {
            return Ok(());
        }
        let received_at = Utc::now();
        let messages: Vec<QueueMessage> = items
            .into_iter()
            .map(|payload| {
                let envelope = Envelope::polled(connector_id.clone(), project_id.clone(), received_at, payload);
                QueueMessage::for_instance(envelope.to_json(), key)
            })
            .collect();
        send_batch(&*self.ingest, &messages, self.settings.send_retry, tokio::time::sleep)
            .await
            .map_err(PollerError::Enqueue)
    }

    /// Stores refreshed OAuth2 credentials unless this run already stored the same ones.
    async fn save_credentials(
        &self,
        key: &InstanceKey,
        credentials: &Credentials,
        progress: &mut Progress,
    ) -> Result<(), PollerError> {
        if progress.saved_credentials.as_ref().is_some_and(|saved| same_credentials(saved, credentials)) {
            return Ok(());
        }
        self.stores.store_credentials(key, credentials).await.map_err(PollerError::CredentialsNotSaved)?;
        tracing::info!("refreshed OAuth2 credentials stored");
        progress.saved_credentials = Some(credentials.clone());
        Ok(())
    }

    /// Appends the run to the sync log and folds it into the instance's health.
    async fn record(
        &self,
        key: &InstanceKey,
        run: &SyncRun,
        health: Option<HealthUpdate>,
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
        if let Some(update) = health
            && let Err(error) = self.stores.instances.record_health(key, &update).await
        {
            tracing::warn!(%error, "cannot record the instance's health");
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
                (status, Some(text.clone()), Some(HealthUpdate::SyncFailed { error: text }))
            }
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

/// The error as recorded on the instance, marked when the user must re-authorise.
fn describe(error: &PollerError) -> String {
    if error.needs_reauth() { format!("{REAUTH_NEEDED}: {error}") } else { error.to_string() }
}

/// Whether two credential sets hold the same values (compared in memory, never logged).
fn same_credentials(a: &Credentials, b: &Credentials) -> bool {
    a.to_json().expose_secret() == b.to_json().expose_secret()
}
