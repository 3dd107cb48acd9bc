//! [`Normaliser`]: one batch of ingest-queue messages in, signals out, failed message ids back.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt as _;
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::envelope::Envelope;
use switchboard_core::mapping::{MapContext, MapReport};
use switchboard_core::ports::{
    DedupOutcome, DedupStore, InstanceKey, QueueMessage, QueueSender, RetryPolicy, SendSignalOnce, SignalCounts,
    SignalStore, StatsStore, StoreError, Stores, send_batch,
};
use switchboard_core::signal::{IngestionKind, NormalisedSignal};
use tracing::{Instrument as _, Span, field};

use crate::error::NormaliserError;

/// How long a signal id is remembered for deduplication.
pub const DEFAULT_DEDUP_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a signal id is claimed while its signal is being sent: longer than a Lambda
/// invocation may run (30 s), shorter than the ingest queue's visibility timeout (180 s), so a
/// redelivery after a crash finds the claim expired and sends the signal.
pub const DEFAULT_CLAIM_TTL: Duration = Duration::from_secs(60);
/// How long a signal stays in the recent-signals store.
pub const DEFAULT_RECENT_SIGNAL_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Messages of one batch handled at the same time.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// Message attribute carrying a signal's type on the signals queue (for subscription filters).
pub const ATTR_SIGNAL_TYPE: &str = "signalType";

/// Tunables of a [`Normaliser`].
#[derive(Debug, Clone)]
pub struct NormaliserSettings {
    /// How long a signal id is remembered for deduplication.
    pub dedup_ttl: Duration,
    /// How long a signal id is claimed before its signal is sent and the claim confirmed for
    /// [`dedup_ttl`](Self::dedup_ttl). Keep it longer than a batch may take and shorter than
    /// the ingest queue's visibility timeout.
    pub claim_ttl: Duration,
    /// How long a signal stays in the recent-signals store.
    pub recent_signal_ttl: Duration,
    /// Messages of one batch handled at the same time (at least 1).
    pub concurrency: usize,
    /// How rejected signals-queue entries are resent before the message fails.
    pub send_retry: RetryPolicy,
}

impl Default for NormaliserSettings {
    fn default() -> Self {
        Self {
            dedup_ttl: DEFAULT_DEDUP_TTL,
            claim_ttl: DEFAULT_CLAIM_TTL,
            recent_signal_ttl: DEFAULT_RECENT_SIGNAL_TTL,
            concurrency: DEFAULT_CONCURRENCY,
            send_retry: RetryPolicy::default(),
        }
    }
}

/// One ingest-queue message as the normaliser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The queue's message id (what a partial batch failure names).
    pub id: String,
    /// The envelope JSON.
    pub body: String,
    /// How many times the queue has delivered it, this time included (SQS's
    /// `ApproximateReceiveCount`). Unmappable items are counted in the stats on the first receive
    /// only, so retries on their way to the dead-letter queue do not inflate the count.
    pub receive_count: u32,
}

impl InboundMessage {
    /// A message on its first receive.
    pub fn new(id: impl Into<String>, body: impl Into<String>) -> Self {
        Self { id: id.into(), body: body.into(), receive_count: 1 }
    }
}

/// What one batch produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Ids of the messages that must be received again (and, after the redrive count, go to the
    /// dead-letter queue), in batch order.
    pub failed_ids: Vec<String>,
    /// Signals sent to the signals queue.
    pub signals: u64,
    /// Signals dropped because their id was seen before.
    pub duplicates: u64,
    /// Items that are not signals (no rule matched, or an event type the connector ignores).
    pub ignored: u64,
    /// Items that could not be mapped (in this attempt).
    pub errors: u64,
}

/// What happened to one message.
#[derive(Default)]
struct MessageReport {
    key: Option<InstanceKey>,
    counts: SignalCounts,
    /// Unmappable items, whether or not they count in the stats.
    errors: u64,
}

/// Maps ingest-queue envelopes into signals. Build it once per process: its connector catalogue
/// caches descriptors between batches.
pub struct Normaliser {
    catalog: Arc<ConnectorCatalog>,
    dedup: Arc<dyn DedupStore>,
    signals_queue: Arc<dyn QueueSender>,
    /// The signals queue's atomic send, when its backend has one (the embedded database): each
    /// signal is then sent, recorded and kept as a recent signal in one write, without a claim.
    signals_once: Option<Arc<dyn SendSignalOnce>>,
    signal_store: Arc<dyn SignalStore>,
    stats: Arc<dyn StatsStore>,
    settings: NormaliserSettings,
}

