//! Descriptor validation as an author meets it: every problem, each with its JSON pointer.

use crate::common::{remove, sample_descriptor, set};
use serde_json::json;
use switchboard_core::model::schema::descriptor_schema_text;
use switchboard_core::{Descriptor, DescriptorError};

fn problems(doc: &serde_json::Value) -> Vec<(String, String)> {
    let error: DescriptorError = Descriptor::from_value(doc, "test.json").expect_err("should be rejected");
    assert_eq!(error.origin, "test.json");
    error.issues.into_iter().map(|i| (i.pointer, i.message)).collect()
}

fn has(problems: &[(String, String)], pointer: &str, needle: &str) -> bool {
    problems.iter().any(|(p, m)| p == pointer && m.contains(needle))
}

#[test]
fn the_sample_descriptor_is_valid() {
    let d = Descriptor::from_value(&sample_descriptor(), "sample").expect("valid");
    assert_eq!(d.id(), "sample-tracker");
    assert!(d.polling().is_some() && d.webhook().is_some());
}

#[test]
fn bad_jsonpath_unknown_auth_method_and_missing_field_are_all_reported() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/idPath", json!("$[?(@.a"));
    set(&mut doc, "/auth/method", json!("magic_link"));
    remove(&mut doc, "/healthCheck");
    let found = problems(&doc);
    assert!(has(&found, "/fieldMapping/idPath", "invalid JSONPath"), "{found:?}");
    assert!(has(&found, "/auth/method", "unknown method \"magic_link\""), "{found:?}");
    assert!(has(&found, "", "missing required field \"healthCheck\""), "{found:?}");
}

#[test]
fn semantic_problems_are_all_reported_together() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/ingestion/polling/endpoint", json!("{{baseUrl}}/x?p={{config.nope}}&q={{wat}}"));
    set(&mut doc, "/fieldMapping/signalTypeRules/1/any/1/value", json!("(unclosed"));
    set(&mut doc, "/auth/config/credentialKey", json!("missing"));
    set(&mut doc, "/fieldMapping/webhook/signalTypeRules/0/eventType", json!("item.deleted"));
    set(&mut doc, "/fieldMapping/summaryTemplate", json!("{{title"));
    set(&mut doc, "/id", json!("Not Kebab"));
    let found = problems(&doc);
    assert!(has(&found, "/ingestion/polling/endpoint", "config key \"nope\""), "{found:?}");
    assert!(has(&found, "/ingestion/polling/endpoint", "unknown variable {{wat}}"), "{found:?}");
    assert!(has(&found, "/fieldMapping/signalTypeRules/1/any/1/value", "invalid regular expression"), "{found:?}");
    assert!(has(&found, "/auth/config/credentialKey", "\"missing\" is not declared"), "{found:?}");
    assert!(has(&found, "/fieldMapping/webhook/signalTypeRules/0/eventType", "item.deleted"), "{found:?}");
    assert!(has(&found, "/fieldMapping/summaryTemplate", "unclosed"), "{found:?}");
    assert!(has(&found, "/id", "kebab"), "{found:?}");
    assert_eq!(found.len(), 7, "{found:?}");
}

#[test]
fn unknown_fields_are_rejected_with_their_location() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/signalTypeRules/0/thne", json!("typo"));
    let found = problems(&doc);
    assert!(
        found.iter().any(|(p, m)| p.starts_with("/fieldMapping/signalTypeRules/0") && m.contains("thne")),
        "{found:?}"
    );
}

#[test]
fn signature_verification_must_reference_a_declared_secret() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/ingestion/webhook/verification/secretField", json!("signingKey"));
    let found = problems(&doc);
    assert!(found.iter().any(|(p, _)| p == "/ingestion/webhook/verification/secretField"), "{found:?}");
}

#[test]
fn keyword_verification_needs_a_webhook_secret_auth() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/ingestion/webhook/verification", json!("signature"));
    let found = problems(&doc);
    assert!(has(&found, "/ingestion/webhook/verification", "webhook_secret"), "{found:?}");
}

