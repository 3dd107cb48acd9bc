//! Data the contract suite writes.

use switchboard_core::descriptor::model::ConnectorDescriptor;

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
