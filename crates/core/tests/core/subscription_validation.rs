//! A managed webhook subscription (`ingestion[.webhook].subscription`) is validated when its
//! descriptor loads, each mistake at the pointer of the value to fix; its answers are read as
//! the plan says.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::webhook::SubscriptionAction;

const AT: &str = "/ingestion/subscription";

/// A webhook-only descriptor verifying with `webhookSecret`, whose subscription is `subscription`.
fn descriptor(subscription: Value) -> Value {
    json!({
        "id": "graphish", "name": "Graphish", "description": "d", "category": "custom", "icon": "box",
        "kind": "generic",
        "auth": {"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization", "credentialFields": [
            {"key": "token", "label": "Token", "type": "password", "required": true},
            {"key": "webhookSecret", "label": "Secret", "type": "password", "required": false}]}},
        "configFields": [
            {"key": "baseUrl", "label": "API", "type": "url", "required": false, "default": "https://graph.example.com/v1.0"},
            {"key": "resource", "label": "Resource", "type": "text", "required": false}],
        "allowedHosts": ["graph.example.com"],
        "ingestion": {"mode": "webhook", "eventTypes": [], "eventTypePath": "$.changeType",
            "verification": {"signatureHeader": "X-Sig", "secretField": "webhookSecret"},
            "subscription": subscription},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.t", "summaryTemplate": "x",
            "signalTypeRules": [{"then": "changed"}]},
        "version": "1.0.0"
    })
}

fn graph() -> Value {
    json!({
        "create": {"method": "POST", "url": "{{baseUrl}}/subscriptions",
            "body": {"changeType": "created", "notificationUrl": "{{webhookUrl}}", "resource": "{{config.resource}}",
                "expirationDateTime": "{{expiresAt}}", "clientState": "{{webhookSecret}}"},
            "idPath": "$.id", "expiresAtPath": "$.expirationDateTime"},
        "renew": {"method": "PATCH", "url": "{{baseUrl}}/subscriptions/{{subscriptionId}}",
            "body": {"expirationDateTime": "{{expiresAt}}"}, "expiresAtPath": "$.expirationDateTime",
            "renewBeforeSeconds": 86400},
        "delete": {"method": "DELETE", "url": "{{baseUrl}}/subscriptions/{{subscriptionId}}"},
        "lifetimeSeconds": 250000
    })
}

/// `pointer: message` lines of the descriptor with `subscription` (empty when it loads).
fn issues(subscription: Value) -> Vec<String> {
    match Descriptor::from_value(&descriptor(subscription), "test") {
        Ok(_) => Vec::new(),
        Err(error) => error.issues.iter().map(ToString::to_string).collect(),
    }
}

/// `graph()` with the value at `pointer` (under the subscription) replaced, or removed when null.
fn graph_with(pointer: &str, value: Value) -> Value {
    let mut doc = graph();
    let (parent, key) = pointer.rsplit_once('/').expect("a pointer");
    let parent = doc.pointer_mut(parent).and_then(Value::as_object_mut).expect("the parent exists");
    if value.is_null() {
        parent.remove(key);
    } else {
        parent.insert(key.to_owned(), value);
    }
    doc
}

fn assert_one(found: Vec<String>, pointer: &str, fragment: &str) {
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].starts_with(&format!("{pointer}: ")) && found[0].contains(fragment), "{found:#?}");
}

#[test]
fn a_graph_shaped_subscription_compiles_with_what_its_requests_read() {
    let d = Descriptor::from_value(&descriptor(graph()), "test").expect("valid");
    let plans = d.subscription().expect("a subscription");
    assert_eq!(plans.variants.len(), 1);
    let plan = &plans.variants[0];
    assert_eq!(plan.config_keys, ["resource"]);
    assert_eq!(plan.secret_field.as_deref(), Some("webhookSecret"));
    assert!(plan.renew.is_some() && plan.delete.is_some());
}

#[test]
fn the_built_in_github_prs_registers_a_repository_hook_or_else_an_organisation_hook() {
    let d = Descriptor::from_file(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../descriptors/github-prs.json"),
    )
    .expect("the built-in is valid");
    let plans = d.subscription().expect("github-prs declares a subscription");
    let [repo, org] = plans.variants.as_slice() else { panic!("two alternatives: {plans:?}") };
    assert_eq!(repo.config_keys, ["owner", "repo"]);
    assert_eq!(org.config_keys, ["owner"]);
    for plan in [repo, org] {
        assert_eq!(plan.secret_field.as_deref(), Some("webhookSecret"));
        assert!(plan.renew.is_none(), "GitHub hooks do not expire");
        assert!(plan.delete.as_ref().expect("a delete").url.as_str().ends_with("/hooks/{{subscriptionId}}"));
    }
    assert_eq!(repo.create.url.as_str(), "{{baseUrl}}/repos/{{config.owner}}/{{config.repo}}/hooks");
    assert_eq!(org.create.url.as_str(), "{{baseUrl}}/orgs/{{config.owner}}/hooks");

    let config = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    assert_eq!(plans.choose(&config(&[("owner", "octo-org"), ("repo", "hello-world")])), Ok(0));
    assert_eq!(plans.choose(&config(&[("owner", "octo-org")])), Ok(1), "the owner alone: an organisation hook");
    assert_eq!(plans.choose(&config(&[("owner", "octo-org"), ("repo", "  ")])), Ok(1), "a blank repo is not set");
    assert_eq!(plans.choose(&config(&[])), Err(vec!["owner"]), "the variant missing the fewest values is named");
}

#[test]
fn alternatives_are_validated_each_at_its_own_pointer() {
    let broken = graph_with("/create/url", json!("{{baseUrl}}/x/{{hookId}}"));
    assert_one(issues(json!([graph(), broken])), &format!("{AT}/1/create/url"), "hookId");
    assert!(issues(json!([graph(), graph()])).is_empty());
    assert_one(issues(json!([])), AT, "non-empty list");
}

