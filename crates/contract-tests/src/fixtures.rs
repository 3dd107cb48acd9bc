//! Data the contract suite writes.

use switchboard_core::model::ConnectorDescriptor;
use switchboard_core::signal::{IngestionKind, NormalisedSignal};

/// A minimal valid descriptor with the given id and name.
pub fn descriptor(id: &str, name: &str) -> ConnectorDescriptor {
    serde_json::from_value(serde_json::json!({
        "id": id,
        "name": name,
        "description": "A connector used by the storage contract tests.",
        "category": "custom",
        "icon": "plug",
        "kind": "generic",
        "auth": {"method": "api_key", "config": {
            "delivery": "header", "paramName": "X-Api-Key",
            "credentialFields": [{"key": "apiKey", "label": "API key", "type": "password", "required": true}]
        }},
        "ingestion": {
            "mode": "polling",
            "endpoint": "https://example.invalid/items?since={{checkpoint}}",
            "method": "GET",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "rateLimitRpm": 60
        },
        "fieldMapping": {
            "itemsPath": "$.items[*]",
            "idPath": "$.id",
            "timestampPath": "$.updated_at",
            "summaryTemplate": "{{title}}",
            "signalTypeRules": [{"when": "$.id", "operator": "exists", "then": "item_updated"}]
        },
        "healthCheck": {"endpoint": "https://example.invalid/me", "method": "GET", "expectStatus": 200, "timeoutMs": 3000},
        "version": "1.0.0"
    }))
    .unwrap_or_else(|err| panic!("the contract fixture descriptor no longer parses: {err}"))
}

/// A signal of project `project` with the given id, type, timestamp (RFC 3339) and related items.
pub fn signal(project: &str, id: &str, signal_type: &str, timestamp: &str, related: &[&str]) -> NormalisedSignal {
    NormalisedSignal {
        id: id.to_owned(),
        source: "github-issues".to_owned(),
        project_id: project.to_owned(),
        external_id: format!("ext-{id}"),
        signal_type: signal_type.to_owned(),
        timestamp: timestamp.to_owned(),
        received_at: timestamp.to_owned(),
        summary: format!("Signal {id}"),
        priority: None,
        participants: vec!["octocat".to_owned()],
        tags: vec!["bug".to_owned()],
        related_items: related.iter().map(|r| (*r).to_owned()).collect(),
        url: Some(format!("https://example.invalid/{id}")),
        ingestion: IngestionKind::Webhook,
        event_type: Some("issues".to_owned()),
        raw: serde_json::Map::from_iter([("number".to_owned(), serde_json::json!(7))]),
    }
}
