//! Recent signals per project, for the registry API's `GET /projects/{p}/signals` and for
//! `switchboard serve`. Downstream pipelines read the signals queue; this store is a window onto
//! it that expires.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::signal::NormalisedSignal;

/// Which of a project's signals to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalQuery {
    /// Only signals whose `timestamp` is at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only signals of this `signalType`.
    pub signal_type: Option<String>,
    /// Only signals whose `relatedItems` contain this reference.
    pub related: Option<String>,
    /// At most this many signals in the page (adapters cap it at 100; 0 means 50).
    pub limit: usize,
    /// Continue after the page that returned this token.
    pub next_token: Option<String>,
}

/// One page of signals, newest `timestamp` first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalPage {
    /// The signals.
    pub signals: Vec<NormalisedSignal>,
    /// Pass back as [`SignalQuery::next_token`] for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// Stores recent signals.
#[async_trait]
pub trait SignalStore: Send + Sync {
    /// Stores a signal for `ttl`. Storing the same signal id again replaces it (idempotent).
    async fn put_signal(&self, signal: &NormalisedSignal, ttl: Duration) -> Result<(), StoreError>;

    /// Lists a project's unexpired signals matching `query`, newest first. A malformed
    /// `next_token` is [`StoreError::Invalid`], never a panic.
    async fn list_signals(&self, project_id: &str, query: &SignalQuery) -> Result<SignalPage, StoreError>;
}
