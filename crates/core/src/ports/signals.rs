//! Recent signals per project, for the registry API's `GET /projects/{p}/signals` and for
//! `switchboard serve`. Downstream pipelines read the signals queue; this store is a window onto
//! it that expires.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};

use super::StoreError;
use crate::model::Priority;
use crate::signal::NormalisedSignal;

/// Page size when [`SignalQuery::limit`] is 0.
pub const DEFAULT_SIGNAL_PAGE: usize = 50;
/// The largest page a store returns.
pub const MAX_SIGNAL_PAGE: usize = 100;
/// How many references of one signal the stores index (see [`indexed_references`]).
pub const MAX_INDEXED_REFERENCES: usize = 20;
/// The longest reference, in bytes, the stores index (a DynamoDB partition key holds 2 KiB).
pub const MAX_REFERENCE_BYTES: usize = 512;

/// Which of a project's signals to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalQuery {
    /// Only signals whose `timestamp` is at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only signals of this `signalType`.
    pub signal_type: Option<String>,
    /// Only signals that have this reference among their [`indexed_references`]: the first
    /// [`MAX_INDEXED_REFERENCES`] distinct `relatedItems` of at most [`MAX_REFERENCE_BYTES`]
    /// (a tracker's own key comes first, so it is always among them). Stores answer it from an
    /// index by reference, not by reading the project's other signals.
    pub related: Option<String>,
    /// Only signals of this connector (`source`).
    pub source: Option<String>,
    /// Only signals of this priority.
    pub priority: Option<Priority>,
    /// At most this many signals in the page (adapters cap it at 100; 0 means 50).
    pub limit: usize,
    /// Continue after the page that returned this token.
    pub next_token: Option<String>,
}

impl SignalQuery {
    /// The page size this query asks for: `limit`, 0 meaning [`DEFAULT_SIGNAL_PAGE`], capped at
    /// [`MAX_SIGNAL_PAGE`].
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => DEFAULT_SIGNAL_PAGE,
            limit => limit.min(MAX_SIGNAL_PAGE),
        }
    }

    /// Where the page starts: strictly after this key. [`StoreError::Invalid`] if the token is
    /// malformed.
    pub fn after(&self) -> Result<Option<SignalSortKey>, StoreError> {
        self.next_token.as_deref().map(SignalSortKey::from_token).transpose()
    }

    /// The smallest sort key `since` admits (every key of a signal at or after `since` is `>=`).
    pub fn since_key(&self) -> Option<String> {
        self.since.map(fixed_width)
    }
}

/// One page of signals, newest `timestamp` first. A page may hold fewer than the limit even
/// when more signals follow (a store may stop after reading a bounded number of records); only a
/// `None` token means the end.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignalPage {
    /// The signals.
    pub signals: Vec<NormalisedSignal>,
    /// Pass back as [`SignalQuery::next_token`] for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// The references under which a store indexes `signal`: its `relatedItems` in order, without
/// repeats, empty ones or ones longer than [`MAX_REFERENCE_BYTES`], at most
/// [`MAX_INDEXED_REFERENCES`]. A listing by a reference beyond these does not find the signal
/// (the signal itself keeps every related item).
pub fn indexed_references(signal: &NormalisedSignal) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for reference in &signal.related_items {
        if out.len() == MAX_INDEXED_REFERENCES {
            break;
        }
        if !reference.is_empty() && reference.len() <= MAX_REFERENCE_BYTES && !out.contains(&reference.as_str()) {
            out.push(reference);
        }
    }
    out
}

/// Stores recent signals.
#[async_trait]
pub trait SignalStore: Send + Sync {
    /// Stores a signal for `ttl`, indexed by its [`indexed_references`] in the same write.
    /// Storing the same signal id again replaces it (idempotent), references included: one it
    /// no longer has no longer lists it.
    async fn put_signal(&self, signal: &NormalisedSignal, ttl: Duration) -> Result<(), StoreError>;

    /// Lists a project's unexpired signals matching `query`, newest first. A malformed
    /// `next_token` is [`StoreError::Invalid`], never a panic.
    async fn list_signals(&self, project_id: &str, query: &SignalQuery) -> Result<SignalPage, StoreError>;
}

