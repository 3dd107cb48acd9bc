//! The field mapping engine as a connector author sees it through `Descriptor::map`.

use crate::common::{sample_descriptor, set};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use switchboard_core::model::Priority;
use switchboard_core::{Descriptor, IngestionKind, MapContext, MapReport};

fn descriptor() -> Descriptor {
    Descriptor::from_value(&sample_descriptor(), "sample").expect("valid")
}

fn map(d: &Descriptor, payload: &Value, ingestion: IngestionKind, event: Option<&str>) -> MapReport {
    let ctx = MapContext {
        connector_id: d.id(),
        project_id: "p1",
        ingestion,
        event_type: event,
        received_at: Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).single().expect("valid time"),
        config: None,
    };
    // As the webhook gateway and the normaliser do it together: the event type is decided first.
    d.map_delivery(payload, &ctx).expect("payload has items")
}

fn page() -> Value {
    json!({"items": [
        {"id": 1, "key": "T-1", "title": "First", "status": "new", "updated_at": "2024-05-01T10:00:00+02:00",
         "labels": ["bug", "minor"], "assignee": {"name": "ann"}, "watchers": [{"name": "bob"}, {"name": "ann"}],
         "links": [{"key": "T-9"}], "web_url": "https://tracker.example/T-1", "severity": "sev3"},
        {"id": 2, "key": "T-2", "title": "URGENT: fix", "status": "triage", "updated_at": 1714557600, "severity": "sev1"},
        {"id": 3, "key": "T-3", "title": "Parked", "status": "icebox", "updated_at": "2024-05-01T10:00:00Z"},
        {"key": "T-4", "title": "No id", "status": "open", "updated_at": "2024-05-01T10:00:00Z"},
        {"id": 5, "key": "T-5", "title": "Bad time", "status": "open", "updated_at": "last tuesday"}
    ], "next": null})
}

#[test]
fn a_polled_page_maps_every_good_item_and_reports_the_rest() {
    let report = map(&descriptor(), &page(), IngestionKind::Polling, None);
    let types: Vec<_> = report.signals.iter().map(|s| (s.external_id.as_str(), s.signal_type.as_str())).collect();
    assert_eq!(types, vec![("1", "item_created"), ("2", "item_updated")]);

    assert_eq!(report.ignored.len(), 1);
    assert_eq!(report.ignored[0].external_id.as_deref(), Some("3"));

    assert_eq!(report.errors.len(), 2);
    assert_eq!(
        (report.errors[0].index, report.errors[0].field.as_str(), report.errors[0].path.as_str()),
        (3, "idPath", "$.id")
    );
    assert_eq!(report.errors[1].external_id.as_deref(), Some("5"));
    assert_eq!(report.errors[1].field, "timestampPath");
    assert!(report.errors[1].to_string().contains("last tuesday"), "{}", report.errors[1]);
}

#[test]
fn signal_fields_follow_the_mapping() {
    let report = map(&descriptor(), &page(), IngestionKind::Polling, None);
    let first = &report.signals[0];
    assert_eq!(first.source, "sample-tracker");
    assert_eq!(first.project_id, "p1");
    assert_eq!(first.timestamp, "2024-05-01T08:00:00Z");
    assert_eq!(first.received_at, "2024-06-01T12:00:00Z");
    assert_eq!(first.summary, "T-1: First [bug, minor] ann");
    assert_eq!(first.priority, Some(Priority::Low));
    assert_eq!(first.participants, vec!["ann", "bob"]);
    assert_eq!(first.tags, vec!["bug", "minor"]);
    assert_eq!(first.related_items, vec!["T-9"]);
    assert_eq!(first.url.as_deref(), Some("https://tracker.example/T-1"));
    assert_eq!(first.raw.get("key"), Some(&json!("T-1")));
    assert_eq!(first.raw.get("$.severity"), Some(&json!("sev3")));
    assert_eq!(first.ingestion, IngestionKind::Polling);

    let second = &report.signals[1];
    assert_eq!(second.priority, Some(Priority::Critical));
    assert_eq!(second.timestamp, "2024-05-01T10:00:00Z");
    // Missing values render empty.
    assert_eq!(second.summary, "T-2: URGENT: fix [] ");
}