#[test]
fn unknown_and_misplaced_placeholders_are_reported_where_they_are() {
    assert_one(
        issues(graph_with("/create/url", json!("{{baseUrl}}/x/{{hookId}}"))),
        &format!("{AT}/create/url"),
        "unknown variable {{hookId}}",
    );
    assert_one(
        issues(graph_with("/create/body/resource", json!("{{subscriptionId}}"))),
        &format!("{AT}/create/body/resource"),
        "{{subscriptionId}} has no value yet in `create`",
    );
    assert_one(
        issues(graph_with("/create/headers", json!({"X-Team": "{{config.team}}"}))),
        &format!("{AT}/create/headers/X-Team"),
        "config key \"team\", which is not declared",
    );
    assert_one(
        issues(graph_with("/delete/headers", json!({"bad header": "x"}))),
        &format!("{AT}/delete/headers/bad header"),
        "is not a header name",
    );
}

#[test]
fn expires_at_needs_a_lifetime() {
    let mut doc = graph_with("/lifetimeSeconds", Value::Null);
    doc["renew"]["renewBeforeSeconds"] = json!(60);
    let found = issues(doc);
    assert!(
        found.iter().any(|i| i.starts_with(&format!("{AT}/create/body/expirationDateTime: "))
            && i.contains("needs `lifetimeSeconds`")),
        "{found:#?}"
    );
    assert!(found.iter().any(|i| i.starts_with(&format!("{AT}/renew/body/expirationDateTime: "))), "{found:#?}");
}

#[test]
fn a_renewal_needs_an_expiry_and_a_sensible_margin() {
    let mut doc = graph_with("/lifetimeSeconds", Value::Null);
    doc["create"].as_object_mut().expect("object").remove("expiresAtPath");
    doc["create"]["body"].as_object_mut().expect("object").remove("expirationDateTime");
    doc["renew"]["body"] = json!({});
    assert_one(issues(doc), &format!("{AT}/renew"), "set create.expiresAtPath");
    assert_one(
        issues(graph_with("/renew/renewBeforeSeconds", json!(0))),
        &format!("{AT}/renew/renewBeforeSeconds"),
        "greater than 0",
    );
    assert_one(
        issues(graph_with("/renew/renewBeforeSeconds", json!(250000))),
        &format!("{AT}/renew/renewBeforeSeconds"),
        "not less than lifetimeSeconds",
    );
    assert_one(issues(graph_with("/lifetimeSeconds", json!(0))), &format!("{AT}/lifetimeSeconds"), "greater than 0");
}

#[test]
fn paths_hosts_and_the_secret_are_checked() {
    assert_one(issues(graph_with("/create/idPath", json!("$.[oops"))), &format!("{AT}/create/idPath"), "");
    assert_one(
        issues(graph_with("/delete/url", json!("https://evil.example/subscriptions/{{subscriptionId}}"))),
        &format!("{AT}/delete/url"),
        "not in allowedHosts",
    );
    let mut unsigned = descriptor(graph());
    unsigned["ingestion"]["verification"] = json!("none");
    let found = match Descriptor::from_value(&unsigned, "test") {
        Ok(_) => Vec::new(),
        Err(e) => e.issues.iter().map(ToString::to_string).collect(),
    };
    assert_one(
        found,
        &format!("{AT}/create/body/clientState"),
        "{{webhookSecret}} needs a webhook verification scheme",
    );
}

#[test]
fn unknown_members_and_methods_are_refused_by_the_schema() {
    let found = issues(graph_with("/create/method", json!("OPTIONS")));
    assert!(found.iter().any(|i| i.starts_with(&format!("{AT}/create/method"))), "{found:#?}");
    let mut doc = graph();
    doc["renew"]["renewBefore"] = json!(10);
    let found = issues(doc);
    assert!(found.iter().any(|i| i.contains("renewBefore")), "{found:#?}");
}

#[test]
fn answers_give_the_id_and_expiry_or_say_what_is_missing() {
    let d = Descriptor::from_value(&descriptor(graph()), "test").expect("valid");
    let plan = &d.subscription().expect("a subscription").variants[0];
    let now = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    // Microsoft Graph's documented answer to POST /subscriptions.
    let created = json!({"id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "resource": "me/mailFolders('Inbox')/messages",
        "changeType": "created", "expirationDateTime": "2016-11-20T18:23:45.9356913Z"});
    let answer = plan.read_answer(SubscriptionAction::Create, &created, now).expect("readable");
    assert_eq!(answer.id.as_deref(), Some("7f105c7d-2dc5-4530-97cd-4e7ae6534c07"));
    assert_eq!(
        answer.expires_at.map(|t| t.timestamp()),
        Some(Utc.with_ymd_and_hms(2016, 11, 20, 18, 23, 45).unwrap().timestamp())
    );
    let error = plan
        .read_answer(SubscriptionAction::Create, &json!({"expirationDateTime": "2016-11-20T18:23:45Z"}), now)
        .unwrap_err();
    assert!(error.contains("no subscription id at $.id"), "{error}");
    let error = plan.read_answer(SubscriptionAction::Renew, &json!({"id": "x"}), now).unwrap_err();
    assert!(error.contains("no expiry at $.expirationDateTime"), "{error}");
    assert_eq!(plan.requested_expiry(now), Some(now + chrono::TimeDelta::seconds(250000)));
    let expiring = now + chrono::TimeDelta::hours(23);
    assert!(plan.renewal_due(expiring, now), "within renewBeforeSeconds (a day)");
    assert!(!plan.renewal_due(now + chrono::TimeDelta::hours(25), now));
}
