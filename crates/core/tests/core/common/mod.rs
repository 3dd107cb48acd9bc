//! Shared fixtures for the core integration tests.

use serde_json::{Value, json};

/// A valid polling + webhook descriptor exercising most features; tests mutate it.
pub fn sample_descriptor() -> Value {
    json!({
        "id": "sample-tracker",
        "name": "Sample tracker",
        "description": "A tracker used by the tests.",
        "category": "project_management",
        "icon": "list",
        "kind": "generic",
        "auth": {"method": "api_key", "config": {
            "delivery": "header", "paramName": "X-Api-Key",
            "credentialFields": [
                {"key": "apiKey", "label": "API key", "type": "password", "required": true},
                {"key": "webhookSecret", "label": "Webhook secret", "type": "password", "required": false}
            ]
        }},
        "configFields": [
            {"key": "baseUrl", "label": "API URL", "type": "url", "required": false, "default": "https://tracker.example"},
            {"key": "projectKey", "label": "Project", "type": "text", "required": true}
        ],
        "ingestion": {
            "mode": "polling_and_webhook",
            "polling": {
                "endpoint": "{{baseUrl}}/projects/{{config.projectKey}}/items?updated_since={{checkpoint}}",
                "method": "GET",
                "delta": {"type": "timestamp_filter", "queryParam": "updated_since", "format": "iso8601"},
                "rateLimitRpm": 60,
                "pagination": {"type": "cursor", "nextPath": "$.next", "nextParam": "cursor", "pageSize": 50}
            },
            "webhook": {
                "eventTypes": ["item.created", "item.updated"],
                "eventTypePath": "$.event",
                "verification": {"signatureHeader": "X-Signature", "secretField": "webhookSecret"}
            }
        },
        "fieldMapping": {
            "itemsPath": "$.items[*]",
            "idPath": "$.id",
            "timestampPath": "$.updated_at",
            "summaryTemplate": "{{key}}: {{title}} [{{labels}}] {{$.assignee.name}}",
            "signalTypeRules": [
                {"when": "$.status", "operator": "equals", "value": "new", "then": "item_created"},
                {"any": [
                    {"when": "$.status", "operator": "in", "value": ["open", "done"]},
                    {"when": "$.title", "operator": "matches", "value": "^URGENT"}
                ], "then": "item_updated"}
            ],
            "priorityMapping": [
                {"when": "$.severity", "operator": "in", "value": ["sev1", "sev0"], "then": "critical"},
                {"when": "$.labels", "operator": "contains", "value": "minor", "then": "low"}
            ],
            "participantsPath": ["$.assignee.name", "$.watchers[*].name"],
            "tagsPath": "$.labels",
            "relatedItemsPath": "$.links[*].key",
            "urlPath": "$.web_url",
            "rawFields": ["key", "$.severity"],
            "webhook": {
                "itemsPath": "$.item",
                "idPath": "$.id",
                "timestampPath": "$.changed_at",
                "timestampFormat": "unix_ms",
                "summaryTemplate": "{{title}} ({{$.id}})",
                "signalTypeRules": [
                    {"eventType": "item.created", "when": "$.id", "operator": "exists", "then": "item_created"},
                    {"eventType": "item.updated", "when": "$.id", "operator": "exists", "then": "item_updated"}
                ]
            }
        },
        "healthCheck": {"endpoint": "{{baseUrl}}/me", "method": "GET", "expectStatus": 200, "timeoutMs": 3000},
        "version": "1.2.0"
    })
}

/// Replaces the value at a JSON pointer (the parent must exist).
pub fn set(doc: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    let target = doc.pointer_mut(parent).unwrap_or_else(|| panic!("no parent at {parent}"));
    match target {
        Value::Object(map) => {
            map.insert(key.to_owned(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().expect("index")] = value,
        _ => panic!("parent of {pointer} is a scalar"),
    }
}

/// Removes the value at a JSON pointer.
pub fn remove(doc: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
    if let Some(Value::Object(map)) = doc.pointer_mut(parent) {
        map.remove(key);
    }
}