/// A signal's place in its project's order, shared by every adapter: `{timestamp}#{id}`, with the
/// timestamp in UTC at fixed nanosecond width so that keys sort as text in time order (a plain
/// RFC 3339 string does not: `…00.5Z` sorts before `…00Z`). Page tokens are this key in URL-safe
/// base64, so they can go in a query string unescaped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SignalSortKey(String);

impl SignalSortKey {
    /// The key of `signal`; [`StoreError::Invalid`] if its timestamp is not RFC 3339.
    pub fn of(signal: &NormalisedSignal) -> Result<Self, StoreError> {
        let at = DateTime::parse_from_rfc3339(&signal.timestamp)
            .map_err(|_| StoreError::Invalid(format!("signal `{}` has a timestamp that is not RFC 3339", signal.id)))?;
        Ok(Self(format!("{}#{}", fixed_width(at.with_timezone(&Utc)), signal.id)))
    }

    /// Reads a page token; [`StoreError::Invalid`] unless it is one this module wrote.
    pub fn from_token(token: &str) -> Result<Self, StoreError> {
        let invalid = || StoreError::Invalid("nextToken is not a token returned by a signals listing".to_owned());
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (at, id) = text.split_once('#').ok_or_else(invalid)?;
        if id.is_empty() || DateTime::parse_from_rfc3339(at).is_err() {
            return Err(invalid());
        }
        Ok(Self(text))
    }

    /// Reads a key as stored by an adapter.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The page token that continues after this key.
    pub fn to_token(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// The key as text, as adapters store and compare it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn fixed_width(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(id: &str, timestamp: &str) -> NormalisedSignal {
        serde_json::from_value(serde_json::json!({
            "id": id, "source": "gh", "projectId": "p", "externalId": "1", "signalType": "t",
            "timestamp": timestamp, "receivedAt": timestamp, "summary": "s", "ingestion": "webhook"
        }))
        .unwrap()
    }

    #[test]
    fn sort_keys_order_by_time_whatever_the_fraction_digits_or_offset() {
        let keys: Vec<SignalSortKey> =
            ["2025-01-01T00:00:00Z", "2025-01-01T00:00:00.5Z", "2025-01-01T02:00:01+02:00", "2025-01-01T00:00:00.25Z"]
                .iter()
                .map(|t| SignalSortKey::of(&signal("a", t)).unwrap())
                .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted, [keys[0].clone(), keys[3].clone(), keys[1].clone(), keys[2].clone()]);
    }

    #[test]
    fn a_token_round_trips_and_garbage_is_invalid() {
        let key = SignalSortKey::of(&signal("sig_1", "2025-01-01T00:00:00Z")).unwrap();
        assert_eq!(SignalSortKey::from_token(&key.to_token()).unwrap(), key);
        for garbage in ["", "!!!", "bm90LWEta2V5", "MjAyNSNzaWc"] {
            assert!(matches!(SignalSortKey::from_token(garbage), Err(StoreError::Invalid(_))), "{garbage}");
        }
    }

    #[test]
    fn an_unparseable_timestamp_is_invalid() {
        assert!(matches!(SignalSortKey::of(&signal("a", "yesterday")), Err(StoreError::Invalid(_))));
    }

    #[test]
    fn indexed_references_skip_repeats_empty_and_long_ones_and_stop_at_the_bound() {
        let mut s = signal("a", "2025-01-01T00:00:00Z");
        let long = "x".repeat(MAX_REFERENCE_BYTES + 1);
        s.related_items = vec!["PROJ-1".into(), String::new(), long, "PROJ-1".into(), "o/r#2".into()];
        assert_eq!(indexed_references(&s), ["PROJ-1", "o/r#2"]);
        s.related_items = (0..MAX_INDEXED_REFERENCES + 5).map(|i| format!("K-{i}")).collect();
        let indexed = indexed_references(&s);
        let last = format!("K-{}", MAX_INDEXED_REFERENCES - 1);
        assert_eq!(
            (indexed.len(), indexed[0], indexed[MAX_INDEXED_REFERENCES - 1]),
            (MAX_INDEXED_REFERENCES, "K-0", &*last)
        );
    }

    #[test]
    fn page_size_defaults_and_caps() {
        let size = |limit| SignalQuery { limit, ..SignalQuery::default() }.page_size();
        assert_eq!((size(0), size(7), size(5000)), (DEFAULT_SIGNAL_PAGE, 7, MAX_SIGNAL_PAGE));
    }
}
