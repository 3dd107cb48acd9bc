//! Mapping from JSON text with a projection (only the parts a mapping reads are built) gives
//! byte for byte the report of parsing the whole payload first: on every payload under
//! `tests/fixtures/` (the payloads of every descriptor's examples among them), mapped by every built-in descriptor in each of
//! its modes and event types, and on generated variations of a published GitHub issue. The
//! webhook gateway's reading of a body (only what the event type, delivery id and handshakes
//! read) decides every fixture as the whole payload does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_core::descriptor::load_paths;
use switchboard_core::mapping::MapError;
use switchboard_core::mapping::projection::Projection;
use switchboard_core::webhook::{HandshakeRequest, Headers, form};
use switchboard_core::{Descriptor, IngestionKind, MapContext, MapReport};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every built-in descriptor and the mapping benchmark's, loaded once.
fn descriptors() -> &'static [Descriptor] {
    static LOADED: OnceLock<Vec<Descriptor>> = OnceLock::new();
    LOADED.get_or_init(|| {
        let root = workspace_root();
        load_paths(&[root.join("descriptors"), root.join("bench/mapping/descriptor.json")])
            .into_iter()
            .map(|d| d.unwrap_or_else(|e| panic!("{e}")))
            .collect()
    })
}

/// Every JSON payload under `tests/fixtures/`, as text, with its name.
fn fixtures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = workspace_root().join("tests/fixtures");
    let mut connectors: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    connectors.sort();
    for connector in connectors.into_iter().filter(|p| p.is_dir()) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&connector).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
            let text = std::fs::read_to_string(&file).unwrap();
            if serde_json::from_str::<Value>(&text).is_ok() {
                out.push((file.strip_prefix(&dir).unwrap().display().to_string(), text));
            }
        }
    }
    out
}

/// The report as the signals queue and the CLI would see it: its JSON text.
fn text(report: Result<MapReport, MapError>) -> Result<String, MapError> {
    report.map(|r| serde_json::to_string(&r).unwrap())
}

fn modes(descriptor: &Descriptor) -> Vec<IngestionKind> {
    [IngestionKind::Webhook, IngestionKind::Polling].into_iter().filter(|m| descriptor.mapper(*m).is_some()).collect()
}

/// No event type, then each event type the connector names (so each `byEventType` mapping).
fn event_types(descriptor: &Descriptor) -> Vec<Option<String>> {
    let mut out = vec![None];
    if let Some(webhook) = descriptor.webhook() {
        out.extend(webhook.event_types.iter().cloned().map(Some));
    }
    out
}

/// The context every comparison maps with: a fixed time, the descriptor's config defaults.
fn context<'a>(descriptor: &'a Descriptor, ingestion: IngestionKind, event_type: Option<&'a str>) -> MapContext<'a> {
    MapContext {
        connector_id: descriptor.id(),
        project_id: "p1",
        ingestion,
        event_type,
        received_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        config: Some(descriptor.config_defaults()),
    }
}

/// Maps `payload` with `descriptor` every way the engine can, whole and projected, and checks
/// that both give the same text. Returns how many comparisons were made.
fn compare(descriptor: &Descriptor, name: &str, payload: &str) -> usize {
    let value: Value = serde_json::from_str(payload).unwrap();
    let mut compared = 0;
    for ingestion in modes(descriptor) {
        for event_type in event_types(descriptor) {
            let ctx = context(descriptor, ingestion, event_type.as_deref());
            let at = || format!("{} on {name} ({ingestion:?}, event {event_type:?})", descriptor.id());
            assert_eq!(
                text(descriptor.map_delivery_json(payload, &ctx)),
                text(descriptor.map_delivery(&value, &ctx)),
                "map_delivery: {}",
                at()
            );
            assert_eq!(text(descriptor.map_json(payload, &ctx)), text(descriptor.map(&value, &ctx)), "map: {}", at());
            let mapper = descriptor.mapper(ingestion).unwrap();
            for item in mapper.items(&value).unwrap_or_default() {
                assert_eq!(
                    text(descriptor.map_item_json(&item.to_string(), &ctx)),
                    text(Ok(descriptor.map_item(item, &ctx))),
                    "map_item: {}",
                    at()
                );
            }
            compared += 1;
        }
    }
    compared
}

