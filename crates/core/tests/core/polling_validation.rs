//! Validation of the polling constructs of descriptor language v2 (pagination kinds and stops,
//! page placeholders, response rules, rate budgets, record filters): each mistake reported at
//! its JSON pointer with what is wrong and what is allowed, all at once.

use crate::common::{sample_descriptor, set};
use serde_json::{Value, json};
use switchboard_core::{Descriptor, DescriptorError};

const AT: &str = "/ingestion/polling";

fn problems(doc: &Value) -> Vec<(String, String)> {
    let error: DescriptorError = Descriptor::from_value(doc, "test.json").expect_err("should be rejected");
    error.issues.into_iter().map(|i| (i.pointer, i.message)).collect()
}

fn has(found: &[(String, String)], pointer: &str, needle: &str) -> bool {
    found.iter().any(|(p, m)| p == pointer && m.contains(needle))
}

fn polling(changes: &[(&str, Value)]) -> Value {
    let mut doc = sample_descriptor();
    for (pointer, value) in changes {
        set(&mut doc, &format!("{AT}{pointer}"), value.clone());
    }
    doc
}

#[test]
fn every_new_construct_compiles_in_a_valid_descriptor() {
    let doc = polling(&[
        ("/method", json!("POST")),
        ("/body", json!(r#"{"first": {{pageSize}}, "after": "{{pageToken}}"}"#)),
        (
            "/pagination",
            json!({"type": "cursor", "nextPath": "$.data.pageInfo.endCursor",
            "hasMorePath": "$.data.pageInfo.hasNextPage", "pageSize": 50}),
        ),
        (
            "/responseRules",
            json!([
                {"status": 404, "action": "ignore"},
                {"status": [410, "5xx"], "body": {"when": "$.error.code", "operator": "equals", "value": "fullSyncRequired"},
                 "action": "reset_checkpoint", "message": "the sync token expired"},
                {"header": {"name": "X-Error", "matches": "^throttl"}, "action": "retry", "maxAttempts": 3},
                {"body": {"when": "$.ok", "operator": "equals", "value": false}, "action": "fail", "failAs": "auth"}
            ]),
        ),
        (
            "/rateBudget",
            json!({"remainingHeader": "X-RateLimit-Remaining", "resetFormat": "epoch_seconds", "reserve": 5}),
        ),
        ("/recordFilter", json!({"exclude": {"when": "$.pull_request", "operator": "exists"}})),
    ]);
    let descriptor = Descriptor::from_value(&doc, "test.json").unwrap_or_else(|e| panic!("{e}"));
    let plan = &descriptor.polling().expect("polls").requests;
    assert_eq!(plan.responses.len(), 4);
    assert!(plan.rate_budget.is_some() && plan.record_filter.is_some());
    assert!(plan.page_token_in_template && plan.page_size_in_template);
}

#[test]
fn pagination_mistakes_name_the_field_and_what_is_allowed() {
    let found = problems(&polling(&[(
        "/pagination",
        json!({"type": "page_number", "pageSize": 10, "nextUrlPath": "$.next", "nextHeader": "X-Next",
            "totalPagesPath": "$[", "hasMorePath": "$..[", "startPage": 1}),
    )]));
    assert!(has(&found, "/ingestion/polling/pagination/nextParam", "{{pageNumber}}"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/pagination/nextUrlPath", "only read by `next_url`"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/pagination/nextHeader", "only read by `cursor`"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/pagination/totalPagesPath", "JSONPath"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/pagination/hasMorePath", "JSONPath"), "{found:?}");

    let found = problems(&polling(&[("/pagination", json!({"type": "next_url", "pageSize": 10}))]));
    assert!(has(&found, "/ingestion/polling/pagination/nextUrlPath", "needs nextUrlPath"), "{found:?}");

    let found = problems(&polling(&[(
        "/pagination",
        json!({"type": "cursor", "nextPath": "$.next", "nextHeader": "bad header", "nextParam": "c", "pageSize": 10}),
    )]));
    assert!(has(&found, "/ingestion/polling/pagination/nextHeader", "not both"), "{found:?}");

    let found = problems(&polling(&[("/pagination", json!({"type": "cursor", "nextParam": "c", "pageSize": 10}))]));
    assert!(has(&found, "/ingestion/polling/pagination/nextPath", "nextHeader"), "{found:?}");
}

#[test]
fn page_placeholders_must_fit_the_pagination() {
    let found = problems(&polling(&[
        ("/endpoint", json!("{{baseUrl}}/items?page={{pageNumber}}&size={{pageSize}}")),
        ("/pagination", json!({"type": "offset", "nextParam": "offset", "pageSize": 10})),
    ]));
    assert!(has(&found, "/ingestion/polling/pagination", "{{pageNumber}}, which only page_number"), "{found:?}");

    let mut doc = polling(&[("/endpoint", json!("{{baseUrl}}/items?size={{pageSize}}&o={{offset}}"))]);
    doc["ingestion"]["polling"].as_object_mut().unwrap().remove("pagination");
    let found = problems(&doc);
    assert!(has(&found, "/ingestion/polling", "{{pageSize}}, but the connector has no `pagination`"), "{found:?}");
    assert!(has(&found, "/ingestion/polling", "{{offset}}, but the connector has no `pagination`"), "{found:?}");

    let found = problems(&polling(&[("/headers", json!({"X-Page": "{{pageCursor}}"}))]));
    assert!(has(&found, "/ingestion/polling/headers/X-Page", "unknown variable {{pageCursor}}"), "{found:?}");
}

#[test]
fn response_rule_mistakes_are_reported_at_each_rule() {
    let found = problems(&polling(&[(
        "/responseRules",
        json!([
            {"action": "ignore"},
            {"status": "9xx", "action": "fail"},
            {"status": 401, "action": "retry", "maxAttempts": 1, "failAs": "auth"},
            {"body": {"when": "$.a", "operator": "matches", "value": "("}, "action": "reset_checkpoint"}
        ]),
    )]));
    assert!(
        has(&found, "/ingestion/polling/responseRules/0", "at least one of `status`, `body` or `header`"),
        "{found:?}"
    );
    assert!(has(&found, "/ingestion/polling/responseRules/1/status", "\"1xx\" to \"5xx\""), "{found:?}");
    assert!(has(&found, "/ingestion/polling/responseRules/1/failAs", "auth, config, transient"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/responseRules/2/maxAttempts", "2 to 10"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/responseRules/2/failAs", "belongs to action `fail`"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/responseRules/3/body/value", "invalid regular expression"), "{found:?}");

    // A PAT cannot be refreshed.
    let mut doc = sample_descriptor();
    set(
        &mut doc,
        "/auth",
        json!({"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization",
        "credentialFields": [{"key": "token", "label": "Token", "type": "password", "required": true},
                             {"key": "webhookSecret", "label": "Secret", "type": "password", "required": true}]}}),
    );
    set(&mut doc, &format!("{AT}/responseRules"), json!([{"status": 401, "action": "refresh_token_then_retry"}]));
    let found = problems(&doc);
    assert!(has(&found, "/ingestion/polling/responseRules/0/action", "oauth2"), "{found:?}");
}

#[test]
fn shape_mistakes_in_new_constructs_point_inside_them() {
    let found = problems(&polling(&[
        ("/responseRules", json!([{"status": 404, "action": "skip"}])),
        ("/rateBudget", json!({"resetFormat": "hours", "remainingHeader": "X-Left"})),
        ("/recordFilter", json!({"exclude": {"when": "$.pull_request", "operator": "exists"}, "drop": true})),
        ("/pagination/type", json!("pages")),
    ]));
    let inside = |prefix: &str| found.iter().any(|(p, _)| p.starts_with(prefix));
    assert!(inside("/ingestion/polling/responseRules/0"), "{found:?}");
    assert!(inside("/ingestion/polling/rateBudget"), "{found:?}");
    assert!(inside("/ingestion/polling/recordFilter"), "{found:?}");
    assert!(inside("/ingestion/polling/pagination"), "{found:?}");
    assert!(!found.iter().any(|(p, _)| p == "/ingestion"), "nothing is blamed on the whole section: {found:?}");
}

#[test]
fn rate_budget_and_filter_mistakes_are_reported() {
    let found = problems(&polling(&[
        ("/rateBudget", json!({"resetHeader": "X Reset"})),
        ("/recordFilter", json!({"include": {}})),
    ]));
    assert!(has(&found, "/ingestion/polling/rateBudget/resetHeader", "not a valid HTTP header name"), "{found:?}");
    assert!(has(&found, "/ingestion/polling/recordFilter/include", "tests nothing"), "{found:?}");
    let found = problems(&polling(&[("/recordFilter", json!({}))]));
    assert!(has(&found, "/ingestion/polling/recordFilter", "`include`, `exclude` or both"), "{found:?}");
}

#[test]
fn partitions_and_backfill_compile_and_their_values_are_template_variables() {
    let doc = polling(&[
        ("/endpoint", json!("{{baseUrl}}/projects/{{partition.project}}/items?updated_since={{checkpoint}}")),
        (
            "/partitions",
            json!({"sources": [
                {"from": "config", "listKey": "projectKey", "field": "project"},
                {"from": "request", "endpoint": "{{baseUrl}}/projects", "itemsPath": "$.projects[*]",
                 "fields": {"project": "$.key"}, "responseRules": [{"status": 404, "action": "ignore"}]}
            ], "key": "{{partition.project}}", "maxPartitions": 50}),
        ),
        ("/backfill", json!({"defaultDays": 30, "startDateKey": "projectKey"})),
    ]);
    let descriptor = Descriptor::from_value(&doc, "test.json").unwrap_or_else(|e| panic!("{e}"));
    let polling = descriptor.polling().expect("polls");
    let plan = &polling.requests;
    let partitions = polling.partitions.as_ref().expect("partitions");
    assert_eq!((partitions.sources.len(), partitions.max), (2, 50));
    assert_eq!(plan.backfill.as_ref().map(|b| b.default_days), Some(Some(30)));
}

#[test]
fn partition_and_backfill_mistakes_are_reported_at_their_pointers() {
    let found = problems(&polling(&[
        ("/endpoint", json!("{{baseUrl}}/projects/{{partition.board}}/items")),
        (
            "/partitions",
            json!({"sources": [
                {"from": "config", "listKey": "boards", "field": "project"},
                {"from": "request", "endpoint": "{{baseUrl}}/projects?after={{checkpoint}}", "itemsPath": "$[",
                 "fields": {"project": "$.key", "bad-name": "$.name"}}
            ], "key": "all", "maxPartitions": 0}),
        ),
        ("/delta", json!({"type": "cursor", "cursorPath": "$.next", "cursorParam": "after"})),
        ("/backfill", json!({"defaultDays": 30})),
    ]));
    let p = |rest: &str| format!("{AT}{rest}");
    for (pointer, needle) in [
        (p("/endpoint"), "unknown variable {{partition.board}} (allowed: baseUrl, checkpoint"),
        (p("/partitions/key"), "the key names no partition field"),
        (p("/partitions/maxPartitions"), "must be greater than 0"),
        (p("/partitions/sources/0/listKey"), "config key \"boards\" is not declared in configFields"),
        (p("/partitions/sources/1/endpoint"), "unknown variable {{checkpoint}}"),
        (p("/partitions/sources/1/itemsPath"), "$["),
        (p("/partitions/sources/1/fields/bad-name"), "must be letters, digits and `_`"),
        (p("/backfill"), "a backfill start needs `delta.type` `timestamp_filter`"),
        (p("/backfill"), "the start date is read from config key \"startDate\": declare it in configFields"),
    ] {
        assert!(has(&found, &pointer, needle), "{pointer}: {needle:?} not in {found:#?}");
    }
}

#[test]
fn a_wrong_partition_source_kind_names_the_field_and_the_valid_values() {
    let found = problems(&polling(&[(
        "/partitions",
        json!({"sources": [{"from": "database", "listKey": "projectKey", "field": "project"}], "key": "{{partition.project}}"}),
    )]));
    assert!(
        has(
            &found,
            &format!("{AT}/partitions/sources/0/from"),
            "unknown from \"database\" (expected one of config, request)"
        ),
        "{found:#?}"
    );
}

#[test]
fn window_mistakes_are_reported_at_their_pointers() {
    let with_start = |backfill: Value, endpoint: &str| {
        let mut doc = polling(&[("/backfill", backfill), ("/endpoint", json!(endpoint))]);
        doc["configFields"]
            .as_array_mut()
            .unwrap()
            .push(json!({"key": "startDate", "label": "Start", "type": "text", "required": false}));
        doc
    };
    let found = problems(&with_start(json!({"windowDays": 0}), "{{baseUrl}}/items"));
    assert!(has(&found, &format!("{AT}/backfill/windowDays"), "must be greater than 0"), "{found:#?}");
    let found = problems(&with_start(json!({"windowDays": 7}), "{{baseUrl}}/items"));
    assert!(has(&found, &format!("{AT}/backfill"), "set `windowEndParam`, or place {{windowEnd}}"), "{found:#?}");
    let found = problems(&with_start(json!({"windowEndParam": "until"}), "{{baseUrl}}/items"));
    assert!(has(&found, &format!("{AT}/backfill/windowEndParam"), "only read with `windowDays`"), "{found:#?}");
    let found = problems(&with_start(json!({}), "{{baseUrl}}/items?until={{windowEnd}}"));
    assert!(has(&found, &format!("{AT}/endpoint"), "unknown variable {{windowEnd}}"), "{found:#?}");
    // With a window, the placeholder places its end.
    let doc = with_start(json!({"windowDays": 7}), "{{baseUrl}}/items?until={{windowEnd}}");
    Descriptor::from_value(&doc, "test.json").unwrap_or_else(|e| panic!("{e}"));
}
