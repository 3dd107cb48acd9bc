//! Validation of `hydrate` (a detail request per listed item) in a whole descriptor: each
//! mistake at its JSON pointer with what is wrong and what is allowed, all at once, and a valid
//! `hydrate` compiled into the polling plan.

use crate::common::{sample_descriptor, set};
use serde_json::{Value, json};
use switchboard_core::{Descriptor, DescriptorError};

const AT: &str = "/ingestion/polling/hydrate";

fn with_hydrate(hydrate: Value) -> Value {
    let mut doc = sample_descriptor();
    set(&mut doc, AT, hydrate);
    doc
}

fn problems(doc: &Value) -> Vec<(String, String)> {
    let error: DescriptorError = Descriptor::from_value(doc, "test.json").expect_err("should be rejected");
    error.issues.into_iter().map(|i| (i.pointer, i.message)).collect()
}

fn has(found: &[(String, String)], pointer: &str, needle: &str) -> bool {
    found.iter().any(|(p, m)| p == pointer && m.contains(needle))
}

#[test]
fn a_valid_hydrate_compiles_with_its_defaults() {
    let doc = with_hydrate(json!({
        "endpoint": "{{baseUrl}}/projects/{{config.projectKey}}/items/{{item.id}}",
        "headers": {"X-Api-Key": "{{credentials.apiKey}}", "X-Item": "{{item.key}}"}
    }));
    let descriptor = Descriptor::from_value(&doc, "test.json").unwrap_or_else(|e| panic!("{e}"));
    let plan = descriptor.polling().expect("polls").requests.hydrate.as_ref().expect("hydrates");
    assert_eq!(plan.concurrency, 4);
    assert_eq!(plan.detail.as_str(), "$");
    assert!(plan.merge_under.is_none() && plan.responses.is_none() && plan.headers.len() == 2);

    let none = Descriptor::from_value(&sample_descriptor(), "test.json").unwrap_or_else(|e| panic!("{e}"));
    assert!(none.polling().expect("polls").requests.hydrate.is_none(), "no hydrate, no detail requests");
}

#[test]
fn bad_concurrency_unknown_placeholders_and_bad_paths_are_reported_at_their_pointers() {
    let found = problems(&with_hydrate(json!({
        "endpoint": "{{baseUrl}}/items/{{item.id}}?since={{checkpoint}}",
        "headers": {"X-Trace": "{{trace}}"},
        "detailPath": "$.data[",
        "concurrency": 32
    })));
    assert!(has(&found, &format!("{AT}/endpoint"), "unknown variable {{checkpoint}}"), "{found:?}");
    assert!(has(&found, &format!("{AT}/endpoint"), "item.<field.path>"), "says what is allowed: {found:?}");
    assert!(has(&found, &format!("{AT}/headers/X-Trace"), "unknown variable {{trace}}"), "{found:?}");
    assert!(has(&found, &format!("{AT}/detailPath"), "invalid JSONPath"), "{found:?}");
    assert!(has(&found, &format!("{AT}/concurrency"), "must be 1 to 16"), "{found:?}");
    assert_eq!(found.len(), 4, "{found:?}");

    let found = problems(&with_hydrate(json!({"endpoint": "{{baseUrl}}/items/{{item.id}}", "concurrency": 0})));
    assert!(has(&found, &format!("{AT}/concurrency"), "0 is out of range"), "{found:?}");
}

#[test]
fn undeclared_keys_item_paths_and_rules_are_reported_at_their_pointers() {
    let found = problems(&with_hydrate(json!({
        "endpoint": "{{baseUrl}}/items/{{item..id}}/{{config.region}}",
        "mergeUnder": "",
        "responseRules": [{"status": 404, "action": "ignore"}, {"status": 410, "action": "reset_checkpoint"},
            {"action": "ignore"}]
    })));
    assert!(has(&found, &format!("{AT}/endpoint"), "empty segment"), "{found:?}");
    assert!(has(&found, &format!("{AT}/endpoint"), "not declared in configFields"), "{found:?}");
    assert!(has(&found, &format!("{AT}/mergeUnder"), "non-empty key"), "{found:?}");
    assert!(has(&found, &format!("{AT}/responseRules/1/action"), "cannot reset the checkpoint"), "{found:?}");
    assert!(has(&found, &format!("{AT}/responseRules/2"), "at least one of"), "{found:?}");

    let found = problems(&with_hydrate(json!({"endpoint": "{{baseUrl}}/items/latest"})));
    assert!(has(&found, &format!("{AT}/endpoint"), "reads nothing of the listed item"), "{found:?}");
}

#[test]
fn shape_mistakes_in_hydrate_point_inside_it() {
    let found = problems(&with_hydrate(json!({"endpoint": "{{baseUrl}}/i/{{item.id}}", "parallel": 2,
        "concurrency": "four"})));
    assert!(found.iter().any(|(p, m)| p == AT && m.contains("parallel")), "{found:?}");
    assert!(found.iter().any(|(p, _)| p == &format!("{AT}/concurrency")), "{found:?}");
    let found = problems(&with_hydrate(json!({"headers": {}})));
    assert!(found.iter().any(|(p, m)| p == AT && m.contains("endpoint")), "{found:?}");
}
