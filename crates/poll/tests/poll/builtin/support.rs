//! Shared helpers: the built-in descriptors and fixtures, an engine on a manual clock, polling
//! one delta, and the assertions every connector's test makes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::support::Delta;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use switchboard_core::polling::{Checkpoint, PollRequest, StopReason};
use switchboard_core::{Descriptor, IngestionKind, MapContext, NormalisedSignal};
use switchboard_poll::PollEngine;
use switchboard_poll::{Credentials, ManualTimer, PollOptions};
use wiremock::{MockServer, Request, ResponseTemplate};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A built-in descriptor from `descriptors/<id>.json`.
pub fn descriptor(id: &str) -> Descriptor {
    Descriptor::from_file(&workspace_root().join("descriptors").join(format!("{id}.json")))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A fixture from `tests/fixtures/<connector>/<file>`.
pub fn fixture(connector: &str, file: &str) -> Value {
    let path = workspace_root().join("tests/fixtures").join(connector).join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An RFC 3339 time.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}")).with_timezone(&Utc)
}

/// A time as the APIs write it: `2024-05-06T10:01:17.554Z`.
pub fn iso_millis(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time as GitHub writes it: `2011-04-22T13:33:48Z`.
pub fn iso_seconds(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A copy of `item` with the values at JSON pointers replaced.
pub fn with(item: &Value, changes: &[(&str, Value)]) -> Value {
    let mut copy = item.clone();
    for (pointer, value) in changes {
        *copy.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer} not in the item")) = value.clone();
    }
    copy
}

/// An engine on a manual clock: rate-limit waits are recorded, not slept.
pub fn engine() -> (PollEngine, ManualTimer) {
    engine_with(|_| {})
}

/// [`engine`] with options changed by `change`.
pub fn engine_with(change: impl FnOnce(&mut PollOptions)) -> (PollEngine, ManualTimer) {
    let timer = ManualTimer::new(at("2024-01-01T00:00:00Z"));
    let mut options = PollOptions {
        timer: Arc::new(timer.clone()),
        request_timeout: Duration::from_secs(5),
        egress: crate::support::loopback_fakes(),
        ..PollOptions::default()
    };
    change(&mut options);
    (PollEngine::new(options).unwrap(), timer)
}

/// Config from pairs.
pub fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Credentials from pairs.
pub fn credentials(pairs: &[(&str, &str)]) -> Credentials {
    pairs.iter().copied().collect()
}

/// One whole run from `checkpoint`; a failed request (e.g. the fake's 404 for a request no
/// mock matched) fails the test with the engine's error.
pub async fn poll(
    engine: &PollEngine,
    descriptor: &Descriptor,
    config: &BTreeMap<String, String>,
    credentials: &Credentials,
    checkpoint: Option<&Checkpoint>,
) -> Delta {
    let mut request = PollRequest::new(config, credentials);
    request.checkpoint = checkpoint.cloned();
    crate::support::fetch_delta(engine, descriptor, request)
        .await
        .unwrap_or_else(|e| panic!("{} poll failed: {e}", descriptor.id()))
}

/// The requests the fake received since it had received `before`.
pub async fn requests_after(server: &MockServer, before: usize) -> Vec<Request> {
    server.received_requests().await.expect("recording is on").split_off(before)
}

/// How many requests the fake has received.
pub async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.expect("recording is on").len()
}

/// A decoded query parameter of a request.
pub fn param(request: &Request, name: &str) -> Option<String> {
    request.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A request's JSON body.
pub fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

/// An API error answer.
pub fn error(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// The items' ids (the descriptor's `idPath`), in order.
pub fn ids(descriptor: &Descriptor, items: &[Value]) -> Vec<String> {
    let mapper = descriptor.mapper(IngestionKind::Polling).expect("a polling connector");
    items.iter().map(|item| mapper.external_id(item).expect("every item has an id")).collect()
}

/// Asserts the run ended normally after `pages` pages and delivered exactly `expected` (ids,
/// in order), each once.
pub fn assert_delivered(descriptor: &Descriptor, delta: &Delta, pages: u32, expected: &[String]) {
    assert_eq!(delta.stop, StopReason::Complete, "{}: {:?}", descriptor.id(), delta.guard);
    assert_eq!(delta.guard, None);
    assert_eq!(delta.pages, pages, "{}: pages fetched", descriptor.id());
    let got = ids(descriptor, &delta.items);
    let unique: BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "{}: an item was delivered twice", descriptor.id());
    assert_eq!(got, expected, "{}: items delivered", descriptor.id());
}

/// Asserts a complete run's checkpoint: the newest item time, and the ids seen at it.
pub fn assert_checkpoint(delta: &Delta, position: &str, seen: &[&str]) {
    let checkpoint = &delta.new_checkpoint;
    assert_eq!(checkpoint.resume, None, "a complete run leaves nothing to resume");
    assert_eq!(checkpoint.position.as_deref(), Some(position));
    assert_eq!(checkpoint.seen_at_position, seen);
}

/// Maps one polled item as the normaliser does.
pub fn map(descriptor: &Descriptor, item: &Value) -> Option<NormalisedSignal> {
    let ctx = MapContext {
        connector_id: descriptor.id(),
        project_id: "p1",
        ingestion: IngestionKind::Polling,
        event_type: None,
        received_at: at("2024-06-01T00:00:00Z"),
        config: None,
    };
    let report = descriptor.map_item(item, &ctx);
    assert!(report.errors.is_empty(), "{}: {:?}", descriptor.id(), report.errors);
    report.signals.into_iter().next()
}

/// The signal type of each item (`None`: the item is not a signal).
pub fn signal_types(descriptor: &Descriptor, items: &[Value]) -> Vec<Option<String>> {
    items.iter().map(|item| map(descriptor, item).map(|s| s.signal_type)).collect()
}

/// The signal ids of the items that are signals.
pub fn signal_ids(descriptor: &Descriptor, items: &[Value]) -> BTreeSet<String> {
    items.iter().filter_map(|item| map(descriptor, item)).map(|s| s.id).collect()
}

/// Splits a second run's items into the new ones and those seen by the first run again (the
/// lookback overlap); the repeats must be signals the first run already produced, so the
/// normaliser drops them, and lie within `lookback` of the first run's checkpoint.
pub fn split_repeats(
    descriptor: &Descriptor,
    first: &Delta,
    second: &Delta,
    lookback: chrono::TimeDelta,
) -> (Vec<Value>, Vec<Value>) {
    let first_ids: BTreeSet<String> = ids(descriptor, &first.items).into_iter().collect();
    let first_signals = signal_ids(descriptor, &first.items);
    let position = at(first.new_checkpoint.position.as_deref().expect("a position"));
    let mapper = descriptor.mapper(IngestionKind::Polling).expect("a polling connector");
    let (mut fresh, mut repeats) = (Vec::new(), Vec::new());
    for item in &second.items {
        let id = mapper.external_id(item).expect("an id");
        let same_as_before = first.items.iter().any(|old| old == item);
        if first_ids.contains(&id) && same_as_before {
            let signal = map(descriptor, item);
            assert!(signal.is_none_or(|s| first_signals.contains(&s.id)), "{id}: a repeat must be a known signal");
            repeats.push(item.clone());
        } else {
            fresh.push(item.clone());
        }
    }
    let reader = &descriptor.polling().expect("polls").items.timestamp;
    for item in &repeats {
        let time = reader.read(item).expect("a timestamp");
        let text = time.to_rfc3339();
        assert!(time >= position - lookback && time <= position, "{text} is outside the lookback window");
    }
    (fresh, repeats)
}