impl Normaliser {
    /// A normaliser over `stores` (dedup, recent signals, stats) sending to `signals_queue`.
    pub fn new(
        catalog: Arc<ConnectorCatalog>,
        stores: &Stores,
        signals_queue: Arc<dyn QueueSender>,
        settings: NormaliserSettings,
    ) -> Self {
        Self {
            catalog,
            dedup: stores.dedup.clone(),
            signals_queue,
            signals_once: None,
            signal_store: stores.signals.clone(),
            stats: stores.stats.clone(),
            settings,
        }
    }

    /// This normaliser, sending each signal, recording its id and storing its recent copy in one
    /// write through `signals_once` (the same queue it was built with, over the same database as
    /// its recent-signals store) instead of claim, send, store and confirm.
    #[must_use]
    pub fn with_send_once(self, signals_once: Arc<dyn SendSignalOnce>) -> Self {
        Self { signals_once: Some(signals_once), ..self }
    }

    /// Handles a batch: every message in its own span, signals sent, stats added once per
    /// instance. Returns which messages failed; the others are done and may be deleted.
    pub async fn process_batch(&self, messages: &[InboundMessage]) -> BatchOutcome {
        // Indices rather than `&InboundMessage` items: a closure over borrowed items makes the
        // future fail `Send` checks when a caller spawns it (higher-ranked lifetime inference).
        let results: Vec<(MessageReport, bool)> = futures_util::stream::iter(0..messages.len())
            .map(|index| self.process_message(&messages[index]))
            .buffered(self.settings.concurrency.max(1))
            .collect()
            .await;

        let mut outcome = BatchOutcome::default();
        let mut per_instance: BTreeMap<InstanceKey, SignalCounts> = BTreeMap::new();
        for (message, (report, ok)) in messages.iter().zip(results) {
            if !ok {
                outcome.failed_ids.push(message.id.clone());
            }
            outcome.signals += report.counts.signals;
            outcome.duplicates += report.counts.duplicates;
            outcome.ignored += report.counts.ignored;
            outcome.errors += report.errors;
            if let Some(key) = report.key {
                *per_instance.entry(key).or_default() += report.counts;
            }
        }
        self.record_stats(per_instance).await;
        outcome
    }