#[test]
fn signal_ids_are_stable_per_item_version() {
    let d = descriptor();
    let a = map(&d, &page(), IngestionKind::Polling, None);
    let b = map(&d, &page(), IngestionKind::Polling, None);
    assert_eq!(a.signals[0].id, b.signals[0].id);

    let mut changed = page();
    set(&mut changed, "/items/0/updated_at", json!("2024-05-02T10:00:00Z"));
    let c = map(&d, &changed, IngestionKind::Polling, None);
    assert_ne!(a.signals[0].id, c.signals[0].id);
}

#[test]
fn webhooks_use_their_own_mapping_and_event_rules() {
    let d = descriptor();
    let payload =
        json!({"event": "item.updated", "item": {"id": "w-1", "title": "Hooked", "changed_at": 1714557600123_i64}});
    let report = map(&d, &payload, IngestionKind::Webhook, None);
    assert_eq!(report.signals.len(), 1, "{report:?}");
    let signal = &report.signals[0];
    assert_eq!(signal.signal_type, "item_updated");
    assert_eq!(signal.event_type.as_deref(), Some("item.updated"));
    assert_eq!(signal.timestamp, "2024-05-01T10:00:00.123Z");
    assert_eq!(signal.summary, "Hooked (w-1)");
    assert_eq!(signal.ingestion, IngestionKind::Webhook);
}

#[test]
fn an_event_type_the_connector_does_not_handle_is_ignored() {
    let payload = json!({"event": "item.deleted", "item": {"id": "w-1", "changed_at": 1}});
    let report = map(&descriptor(), &payload, IngestionKind::Webhook, None);
    assert!(report.signals.is_empty() && report.errors.is_empty());
    assert!(report.ignored[0].reason.contains("item.deleted"));
}