#[test]
fn rules_need_a_value_for_comparisons_and_one_condition_form() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/signalTypeRules/0", json!({"when": "$.a", "operator": "equals", "then": "x"}));
    set(
        &mut doc,
        "/fieldMapping/priorityMapping/0",
        json!({"when": "$.a", "operator": "equals", "value": 1, "all": [], "then": "high"}),
    );
    let found = problems(&doc);
    assert!(has(&found, "/fieldMapping/signalTypeRules/0/value", "needs a `value`"), "{found:?}");
    assert!(has(&found, "/fieldMapping/priorityMapping/0", "exactly one"), "{found:?}");
}

#[test]
fn invalid_json_is_reported_with_its_position() {
    let error = Descriptor::from_json_str("{\"id\": ", "broken.json").expect_err("invalid");
    assert!(error.to_string().contains("broken.json"));
    assert!(error.issues[0].message.contains("line 1"), "{error}");
}

#[test]
fn the_committed_json_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../descriptors/descriptor.schema.json");
    let committed = std::fs::read_to_string(path).expect("descriptors/descriptor.schema.json exists");
    assert!(
        committed == descriptor_schema_text(),
        "descriptors/descriptor.schema.json is stale: run `cargo run -p switchboard-cli -- schema > descriptors/descriptor.schema.json`"
    );
}

#[test]
fn a_seed_shaped_descriptor_parses_unchanged() {
    // Exactly the specification's shape: keyword verification, webhook_secret auth, no extensions.
    let doc = json!({
        "id": "seed-hooks", "name": "Seed", "description": "d", "category": "custom", "icon": "i",
        "kind": "generic",
        "auth": {"method": "webhook_secret", "config": {"signatureHeader": "X-Sig", "algorithm": "hmac-sha256",
            "credentialFields": [{"key": "secret", "label": "Secret", "type": "password", "required": true}]}},
        "ingestion": {"mode": "webhook", "eventTypes": ["created"], "eventTypePath": "$.type", "verification": "signature"},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.at", "summaryTemplate": "{{id}}",
            "signalTypeRules": [{"when": "$.type", "operator": "equals", "value": "created", "then": "created"}]},
        "healthCheck": {"endpoint": "https://example.com/ping", "method": "HEAD", "expectStatus": 204, "timeoutMs": 1000},
        "version": "0.1.0"
    });
    Descriptor::from_value(&doc, "seed").expect("seed-shaped descriptors are valid");
}

#[test]
fn allowed_hosts_patterns_are_checked_and_literal_urls_must_stay_inside_them() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/allowedHosts", json!(["api.example.com", "https://evil.example"]));
    set(&mut doc, "/healthCheck/endpoint", json!("https://elsewhere.example/ping"));
    let found = problems(&doc);
    assert!(has(&found, "/allowedHosts/1", "not a host pattern"), "{found:?}");
    assert!(has(&found, "/healthCheck/endpoint", "host `elsewhere.example` is not in allowedHosts"), "{found:?}");
}

#[test]
fn allowed_hosts_are_compiled_into_the_descriptor() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/allowedHosts", json!(["*.example.com"]));
    let d = Descriptor::from_value(&doc, "sample").expect("valid");
    assert!(d.allowed_hosts().permits("acme.example.com"));
    assert!(!d.allowed_hosts().permits("example.org"));
}