    /// Handles one message; `true` when it is done.
    async fn process_message(&self, message: &InboundMessage) -> (MessageReport, bool) {
        let span = tracing::info_span!(
            "message",
            message_id = %message.id,
            connector_id = field::Empty,
            project_id = field::Empty,
            delivery_id = field::Empty,
        );
        async {
            let mut report = MessageReport::default();
            match self.normalise(message, &mut report).await {
                Ok(()) => {
                    tracing::debug!(
                        signals = report.counts.signals,
                        duplicates = report.counts.duplicates,
                        ignored = report.counts.ignored,
                        "message normalised"
                    );
                    (report, true)
                }
                Err(error) => {
                    let error_type = error.retry_class().as_str();
                    tracing::warn!(error_type, %error, receive_count = message.receive_count, "message failed");
                    (report, false)
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn normalise(&self, message: &InboundMessage, report: &mut MessageReport) -> Result<(), NormaliserError> {
        // The payload stays text here: the connector parses only what its mapping reads.
        let envelope = Envelope::from_json_borrowed(&message.body)?;
        Span::current().record("connector_id", envelope.connector_id.as_str());
        Span::current().record("project_id", envelope.project_id.as_str());
        if let Some(delivery_id) = &envelope.delivery_id {
            Span::current().record("delivery_id", delivery_id.as_str());
        }
        let key = envelope.key();
        report.key = Some(key.clone());
        if let Some(notice) = envelope.notice {
            // Raised by Switchboard about the instance (a health notice): passed on as it is,
            // deduplicated by its id, and not counted among the instance's own signals.
            let signals = [*notice];
            return self.deliver(&signals, &key, &mut SignalCounts::default()).await;
        }

        let connector_id = envelope.connector_id.as_str();
        let loaded = self
            .catalog
            .get(connector_id)
            .await
            .map_err(|source| NormaliserError::Catalog { connector_id: connector_id.to_owned(), source })?
            .ok_or_else(|| NormaliserError::UnknownConnector(connector_id.to_owned()))?;
        let ctx = MapContext {
            connector_id,
            project_id: envelope.project_id.as_str(),
            ingestion: envelope.ingestion,
            // Decided once by the webhook gateway; the connector does not decide it again.
            event_type: envelope.event_type.as_deref(),
            received_at: envelope.received_at,
            // The instance values the mapping reads, put in the envelope by its producer.
            config: Some(&envelope.config),
        };
        let first_receive = message.receive_count <= 1;
        let mapped = match envelope.ingestion {
            IngestionKind::Webhook => loaded.connector.map_json(envelope.payload.get(), &ctx),
            IngestionKind::Polling => loaded.connector.map_item_json(envelope.payload.get(), &ctx),
        };
        let mapped: MapReport = match mapped {
            Ok(mapped) => mapped,
            Err(error) => {
                report.errors += 1;
                report.counts.failed += u64::from(first_receive);
                return Err(error.into());
            }
        };

        report.counts.ignored = mapped.ignored.len() as u64;
        for item in &mapped.ignored {
            tracing::debug!(item_index = item.index, external_id = ?item.external_id, reason = %item.reason, "item ignored");
        }
        // Signals of the good items go out even when other items failed: the message's retry
        // finds them in the dedup store and does not send them twice.
        self.deliver(&mapped.signals, &key, &mut report.counts).await?;

        let Some(first) = mapped.errors.first() else { return Ok(()) };
        for error in &mapped.errors {
            tracing::warn!(
                item_index = error.index,
                external_id = ?error.external_id,
                field = %error.field,
                path = %error.path,
                reason = %error.message,
                "item could not be mapped"
            );
        }
        report.errors += mapped.errors.len() as u64;
        if first_receive {
            report.counts.failed += mapped.errors.len() as u64;
        }
        Err(NormaliserError::Items { count: mapped.errors.len(), first: Box::new(first.clone()) })
    }

    /// Sends the signals not seen before and stores them as recent signals.
    ///
    /// Each id is first claimed for [`NormaliserSettings::claim_ttl`] and only confirmed for the
    /// full dedup time to live once its signal is sent and stored: if the process dies in
    /// between, the claim expires before the message comes back, and the retry sends it. With an
    /// atomic send, [`Self::deliver_once`] instead.
    async fn deliver(
        &self,
        signals: &[NormalisedSignal],
        key: &InstanceKey,
        counts: &mut SignalCounts,
    ) -> Result<(), NormaliserError> {
        if let Some(once) = &self.signals_once {
            return self.deliver_once(once.as_ref(), signals, key, counts).await;
        }
        let mut fresh: Vec<&NormalisedSignal> = Vec::new();
        for signal in signals {
            match self.dedup.insert_if_absent(&signal.id, self.settings.claim_ttl).await {
                Ok(DedupOutcome::Inserted) => fresh.push(signal),
                Ok(DedupOutcome::Duplicate) => {
                    counts.duplicates += 1;
                    tracing::debug!(signal_id = %signal.id, "duplicate signal dropped");
                }
                Err(error) => {
                    self.forget(&fresh).await;
                    return Err(NormaliserError::Dedup(error));
                }
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }

        let messages: Vec<QueueMessage> = fresh.iter().map(|signal| signal_message(signal, key)).collect();
        let Err(error) =
            send_batch(&*self.signals_queue, &messages, self.settings.send_retry, tokio::time::sleep).await
        else {
            self.store_recent(&fresh, counts).await;
            self.confirm(&fresh).await;
            return Ok(());
        };
        // `SendFailed` names the entries that were not accepted; any other error, all of them.
        let not_accepted: Vec<usize> = match &error {
            StoreError::SendFailed { failed, .. } => failed.iter().map(|f| f.index).collect(),
            _ => (0..fresh.len()).collect(),
        };
        let (unsent, sent): (Vec<_>, Vec<_>) =
            fresh.iter().enumerate().partition(|(index, _)| not_accepted.contains(index));
        let unsent: Vec<&NormalisedSignal> = unsent.into_iter().map(|(_, signal)| *signal).collect();
        let sent: Vec<&NormalisedSignal> = sent.into_iter().map(|(_, signal)| *signal).collect();
        self.forget(&unsent).await;
        self.store_recent(&sent, counts).await;
        self.confirm(&sent).await;
        Err(NormaliserError::SignalsQueue(error))
    }

    /// [`Self::deliver`] through an atomic send: each signal, its dedup record and its recent
    /// copy in one write. A failure leaves the signals before it sent, recorded and stored, and
    /// nothing of the rest: the message's retry finds the first as duplicates and sends the
    /// others. A duplicate's recent copy was stored by the write that sent it.
    async fn deliver_once(
        &self,
        once: &dyn SendSignalOnce,
        signals: &[NormalisedSignal],
        key: &InstanceKey,
        counts: &mut SignalCounts,
    ) -> Result<(), NormaliserError> {
        let (dedup_ttl, recent_ttl) = (self.settings.dedup_ttl, self.settings.recent_signal_ttl);
        for signal in signals {
            let message = signal_message(signal, key);
            match once.send_signal_once(signal, &message, dedup_ttl, recent_ttl).await {
                Ok(DedupOutcome::Inserted) => {
                    counts.signals += 1;
                    tracing::info!(signal_id = %signal.id, signal_type = %signal.signal_type, "signal sent");
                }
                Ok(DedupOutcome::Duplicate) => {
                    counts.duplicates += 1;
                    tracing::debug!(signal_id = %signal.id, "duplicate signal dropped");
                }
                Err(error) => return Err(NormaliserError::SignalsQueue(error)),
            }
        }
        Ok(())
    }

    /// Counts sent signals and keeps them in the recent-signals store. That store is a window
    /// for the dashboard, so a failure is logged but does not fail the message (its retry would
    /// find the signal already sent).
    async fn store_recent(&self, sent: &[&NormalisedSignal], counts: &mut SignalCounts) {
        counts.signals += sent.len() as u64;
        for signal in sent {
            tracing::info!(signal_id = %signal.id, signal_type = %signal.signal_type, "signal sent");
            self.keep_recent(signal).await;
        }
    }

    /// Puts `signal` in the recent-signals store; a failure is logged (see [`Self::store_recent`]).
    async fn keep_recent(&self, signal: &NormalisedSignal) {
        if let Err(error) = self.signal_store.put_signal(signal, self.settings.recent_signal_ttl).await {
            tracing::warn!(signal_id = %signal.id, %error, "could not store the signal in the recent-signals store");
        }
    }

    /// Turns the claims of sent signals into lasting dedup records. A failure is logged: the
    /// signal is out, and only a repeat arriving after the claim expired would be sent again.
    async fn confirm(&self, sent: &[&NormalisedSignal]) {
        for signal in sent {
            if let Err(error) = self.dedup.confirm(&signal.id, self.settings.dedup_ttl).await {
                tracing::warn!(signal_id = %signal.id, %error, "could not confirm the dedup record of a sent signal");
            }
        }
    }

    /// Removes dedup records of signals that were not sent, so the message's retry sends them.
    async fn forget(&self, signals: &[&NormalisedSignal]) {
        for signal in signals {
            if let Err(error) = self.dedup.forget(&signal.id).await {
                tracing::error!(
                    signal_id = %signal.id,
                    %error,
                    "could not forget the dedup record of an unsent signal; a retry will treat it as a duplicate"
                );
            }
        }
    }

    /// Adds each instance's counts once per batch.
    async fn record_stats(&self, per_instance: BTreeMap<InstanceKey, SignalCounts>) {
        let now = Utc::now();
        for (key, counts) in per_instance {
            if counts == SignalCounts::default() {
                continue;
            }
            if let Err(error) = self.stats.add_signal_counts(&key, now, counts).await {
                tracing::warn!(connector_id = %key.connector_id, project_id = %key.project_id, %error, "could not add signal counts");
            }
        }
    }
}

/// A signal as a signals-queue message, tagged with its instance and type.
fn signal_message(signal: &NormalisedSignal, key: &InstanceKey) -> QueueMessage {
    // A signal is strings and JSON values: serialising it cannot fail.
    let body = serde_json::to_string(signal).unwrap_or_default();
    QueueMessage::for_instance(body, key).with_attribute(ATTR_SIGNAL_TYPE, signal.signal_type.clone())
}
