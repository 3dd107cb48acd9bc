//! The context packet of a reference key (`PROJ-123`, `octo/repo#12`): the tracker item that is
//! the key, then one page of the project's signals that reference it, grouped by kind, with the
//! people involved.
//!
//! - **Related signals** are one page of `GET /projects/{p}/signals?related={key}` (newest first,
//!   the same `since`, `limit` and `nextToken` rules, the same access check), grouped by
//!   [`switchboard_core::context::classify`] on each source's catalogue category and the signal
//!   type; groups keep the listing's order (newest first) and appear in
//!   [`ContextKind::ALL`]'s order, empty ones left out.
//! - **The item** is the newest signal that [`is_item`] says is the key, sought among the newest
//!   [`ITEM_SCAN`] signals that reference the key whatever `since` and the page (so every page of
//!   a packet names the same item); it is left out of the groups. `None` when no tracker signal
//!   is the key.
//! - **Participants** are everyone named in the item and the page's signals, the most involved
//!   (in the most signals) first, ties in the order they are first met (item, then newest first).

use std::collections::HashMap;

use switchboard_core::NormalisedSignal;
use switchboard_core::context::{ContextKind, classify, is_item};
use switchboard_core::model::ConnectorCategory;
use switchboard_core::ports::{MAX_SIGNAL_PAGE, SignalQuery};

use crate::auth::Caller;
use crate::service::error::ServiceError;
use crate::service::signals::{self, SignalFilter};
use crate::state::RegistryState;

/// The longest reference key accepted, in characters.
pub const MAX_KEY_CHARS: usize = 256;
/// How many of the newest signals referencing a key are searched for its item.
pub const ITEM_SCAN: usize = 5 * MAX_SIGNAL_PAGE;

/// What to put in a packet: the key and the paging of its related signals, as sent.
#[derive(Debug, Clone, Default)]
pub struct ContextRequest {
    /// The reference key.
    pub key: String,
    /// Only related signals at or after this RFC 3339 instant.
    pub since: Option<String>,
    /// Related signals per page.
    pub limit: Option<usize>,
    /// The previous page's token.
    pub next_token: Option<String>,
}

/// A key's context packet (one page of it).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextPacket {
    /// The reference key.
    pub key: String,
    /// The newest tracker signal that is the key.
    pub item: Option<NormalisedSignal>,
    /// The page's related signals by kind, non-empty groups only, in [`ContextKind::ALL`] order.
    pub groups: Vec<ContextGroup>,
    /// Everyone involved, the most involved first.
    pub participants: Vec<Participant>,
    /// The token of the next page of related signals; `None` on the last.
    pub next_token: Option<String>,
}

/// Related signals of one kind, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextGroup {
    /// The kind.
    pub kind: ContextKind,
    /// The signals.
    pub signals: Vec<NormalisedSignal>,
}

/// Someone named in the packet's signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// As the source names them (a login, a display name, a user id).
    pub name: String,
    /// In how many of the packet's signals they appear.
    pub signals: usize,
}

/// The packet of `request.key` in `project_id`: `NotFound` for a project of someone else,
/// `Invalid` for a bad key, `since`, `limit` or `nextToken`.
pub async fn packet(
    state: &RegistryState,
    caller: &Caller,
    project_id: &str,
    request: ContextRequest,
) -> Result<ContextPacket, ServiceError> {
    let ContextRequest { key, since, limit, next_token } = request;
    check_key(&key)?;
    let filter = SignalFilter { since, related: Some(key.clone()), limit, next_token, ..SignalFilter::default() };
    // Checks access and the paging input before anything else is read.
    let page = signals::list(state, caller, project_id, filter).await?;
    let mut categories = Categories::new(state);
    let item = find_item(state, project_id, &key, &mut categories).await?;
    let mut grouped: Vec<(ContextKind, NormalisedSignal)> = Vec::with_capacity(page.signals.len());
    for signal in page.signals {
        if item.as_ref().is_some_and(|item| item.id == signal.id) {
            continue;
        }
        let kind = classify(categories.of(&signal.source).await?, &signal.signal_type);
        grouped.push((kind, signal));
    }
    let participants = participants(item.iter().chain(grouped.iter().map(|(_, s)| s)));
    let groups = ContextKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let signals: Vec<NormalisedSignal> =
                grouped.iter().filter(|(k, _)| *k == kind).map(|(_, s)| s.clone()).collect();
            (!signals.is_empty()).then_some(ContextGroup { kind, signals })
        })
        .collect();
    Ok(ContextPacket { key, item, groups, participants, next_token: page.next_token })
}

