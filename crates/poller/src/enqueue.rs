//! Turning a page's items into ingest-queue messages, one envelope each. An item whose envelope
//! is over the queue's message limit never blocks its instance: it is reduced to what the
//! descriptor's mapping reads, and if that is still too large it is skipped and reported (the
//! sync log names it), so the checkpoint can move past it.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;
use switchboard_core::envelope::Envelope;
use switchboard_core::mapping::{FieldMapper, MapContext};
use switchboard_core::ports::{InstanceKey, MAX_MESSAGE_BYTES, QueueMessage};
use switchboard_core::signal::IngestionKind;
use switchboard_core::{ConnectorId, ProjectId};

/// An item left out because even reduced it does not fit in a queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkippedItem {
    /// The item's id (the mapping's `idPath`), when it has one.
    pub(crate) id: Option<String>,
    /// Its position on its page.
    pub(crate) page: u32,
    /// Its position in the page's items.
    pub(crate) index: usize,
    /// The size of its smallest envelope.
    pub(crate) bytes: usize,
}

impl fmt::Display for SkippedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "id `{id}`")?,
            None => write!(f, "item {} of page {}", self.index + 1, self.page + 1)?,
        }
        write!(f, " ({} bytes)", self.bytes)
    }
}

/// Builds the messages of one page's items.
pub(crate) struct EnvelopeBuilder<'a> {
    pub(crate) key: &'a InstanceKey,
    pub(crate) connector_id: &'a ConnectorId,
    pub(crate) project_id: &'a ProjectId,
    /// The polling mapping of the instance's connector, if it has one.
    pub(crate) mapper: Option<&'a FieldMapper>,
    /// The instance config values the mapping reads, carried by every envelope.
    pub(crate) config: BTreeMap<String, String>,
    pub(crate) received_at: DateTime<Utc>,
}

impl EnvelopeBuilder<'_> {
    /// One message per item that fits (reduced if needed), and the items that do not.
    pub(crate) fn messages(&self, page: u32, items: Vec<Value>) -> (Vec<QueueMessage>, Vec<SkippedItem>) {
        let mut messages = Vec::with_capacity(items.len());
        let mut skipped = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            let envelope = self.envelope(item);
            let message = QueueMessage::for_instance(envelope.to_json(), self.key);
            if message.size_bytes() <= MAX_MESSAGE_BYTES {
                messages.push(message);
                continue;
            }
            let original = message.size_bytes();
            let item = envelope.payload;
            let id = self.mapper.and_then(|m| m.external_id(&item));
            let reduced = self.mapper.map(|mapper| self.message(mapper.reduce_item(&item, &self.map_context())));
            match reduced {
                Some(message) if message.size_bytes() <= MAX_MESSAGE_BYTES => {
                    tracing::warn!(
                        item_id = id.as_deref().unwrap_or("-"),
                        bytes = original,
                        reduced_bytes = message.size_bytes(),
                        "item too large for the queue; enqueued with only the fields its mapping reads"
                    );
                    messages.push(message);
                }
                reduced => {
                    let bytes = reduced.map_or(original, |m| m.size_bytes());
                    let item = SkippedItem { id, page, index, bytes };
                    tracing::error!(item = %item, limit = MAX_MESSAGE_BYTES, "item too large for the queue even reduced; skipped");
                    skipped.push(item);
                }
            }
        }
        (messages, skipped)
    }

    fn envelope(&self, payload: Value) -> Envelope {
        Envelope::polled(self.connector_id.clone(), self.project_id.clone(), self.received_at, payload)
            .with_config(self.config.clone())
    }

    fn message(&self, payload: Value) -> QueueMessage {
        QueueMessage::for_instance(self.envelope(payload).to_json(), self.key)
    }

    fn map_context(&self) -> MapContext<'_> {
        MapContext {
            connector_id: self.connector_id.as_str(),
            project_id: self.project_id.as_str(),
            ingestion: IngestionKind::Polling,
            event_type: None,
            received_at: self.received_at,
            config: Some(&self.config),
        }
    }
}