#[test]
fn timestamp_patterns_and_candidate_paths_are_checked_at_their_pointers() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/timestampPath", json!(["$.updated_at", "$[?(@.a"]));
    set(&mut doc, "/fieldMapping/timestampPattern", json!("%Q-%m"));
    let found = problems(&doc);
    assert!(has(&found, "/fieldMapping/timestampPath/1", "invalid JSONPath"), "{found:?}");
    assert!(has(&found, "/fieldMapping/timestampPattern", "not a valid strftime pattern"), "{found:?}");

    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/timestampPath", json!([]));
    assert!(has(&problems(&doc), "/fieldMapping/timestampPath", "at least one"));

    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/timestampPath", json!(["$.nothing_here", "$.updated_at"]));
    set(&mut doc, "/fieldMapping/timestampPattern", json!("%Y-%m-%d %H:%M:%S UTC"));
    Descriptor::from_value(&doc, "test.json").expect("candidate paths and a pattern are valid");
}

#[test]
fn template_filters_id_templates_and_related_patterns_are_checked_at_their_pointers() {
    let mut doc = sample_descriptor();
    set(&mut doc, "/fieldMapping/summaryTemplate", json!("{{title | shout}}"));
    set(&mut doc, "/fieldMapping/urlTemplate", json!("{{config.nope}}/items/{{id}}"));
    set(&mut doc, "/fieldMapping/idTemplate", json!("item-{{id | truncate:0}}"));
    set(&mut doc, "/fieldMapping/relatedItemsPatterns", json!([{"paths": "$.title", "pattern": "(unclosed"}]));
    let found = problems(&doc);
    assert!(has(&found, "/fieldMapping/summaryTemplate", "unknown filter `shout`"), "{found:?}");
    assert!(has(&found, "/fieldMapping/urlTemplate", "config key \"nope\", which is not declared"), "{found:?}");
    assert!(has(&found, "/fieldMapping/idTemplate", "from 1 to"), "{found:?}");
    assert!(has(&found, "/fieldMapping/relatedItemsPatterns/0/pattern", "invalid regular expression"), "{found:?}");
}

#[test]
fn a_related_pattern_key_is_checked_at_its_pointer() {
    let cases = [
        ("{{repo.name}}#$2", "#(\\d+)", "refers to group \"2\", which the pattern does not have"),
        ("#$1a", "#(\\d+)", "write ${1}"),
        ("{{repo.name}}#${n}", "#(\\d+)", "group \"n\""),
        ("{{repo.name}}#12", "#(\\d+)", "does not use the match"),
        ("US$ $1", "(\\d+)", "names no group"),
        ("{{repo.name | shout}}#$1", "#(\\d+)", "unknown filter `shout`"),
        ("{{config.projectKey}}#$1", "#(\\d+)", "available in urlTemplate only"),
        ("{{credentials.apiKey}}#$1", "#(\\d+)", "credentials are never put in a signal"),
    ];
    for (key, pattern, message) in cases {
        let mut doc = sample_descriptor();
        set(
            &mut doc,
            "/fieldMapping/relatedItemsPatterns",
            json!([{"paths": "$.title", "pattern": pattern, "key": key}]),
        );
        let found = problems(&doc);
        assert!(has(&found, "/fieldMapping/relatedItemsPatterns/0/key", message), "{key}: {found:?}");
    }
    let mut doc = sample_descriptor();
    let valid = json!([{"paths": "$.title", "pattern": "#(?<n>\\d+)", "key": "{{repo.name ?? key}}#${n}$$$0"}]);
    set(&mut doc, "/fieldMapping/relatedItemsPatterns", valid);
    Descriptor::from_value(&doc, "test.json").expect("a key with groups, fields and $$ is valid");
}

#[test]
fn per_event_type_overrides_are_checked_at_their_own_pointers() {
    let mut doc = sample_descriptor();
    let event = doc["ingestion"]["webhook"]["eventTypes"][0].clone();
    let event = event.as_str().expect("the sample has webhook event types").to_owned();
    set(
        &mut doc,
        "/fieldMapping/byEventType",
        json!({
            event.clone(): {"summaryTemplate": "{{title | shout}}", "timestampPath": ["$[?(@.a"]},
            "never.sent": {"summaryTemplate": "x"}
        }),
    );
    let found = problems(&doc);
    let at = format!("/fieldMapping/byEventType/{event}");
    assert!(has(&found, &format!("{at}/summaryTemplate"), "unknown filter `shout`"), "{found:?}");
    assert!(has(&found, &format!("{at}/timestampPath/0"), "invalid JSONPath"), "{found:?}");
    assert!(has(&found, "/fieldMapping/byEventType/never.sent", "not in the webhook's eventTypes"), "{found:?}");
}
