//! Delivery ids: every built-in webhook descriptor names its provider's, it is read from the real
//! payloads in `tests/fixtures/`, and authors get a clear error for a bad one.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_core::webhook::{DEFAULT_REPLAY_WINDOW, DeliveryId, Headers};
use switchboard_core::{Descriptor, DescriptorError};

use crate::common::{sample_descriptor, set};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn built_in(id: &str) -> Descriptor {
    Descriptor::from_file(&repo(&format!("descriptors/{id}.json"))).unwrap()
}

fn fixture(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo(&format!("tests/fixtures/{path}"))).unwrap()).unwrap()
}

fn problems(doc: &Value) -> Vec<(String, String)> {
    let error: DescriptorError = Descriptor::from_value(doc, "test.json").expect_err("should be rejected");
    error.issues.into_iter().map(|i| (i.pointer, i.message)).collect()
}

/// Webhook connectors whose provider sends no delivery id in its headers or body: a redelivery
/// is then caught by the deterministic signal id only.
const WITHOUT_DELIVERY_ID: &[&str] = &["hubspot", "jenkins", "new-relic", "opsgenie", "rollbar", "statuspage"];

#[test]
fn every_built_in_webhook_descriptor_names_its_delivery_id() {
    let mut receiving = Vec::new();
    for entry in std::fs::read_dir(repo("descriptors")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "descriptor.schema.json" {
            continue;
        }
        let descriptor = Descriptor::from_file(&path).unwrap();
        if let Some(webhook) = descriptor.webhook() {
            let exempt = WITHOUT_DELIVERY_ID.contains(&descriptor.id());
            assert_eq!(
                webhook.delivery_id.is_some(),
                !exempt,
                "{name}: a webhook connector names its delivery id unless its provider sends none"
            );
            receiving.push(descriptor.id().to_owned());
        }
    }
    for id in ["github-prs", "gitlab", "pagerduty", "sentry", "slack"] {
        assert!(receiving.iter().any(|r| r == id), "{id} receives webhooks");
    }
}

#[test]
fn header_named_ids_are_read_from_their_header() {
    let cases = [
        ("github-prs", "X-GitHub-Delivery", "github-prs/pull_request.opened.json"),
        ("sentry", "Request-ID", "sentry/issue.created.json"),
    ];
    for (id, header, payload) in cases {
        let descriptor = built_in(id);
        let webhook = descriptor.webhook().unwrap();
        let headers = Headers::new([(header.to_ascii_lowercase(), "72d3162e-cc78-11e3-81ab-4c9367dc0958")]);
        let found = webhook.delivery_id(&headers, &fixture(payload));
        assert_eq!(found, DeliveryId::Found("72d3162e-cc78-11e3-81ab-4c9367dc0958".into()), "{id}");
        let missing = webhook.delivery_id(&Headers::default(), &fixture(payload));
        assert_eq!(missing, DeliveryId::Missing { expected_in: format!("header {header}") }, "{id}");
        assert_eq!(webhook.replay_window, DEFAULT_REPLAY_WINDOW, "{id}");
    }
}

#[test]
fn body_named_ids_are_read_from_the_providers_published_payloads() {
    let cases = [
        ("pagerduty", "pagerduty/incident.priority_updated.json", "5ac64822-4adc-4fda-ade0-410becf0de4f"),
        ("pagerduty", "pagerduty/incident.triggered.json", "01BZ6H5TNR3MSQ3W1V0KZ2V6R4"),
        ("pagerduty", "pagerduty/incident.resolved.json", "01BZ6HB1RV0D6FQ0D1M4G8W8JN"),
        ("slack", "slack/message.json", "Ev123ABC456"),
        ("slack", "slack/app_mention.json", "Ev0LAN670R"),
        ("slack", "slack/reaction_added.json", "Ev123ABC458"),
    ];
    for (id, payload, expected) in cases {
        let descriptor = built_in(id);
        let found = descriptor.webhook().unwrap().delivery_id(&Headers::default(), &fixture(payload));
        assert_eq!(found, DeliveryId::Found(expected.into()), "{payload}");
    }
    // Slack's URL verification handshake carries no event id (the gateway answers it first).
    let handshake = fixture("slack/url_verification.json");
    let slack = built_in("slack");
    let missing = slack.webhook().unwrap().delivery_id(&Headers::default(), &handshake);
    assert_eq!(missing, DeliveryId::Missing { expected_in: "body at $.event_id".into() });
}

#[test]
fn a_descriptor_naming_no_delivery_id_is_still_valid_and_unprotected() {
    let descriptor = Descriptor::from_value(&sample_descriptor(), "sample").unwrap();
    let webhook = descriptor.webhook().unwrap();
    assert!(webhook.delivery_id.is_none());
    assert_eq!(webhook.delivery_id(&Headers::default(), &json!({"id": 1})), DeliveryId::NotNamed);
}

#[test]
fn the_replay_window_is_configurable_within_bounds() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/ingestion/webhook/deliveryIdPath", json!("$.delivery"));
    set(&mut doc, "/ingestion/webhook/replayWindowSeconds", json!(604_800));
    let descriptor = Descriptor::from_value(&doc, "test.json").unwrap();
    assert_eq!(descriptor.webhook().unwrap().replay_window, Duration::from_secs(604_800));

    for bad in [0, 2_592_001] {
        set(&mut doc, "/ingestion/webhook/replayWindowSeconds", json!(bad));
        let found = problems(&doc);
        assert!(
            found.iter().any(|(p, m)| p == "/ingestion/webhook/replayWindowSeconds" && m.contains("30 days")),
            "{bad}: {found:?}"
        );
    }
}

#[test]
fn a_delivery_id_in_both_places_or_at_a_bad_path_is_reported_with_its_pointer() {
    let mut both = sample_descriptor();
    set(&mut both, "/ingestion/webhook/deliveryIdHeader", json!("X-Delivery"));
    set(&mut both, "/ingestion/webhook/deliveryIdPath", json!("$.delivery"));
    let found = problems(&both);
    assert!(found.iter().any(|(p, m)| p == "/ingestion/webhook/deliveryIdPath" && m.contains("not both")), "{found:?}");

    let mut bad_path = sample_descriptor();
    set(&mut bad_path, "/ingestion/webhook/deliveryIdPath", json!("$[?(@.a"));
    let found = problems(&bad_path);
    assert!(found.iter().any(|(p, _)| p == "/ingestion/webhook/deliveryIdPath"), "{found:?}");

    let mut blank = sample_descriptor();
    set(&mut blank, "/ingestion/webhook/deliveryIdHeader", json!(" "));
    let found = problems(&blank);
    assert!(found.iter().any(|(p, m)| p == "/ingestion/webhook/deliveryIdHeader" && m.contains("empty")), "{found:?}");
}
