//! `urlTemplate` reads the instance's `{{baseUrl}}` and `{{config.<key>}}` (declared keys only),
//! `urlPath` takes candidate paths, and every placeholder that names something unknown or
//! forbidden is a validation error at its template's pointer.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Value, json};
use switchboard_core::{Descriptor, DescriptorError, IngestionKind, MapContext, NormalisedSignal};

use crate::common::{sample_descriptor, set};

fn problems(doc: &Value) -> Vec<(String, String)> {
    let error: DescriptorError = Descriptor::from_value(doc, "test.json").expect_err("should be rejected");
    error.issues.into_iter().map(|i| (i.pointer, i.message)).collect()
}

fn has(problems: &[(String, String)], pointer: &str, needle: &str) -> bool {
    problems.iter().any(|(p, m)| p == pointer && m.contains(needle))
}

/// The sample descriptor linking items through the instance's own host and project.
fn linked(url_template: &str) -> Descriptor {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/urlPath", json!(["$.html_url", "$.web_url"]));
    set(&mut doc, "/fieldMapping/urlTemplate", json!(url_template));
    Descriptor::from_value(&doc, "linked.json").expect("valid")
}

fn item(extra: Value) -> Value {
    let mut item =
        json!({"id": 7, "key": "ITEM-7", "title": "t", "status": "new", "updated_at": "2024-03-01T10:00:00Z"});
    if let (Some(item), Some(extra)) = (item.as_object_mut(), extra.as_object()) {
        item.extend(extra.clone());
    }
    json!({ "items": [item] })
}

fn map(d: &Descriptor, payload: &Value, config: Option<&BTreeMap<String, String>>) -> NormalisedSignal {
    let ctx = MapContext {
        connector_id: d.id(),
        project_id: "p1",
        ingestion: IngestionKind::Polling,
        event_type: None,
        received_at: Utc::now(),
        config,
    };
    let mut report = d.map(payload, &ctx).expect("maps");
    assert_eq!(report.signals.len(), 1, "{report:?}");
    report.signals.remove(0)
}

fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn a_url_template_reads_the_instance_base_url_and_config_values() {
    let d = linked("{{baseUrl}}/projects/{{config.projectKey}}/items/{{key | lower}}");
    let instance = d.effective_config(&config(&[("projectKey", "OPS")]));
    let signal = map(&d, &item(json!({})), Some(&instance));
    assert_eq!(signal.url.as_deref(), Some("https://tracker.example/projects/OPS/items/item-7"));

    let self_hosted = config(&[("baseUrl", "https://tracker.acme.test"), ("projectKey", "OPS")]);
    let signal = map(&d, &item(json!({})), Some(&self_hosted));
    assert_eq!(signal.url.as_deref(), Some("https://tracker.acme.test/projects/OPS/items/item-7"));
}

#[test]
fn without_the_instance_values_no_url_is_guessed() {
    let d = linked("{{baseUrl}}/projects/{{config.projectKey}}/items/{{key}}");
    assert_eq!(map(&d, &item(json!({})), None).url, None);
    // `projectKey` has no default and the instance did not set it.
    let partial = d.effective_config(&BTreeMap::new());
    assert_eq!(map(&d, &item(json!({})), Some(&partial)).url, None);
}

#[test]
fn url_path_candidates_fall_through_to_the_first_with_a_value() {
    let d = linked("{{baseUrl}}/items/{{key}}");
    let instance = d.effective_config(&BTreeMap::new());
    let both = item(json!({"html_url": "https://a.example/7", "web_url": "https://b.example/7"}));
    assert_eq!(map(&d, &both, Some(&instance)).url.as_deref(), Some("https://a.example/7"));
    let second = item(json!({"html_url": null, "web_url": "https://b.example/7"}));
    assert_eq!(map(&d, &second, Some(&instance)).url.as_deref(), Some("https://b.example/7"));
    let neither = item(json!({}));
    assert_eq!(map(&d, &neither, Some(&instance)).url.as_deref(), Some("https://tracker.example/items/ITEM-7"));
}

#[test]
fn the_mapping_config_is_only_what_the_url_templates_read_with_defaults_filled_in() {
    let d = linked("{{baseUrl}}/items/{{key}}");
    let instance = config(&[("projectKey", "OPS")]);
    assert_eq!(d.mapping_config(IngestionKind::Polling, &instance), config(&[("baseUrl", "https://tracker.example")]));
    let plain = Descriptor::from_value(&sample_descriptor(), "sample.json").expect("valid");
    assert!(plain.mapping_config(IngestionKind::Polling, &instance).is_empty());
}

#[test]
fn instance_placeholders_are_checked_at_their_template_pointers() {
    let mut doc = sample_descriptor();
    set(
        &mut doc,
        "/fieldMapping/urlTemplate",
        json!("{{config.nope}}/{{credentials.apiKey}}/{{config.projectKey | upper}}"),
    );
    set(&mut doc, "/fieldMapping/summaryTemplate", json!("{{baseUrl}}: {{title}}"));
    set(&mut doc, "/fieldMapping/idTemplate", json!("{{config.projectKey}}-{{id}}"));
    let found = problems(&doc);
    let url = "/fieldMapping/urlTemplate";
    assert!(has(&found, url, "{{config.nope}}: refers to config key \"nope\", which is not declared"), "{found:?}");
    assert!(has(&found, url, "{{credentials.apiKey}}: credentials are never put in a signal"), "{found:?}");
    assert!(has(&found, url, "takes no filters or alternatives"), "{found:?}");
    assert!(has(&found, "/fieldMapping/summaryTemplate", "available in urlTemplate only"), "{found:?}");
    assert!(has(&found, "/fieldMapping/idTemplate", "available in urlTemplate only"), "{found:?}");
    assert_eq!(found.len(), 5, "{found:?}");
}

#[test]
fn base_url_needs_a_declared_config_field() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/configFields/0/key", json!("apiUrl"));
    set(&mut doc, "/ingestion/polling/endpoint", json!("{{config.apiUrl}}/items?updated_since={{checkpoint}}"));
    set(&mut doc, "/fieldMapping/urlTemplate", json!("{{baseUrl}}/items/{{key}}"));
    let found = problems(&doc);
    assert!(has(&found, "/fieldMapping/urlTemplate", "needs a config field \"baseUrl\""), "{found:?}");
}

#[test]
fn per_event_type_url_templates_are_checked_and_their_keys_collected() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/byEventType", json!({"item.created": {"urlTemplate": "{{config.team}}/{{id}}"}}));
    let found = problems(&doc);
    assert!(has(&found, "/fieldMapping/byEventType/item.created/urlTemplate", "config key \"team\""), "{found:?}");

    set(&mut doc, "/fieldMapping/byEventType", json!({}));
    set(
        &mut doc,
        "/fieldMapping/webhook/byEventType",
        json!({"item.created": {"urlTemplate": "{{config.projectKey}}/{{id}}"}}),
    );
    let d = Descriptor::from_value(&doc, "test.json").expect("valid");
    let instance = config(&[("projectKey", "OPS")]);
    assert_eq!(d.mapping_config(IngestionKind::Webhook, &instance), instance);
}