#[test]
fn a_payload_without_items_is_an_error_naming_the_path() {
    let d = descriptor();
    let ctx = MapContext {
        connector_id: d.id(),
        project_id: "p1",
        ingestion: IngestionKind::Polling,
        event_type: None,
        received_at: Utc::now(),
        config: None,
    };
    let error = d.map(&json!({"data": []}), &ctx).expect_err("no items");
    assert!(error.to_string().contains("$.items[*]"), "{error}");
    // An empty page is not an error.
    assert!(d.map(&json!({"items": []}), &ctx).expect("empty page").signals.is_empty());
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![Just("2024-05-01T10:00:00Z"), Just("1531420618.000200"), Just("new"), Just("open")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("id".to_owned()),
                    Just("items".to_owned()),
                    Just("item".to_owned()),
                    Just("status".to_owned()),
                    Just("updated_at".to_owned()),
                    Just("changed_at".to_owned()),
                    Just("labels".to_owned()),
                    Just("event".to_owned()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn mapping_never_panics_on_arbitrary_json(payload in arbitrary_json(), event in proptest::option::of("[a-z.]{0,12}")) {
        let d = descriptor();
        for ingestion in [IngestionKind::Polling, IngestionKind::Webhook] {
            let ctx = MapContext { connector_id: d.id(), project_id: "p", ingestion, event_type: event.as_deref(), received_at: Utc::now(), config: None };
            if let Ok(report) = d.map(&payload, &ctx) {
                for signal in report.signals {
                    prop_assert!(signal.id.starts_with("sig_"));
                }
            }
        }
    }
}

#[test]
fn join_separators_and_url_templates_render_as_written() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/summaryTemplate", json!("{{key}} {{labels|join:+}}{{labels|join:}}"));
    set(&mut doc, "/fieldMapping/urlPath", json!("$.missing"));
    set(&mut doc, "/fieldMapping/urlTemplate", json!("https://t.example/{{key}}/{{assignee.name}}"));
    let d = Descriptor::from_value(&doc, "sample").expect("valid");
    let report = map(&d, &page(), IngestionKind::Polling, None);
    assert_eq!(report.signals[0].summary, "T-1 bug+minorbugminor");
    assert_eq!(report.signals[0].url.as_deref(), Some("https://t.example/T-1/ann"));
    // T-2 has no assignee: no half-built link.
    assert_eq!(report.signals[1].url, None);
}

#[test]
fn a_webhook_item_without_a_time_takes_its_received_time_when_the_mapping_falls_back() {
    let delivery = json!({"event": "item.created", "item": {"id": 7, "title": "No time"}});
    let strict = map(&descriptor(), &delivery, IngestionKind::Webhook, Some("item.created"));
    assert_eq!(strict.errors.len(), 1, "without the fallback an item without a time is an error");
    assert_eq!(strict.errors[0].field, "timestampPath");

    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/webhook/timestampFallback", json!("received"));
    let falls_back = Descriptor::from_value(&doc, "sample").expect("valid");
    let report = map(&falls_back, &delivery, IngestionKind::Webhook, Some("item.created"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.signals[0].timestamp, "2024-06-01T12:00:00Z", "the time the delivery was received");
    let timed = json!({"event": "item.created", "item": {"id": 7, "title": "Timed", "changed_at": 1714557600000u64}});
    let report = map(&falls_back, &timed, IngestionKind::Webhook, Some("item.created"));
    assert_eq!(report.signals[0].timestamp, "2024-05-01T10:00:00Z", "a time in the item still wins");
}

#[test]
fn a_polling_mapping_cannot_fall_back_to_the_received_time() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/timestampFallback", json!("received"));
    let error = Descriptor::from_value(&doc, "sample").expect_err("polled items need their own time");
    let issue = error.issues.iter().find(|i| i.pointer == "/fieldMapping/timestampFallback").expect("pointed at");
    assert!(issue.message.contains("polled items must carry their own time"), "{}", issue.message);
}

#[test]
fn a_related_pattern_key_builds_references_from_groups_and_item_fields() {
    let mut doc = sample_descriptor();
    set(
        &mut doc,
        "/fieldMapping/relatedItemsPatterns",
        json!([
            {"paths": "$.key", "pattern": "^.+$", "key": "$0"},
            {"paths": "$.title", "pattern": "#(?<n>\\d+)", "key": "{{repo.name | lower}}#${n}"},
            {"paths": "$.title", "pattern": "\\b([A-Z]+)-(\\d+)\\b", "key": "$1-$2"}
        ]),
    );
    set(
        &mut doc,
        "/fieldMapping/signalTypeRules",
        json!([{"when": "$.id", "operator": "exists", "then": "item_updated"}]),
    );
    let d = Descriptor::from_value(&doc, "sample").expect("valid");
    let items = json!({"items": [
        {"id": 1, "key": "T-1", "title": "Fixes #12 and #7 (see ABC-3, #12 again)", "repo": {"name": "Octo/Repo$1"},
         "updated_at": "2024-05-01T10:00:00Z", "links": [{"key": "T-9"}]},
        {"id": 2, "key": "T-2", "title": "Fixes #12, no repository, ABC-4", "updated_at": "2024-05-01T10:00:00Z"}
    ]});
    let report = map(&d, &items, IngestionKind::Polling, None);
    let related: Vec<&[String]> = report.signals.iter().map(|s| s.related_items.as_slice()).collect();
    // relatedItemsPath first, then each pattern in order; an item value's `$` is copied as is;
    // `T-1` is the item's own key (the first pattern), `T-3` is not a match of `[A-Z]+-\d+`.
    assert_eq!(related[0], ["T-9", "T-1", "octo/repo$1#12", "octo/repo$1#7", "ABC-3"]);
    // Without a repository the `#12` key cannot be built: nothing, never an unscoped `#12`.
    assert_eq!(related[1], ["T-2", "ABC-4"]);
}