/// A key is 1 to [`MAX_KEY_CHARS`] characters, none of them a control character.
fn check_key(key: &str) -> Result<(), ServiceError> {
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(format!(
            "the reference key must be 1 to {MAX_KEY_CHARS} characters without control characters \
             (such as PROJ-123 or octo/repo#12, percent-encoded in the path)"
        )));
    }
    Ok(())
}

/// The newest signal among the [`ITEM_SCAN`] newest referencing `key` that is the key's item.
async fn find_item(
    state: &RegistryState,
    project_id: &str,
    key: &str,
    categories: &mut Categories<'_>,
) -> Result<Option<NormalisedSignal>, ServiceError> {
    let mut query = SignalQuery { related: Some(key.to_owned()), limit: MAX_SIGNAL_PAGE, ..SignalQuery::default() };
    let mut scanned = 0;
    while scanned < ITEM_SCAN {
        let page = state.stores.signals.list_signals(project_id, &query).await?;
        scanned += page.signals.len().max(1);
        for signal in page.signals {
            let kind = classify(categories.of(&signal.source).await?, &signal.signal_type);
            if is_item(&signal, kind, key) {
                return Ok(Some(signal));
            }
        }
        match page.next_token {
            Some(token) => query.next_token = Some(token),
            None => break,
        }
    }
    Ok(None)
}

/// Everyone named in `signals`, in the most signals first; ties in the order first met.
fn participants<'s>(signals: impl Iterator<Item = &'s NormalisedSignal>) -> Vec<Participant> {
    let mut seen: Vec<Participant> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for signal in signals {
        let names: Vec<&str> = signal.participants.iter().map(String::as_str).filter(|n| !n.is_empty()).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                continue;
            }
            match at.get(name) {
                Some(&index) => seen[index].signals += 1,
                None => {
                    at.insert(name, seen.len());
                    seen.push(Participant { name: (*name).to_owned(), signals: 1 });
                }
            }
        }
    }
    // A stable sort keeps first-met order among equals.
    seen.sort_by_key(|p| std::cmp::Reverse(p.signals));
    seen
}

/// Each source's catalogue category, read once per packet (`None`: no such descriptor, as for
/// Switchboard's own `connector_health` signals).
struct Categories<'s> {
    state: &'s RegistryState,
    known: HashMap<String, Option<ConnectorCategory>>,
}

impl<'s> Categories<'s> {
    fn new(state: &'s RegistryState) -> Self {
        Self { state, known: HashMap::new() }
    }

    async fn of(&mut self, source: &str) -> Result<Option<ConnectorCategory>, ServiceError> {
        if let Some(category) = self.known.get(source) {
            return Ok(*category);
        }
        let record = self.state.stores.descriptors.get_descriptor(source).await?;
        let category = record.map(|r| r.descriptor.category);
        self.known.insert(source.to_owned(), category);
        Ok(category)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(participants: &[&str]) -> NormalisedSignal {
        serde_json::from_value(serde_json::json!({
            "id": "s", "source": "x", "projectId": "p", "externalId": "1", "signalType": "t",
            "timestamp": "2025-01-01T00:00:00Z", "receivedAt": "2025-01-01T00:00:00Z", "summary": "s",
            "ingestion": "webhook", "participants": participants
        }))
        .unwrap()
    }

    #[test]
    fn participants_are_ordered_by_involvement_then_first_met() {
        let signals = [signal(&["ann", "bob"]), signal(&["cat", "bob", "bob"]), signal(&["cat", ""]), signal(&["dan"])];
        let found = participants(signals.iter());
        let names: Vec<(&str, usize)> = found.iter().map(|p| (p.name.as_str(), p.signals)).collect();
        assert_eq!(names, [("bob", 2), ("cat", 2), ("ann", 1), ("dan", 1)]);
    }

    #[test]
    fn keys_must_be_short_printable_text() {
        assert!(check_key("PROJ-123").is_ok());
        assert!(check_key("octo/repo#12").is_ok());
        assert!(check_key(&"K".repeat(MAX_KEY_CHARS)).is_ok());
        for bad in [String::new(), "K".repeat(MAX_KEY_CHARS + 1), "PROJ-1\n".to_owned(), "a\u{0}b".to_owned()] {
            let err = check_key(&bad).unwrap_err().to_string();
            assert!(err.contains("reference key must be 1 to 256 characters"), "{err}");
        }
    }
}
