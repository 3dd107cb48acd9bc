//! An isolated world per test: a temporary SQLite database with the built-in GitHub descriptors
//! registered, its signals queue, and a normaliser over them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use switchboard_core::catalog::ConnectorCatalog;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{
    DedupOutcome, EntryFailure, InstanceKey, QueueMessage, QueueReceiver, QueueSender, ReceiveOptions, SendSignalOnce,
    SignalCounts, StoreError, Stores,
};
use switchboard_core::{ConnectorId, Descriptor, IngestionKind, NativeRegistry, NormalisedSignal, ProjectId};
use switchboard_embedded::{Embedded, EmbeddedQueue};
use switchboard_normaliser::{InboundMessage, Normaliser, NormaliserSettings};
use tempfile::TempDir;

pub const PROJECT: &str = "p1";

pub struct World {
    _dir: TempDir,
    pub db: Embedded,
    pub stores: Stores,
    pub signals_queue: EmbeddedQueue,
    pub normaliser: Normaliser,
}

impl World {
    /// A world whose normaliser sends straight to the signals queue.
    pub async fn new() -> Self {
        Self::with_sender(|queue| Arc::new(queue)).await
    }

    /// A world whose normaliser sends through `wrap(signals queue)`.
    pub async fn with_sender(wrap: impl FnOnce(EmbeddedQueue) -> Arc<dyn QueueSender>) -> Self {
        Self::with_settings(NormaliserSettings::default(), wrap).await
    }

    /// A world whose normaliser has `settings` and sends through `wrap(signals queue)`.
    pub async fn with_settings(
        settings: NormaliserSettings,
        wrap: impl FnOnce(EmbeddedQueue) -> Arc<dyn QueueSender>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Embedded::open(&dir.path().join("switchboard.db")).unwrap();
        let stores = db.stores();
        for id in ["github-issues", "github-prs"] {
            let descriptor = Descriptor::from_file(&repo_path(&format!("descriptors/{id}.json"))).unwrap();
            stores.descriptors.register_descriptor(descriptor.model(), true).await.unwrap();
        }
        let signals_queue = db.signals_queue();
        let catalog =
            Arc::new(ConnectorCatalog::new(stores.descriptors.clone(), NativeRegistry::new(), Duration::from_secs(60)));
        let normaliser = Normaliser::new(catalog, &stores, wrap(signals_queue.clone()), settings);
        Self { _dir: dir, db, stores, signals_queue, normaliser }
    }

    /// This world, its normaliser sending each signal, recording its id and storing its recent
    /// copy in one write through `once` (as `switchboard serve` does with the embedded signals
    /// queue).
    pub fn sending_once(mut self, once: impl FnOnce(EmbeddedQueue) -> Arc<dyn SendSignalOnce>) -> Self {
        let once = once(self.signals_queue.clone());
        self.normaliser = self.normaliser.with_send_once(once);
        self
    }

    /// Receives and acks everything on the signals queue.
    pub async fn drain_signals(&self) -> Vec<NormalisedSignal> {
        let mut signals = Vec::new();
        loop {
            let received = self.signals_queue.receive(ReceiveOptions::default()).await.unwrap();
            if received.is_empty() {
                return signals;
            }
            for message in received {
                signals.push(serde_json::from_str(&message.message.body).unwrap());
                self.signals_queue.ack(&message.receipt).await.unwrap();
            }
        }
    }

    /// This hour's counts of an instance.
    pub async fn counts(&self, connector_id: &str) -> SignalCounts {
        let key = InstanceKey::new(PROJECT, connector_id);
        let now = Utc::now();
        let hours = self
            .stores
            .stats
            .signal_counts(&key, now - chrono::TimeDelta::hours(2), now + chrono::TimeDelta::hours(1))
            .await
            .unwrap();
        hours.into_iter().fold(SignalCounts::default(), |mut total, hour| {
            total.signals += hour.counts.signals;
            total.ignored += hour.counts.ignored;
            total.duplicates += hour.counts.duplicates;
            total.failed += hour.counts.failed;
            total
        })
    }
}

/// A file of the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
}

/// A GitHub issue as the issues API lists it.
pub fn issue(number: u64, updated_at: &str) -> Value {
    json!({
        "id": 1000 + number,
        "number": number,
        "title": format!("Issue {number}"),
        "state": "open",
        "comments": 0,
        "user": {"login": "octocat"},
        "labels": [],
        "assignees": [],
        "html_url": format!("https://github.com/octo/repo/issues/{number}"),
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": updated_at,
        "closed_at": null
    })
}

/// A polled item's envelope body.
pub fn polled(item: Value) -> String {
    envelope("github-issues", IngestionKind::Polling, None, item)
}

/// An envelope body.
pub fn envelope(connector_id: &str, ingestion: IngestionKind, event_type: Option<&str>, payload: Value) -> String {
    let received_at: DateTime<Utc> = "2024-05-01T12:00:00Z".parse().unwrap();
    let (connector_id, project_id) = (ConnectorId::parse(connector_id).unwrap(), ProjectId::parse(PROJECT).unwrap());
    match ingestion {
        IngestionKind::Webhook => {
            Envelope::webhook(connector_id, project_id, received_at, event_type.map(str::to_owned), None, payload)
        }
        IngestionKind::Polling => Envelope::polled(connector_id, project_id, received_at, payload),
    }
    .to_json()
}

/// Messages `m0, m1, …` with these bodies.
pub fn messages(bodies: &[String]) -> Vec<InboundMessage> {
    bodies.iter().enumerate().map(|(i, body)| InboundMessage::new(format!("m{i}"), body.clone())).collect()
}

/// A fixture file as JSON.
pub fn fixture(relative: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_path(&format!("tests/fixtures/{relative}"))).unwrap()).unwrap()
}

/// A signals queue whose first send never returns, as if the process died while sending.
pub struct HangingSender {
    pub inner: EmbeddedQueue,
    pub hung: AtomicBool,
}

#[async_trait]
impl QueueSender for HangingSender {
    async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        if !self.hung.swap(true, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.send_entries(entries).await
    }
}

/// A signals queue that fails its first `failures` sends, as if SQS were unreachable.
pub struct FlakySender {
    pub inner: EmbeddedQueue,
    pub failures: AtomicU32,
}

impl FlakySender {
    /// Counts a send down; `Err` while failures are left.
    fn fail_now(&self) -> Result<(), StoreError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(StoreError::backend("sending queue messages", "connection reset by peer"));
        }
        Ok(())
    }
}

#[async_trait]
impl SendSignalOnce for FlakySender {
    async fn send_signal_once(
        &self,
        signal: &NormalisedSignal,
        message: &QueueMessage,
        dedup_ttl: Duration,
        recent_ttl: Duration,
    ) -> Result<DedupOutcome, StoreError> {
        self.fail_now()?;
        self.inner.send_signal_once(signal, message, dedup_ttl, recent_ttl).await
    }
}

#[async_trait]
impl QueueSender for FlakySender {
    async fn send_entries(&self, entries: &[QueueMessage]) -> Result<Vec<EntryFailure>, StoreError> {
        self.fail_now()?;
        self.inner.send_entries(entries).await
    }
}