#[test]
fn every_fixture_maps_the_same_projected_as_whole_with_every_descriptor() {
    let descriptors = descriptors();
    let fixtures = fixtures();
    assert!(
        descriptors.len() > 30 && fixtures.len() > 100,
        "{} descriptors, {} fixtures",
        descriptors.len(),
        fixtures.len()
    );
    let mut compared = 0;
    for descriptor in descriptors {
        for (name, payload) in &fixtures {
            compared += compare(descriptor, name, payload);
        }
    }
    assert!(compared > descriptors.len() * fixtures.len());
}

/// A descriptor as the functions load it from the registry builds its regular expressions on
/// first use (`switchboard_core::pattern`); it maps every fixture as the validated one does.
#[test]
fn every_fixture_maps_the_same_with_the_descriptor_as_registered() {
    let fixtures = fixtures();
    let mut compared = 0;
    for descriptor in descriptors() {
        let registered = Descriptor::from_registered(descriptor.model().clone(), descriptor.id()).unwrap();
        for ingestion in modes(descriptor) {
            for event_type in event_types(descriptor) {
                let ctx = context(descriptor, ingestion, event_type.as_deref());
                for (name, payload) in &fixtures {
                    assert_eq!(
                        text(registered.map_json(payload, &ctx)),
                        text(descriptor.map_json(payload, &ctx)),
                        "{} on {name} ({ingestion:?}, event {event_type:?})",
                        descriptor.id()
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > descriptors().len() * fixtures.len());
}

#[test]
fn most_built_in_mappings_read_only_part_of_an_item() {
    let projected: Vec<&str> = descriptors()
        .iter()
        .filter(|d| modes(d).iter().all(|m| !d.mapper(*m).unwrap().item_projection().is_all()))
        .map(Descriptor::id)
        .collect();
    for id in ["github-issues", "github-prs", "bench-github-issues"] {
        assert!(projected.contains(&id), "{id} should be projected: {projected:?}");
    }
    assert!(projected.len() * 4 >= descriptors().len() * 3, "only {projected:?}");
}

#[test]
fn a_malformed_payload_is_an_error_even_where_nothing_is_read() {
    let descriptor = Descriptor::from_file(&workspace_root().join("descriptors/github-issues.json")).unwrap();
    let ctx = MapContext {
        connector_id: "github-issues",
        project_id: "p1",
        ingestion: IngestionKind::Polling,
        event_type: None,
        received_at: Utc::now(),
        config: None,
    };
    let error = descriptor.map_json(r#"[{"id": 1, "body": "unterminated}]"#, &ctx).unwrap_err();
    assert!(matches!(error, MapError::MalformedJson(_)), "{error:?}");
}

/// What the webhook gateway decides from a payload with `descriptor`: the event type, the
/// delivery id and the handshake reply (verified or not), from the payload alone (no headers).
fn webhook_decisions(descriptor: &Descriptor, payload: &Value) -> String {
    let webhook = descriptor.webhook().unwrap();
    let headers = Headers::default();
    let request = HandshakeRequest { headers: &headers, query: &[], payload: Some(payload) };
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        webhook.event(&headers, payload),
        webhook.delivery_id(&headers, payload),
        webhook.handshake_reply(&request, false),
        webhook.handshake_reply(&request, true),
        webhook.handshake(payload),
    )
}

#[test]
fn every_fixture_gets_the_same_webhook_decisions_from_the_parts_the_gateway_reads() {
    let mut compared = 0;
    let mut projected = 0;
    for descriptor in descriptors().iter().filter(|d| d.webhook().is_some()) {
        let projection = &descriptor.webhook().unwrap().projection;
        projected += usize::from(!projection.is_all());
        for (name, payload) in fixtures() {
            let whole: Value = serde_json::from_str(&payload).unwrap();
            let read = form::read_payload(None, payload.as_bytes(), projection).unwrap();
            assert_eq!(
                webhook_decisions(descriptor, &read.read),
                webhook_decisions(descriptor, &whole),
                "{} on {name}",
                descriptor.id()
            );
            assert_eq!(read.json.map(|json| json.get()), Some(payload.trim()), "the body's text is kept as it came");
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared}");
    assert!(projected > 20, "only {projected} webhook sections read part of a body");
}

#[test]
fn a_form_body_is_read_whole_and_a_malformed_json_body_is_refused() {
    let nothing = Projection::Skip;
    let form_body = b"From=%2B15005550006&Body=Hello&MediaUrl0=a&MediaUrl0=b";
    let read = form::read_payload(Some("application/x-www-form-urlencoded"), form_body, &nothing).unwrap();
    assert_eq!(read.read, form::form_object(form_body));
    assert!(read.json.is_none(), "a form's object, not its text, goes in the envelope");
    let labelled = form::read_payload(Some("application/x-www-form-urlencoded"), br#" {"a": 1}"#, &nothing).unwrap();
    assert_eq!(labelled.json.map(|json| json.get()), Some(r#"{"a": 1}"#), "JSON labelled as a form is JSON");
    assert!(form::read_payload(None, br#"{"id": 1, "body": "unterminated}"#, &nothing).is_err());
}

/// The published issue #1348: the second item of the GitHub Issues page among the fixtures.
fn published_issue() -> Value {
    let (_, page) = fixtures().into_iter().find(|(name, _)| name == "github-issues/issues.page1.json").unwrap();
    serde_json::from_str::<Value>(&page).unwrap()[1].clone()
}

/// A value of any JSON kind, shallow.
fn any_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9 :#-]{0,12}".prop_map(Value::String),
        Just(json!("2024-05-01T10:00:00Z")),
        Just(json!([{"name": "P1"}, {"name": "bug"}, {"login": "octocat"}])),
        Just(json!({"url": "https://api.github.com/x", "merged_at": null, "login": "a"})),
        Just(json!({"title": "v1.0", "login": "hubot", "name": "critical"})),
    ]
}

/// A change to an issue: a top-level or nested member removed, nulled or replaced.
#[derive(Debug, Clone)]
enum Change {
    Remove(usize),
    Set(usize, Value),
    SetNested(usize, String, Value),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        any::<usize>().prop_map(Change::Remove),
        (any::<usize>(), any_value()).prop_map(|(i, v)| Change::Set(i, v)),
        (any::<usize>(), "(login|name|title|merged_at|url|0)", any_value())
            .prop_map(|(i, k, v)| Change::SetNested(i, k, v)),
    ]
}

/// Members the mappings read, and the rest of the issue's members.
fn keys(issue: &Value) -> Vec<String> {
    let mut keys: Vec<String> = issue.as_object().unwrap().keys().cloned().collect();
    keys.extend(["pull_request", "closed_by", "state_reason", "milestone"].map(str::to_owned));
    keys
}

fn apply(issue: &mut Value, change: &Change) {
    let keys = keys(issue);
    let map = issue.as_object_mut().unwrap();
    match change {
        Change::Remove(i) => {
            map.remove(&keys[i % keys.len()]);
        }
        Change::Set(i, value) => {
            map.insert(keys[i % keys.len()].clone(), value.clone());
        }
        Change::SetNested(i, key, value) => match map.get_mut(&keys[i % keys.len()]) {
            Some(Value::Object(inner)) => {
                inner.insert(key.clone(), value.clone());
            }
            Some(Value::Array(items)) if !items.is_empty() => {
                if let Some(inner) = items[0].as_object_mut() {
                    inner.insert(key.clone(), value.clone());
                }
            }
            _ => {}
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Pages of varied issues (the benchmark corpus's shape) map the same projected as whole,
    /// with the GitHub descriptors and the benchmark's.
    #[test]
    fn varied_issues_map_the_same_projected_as_whole(
        pages in proptest::collection::vec(proptest::collection::vec(change(), 0..6), 1..5)
    ) {
        let issue = published_issue();
        let page: Vec<Value> = pages
            .iter()
            .map(|changes| {
                let mut item = issue.clone();
                changes.iter().for_each(|c| apply(&mut item, c));
                item
            })
            .collect();
        let payload = Value::Array(page).to_string();
        for descriptor in descriptors().iter().filter(|d| d.id().starts_with("github") || d.id().contains("bench")) {
            compare(descriptor, "generated page", &payload);
        }
    }
}
