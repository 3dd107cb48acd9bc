//! The starting point of a new descriptor (`switchboard init`, the API's request examples): a
//! webhook connector that validates as written and whose one example passes.

use crate::ids::ConnectorId;

/// A webhook connector: HMAC-SHA256 signature in `X-Signature-256`, the event type in the body's
/// `event`, one signal type per event type, and an example delivery with its expected signal.
/// Written as text (not built as a `serde_json` value) to keep the order a reader expects.
const SCAFFOLD: &str = r#"{
  "id": "{{id}}",
  "name": "{{name}}",
  "description": "Items created and updated in {{name}}, pushed by its webhooks.",
  "category": "custom",
  "icon": "plug",
  "kind": "generic",
  "auth": {
    "method": "webhook_secret",
    "config": {
      "signatureHeader": "X-Signature-256",
      "algorithm": "hmac-sha256",
      "credentialFields": [
        {
          "key": "webhookSecret",
          "label": "Webhook secret",
          "type": "password",
          "required": true,
          "helpText": "The secret the tool signs its webhook deliveries with."
        }
      ]
    }
  },
  "allowedHosts": ["example.com"],
  "ingestion": {
    "mode": "webhook",
    "eventTypes": ["item.created", "item.updated"],
    "eventTypePath": "$.event",
    "verification": "signature"
  },
  "fieldMapping": {
    "itemsPath": "$",
    "idPath": "$.item.id",
    "timestampPath": "$.item.updated_at",
    "summaryTemplate": "{{item.title}}",
    "signalTypeRules": [
      { "eventType": "item.created", "then": "item_created" },
      { "eventType": "item.updated", "then": "item_updated" }
    ],
    "urlPath": "$.item.url"
  },
  "healthCheck": {
    "endpoint": "https://example.com/",
    "method": "GET",
    "expectStatus": 200,
    "timeoutMs": 5000
  },
  "examples": [
    {
      "name": "an item is created",
      "payload": {
        "event": "item.created",
        "item": {
          "id": "1",
          "title": "First item",
          "updated_at": "2024-01-01T00:00:00Z",
          "url": "https://example.com/items/1"
        }
      },
      "expect": {
        "signals": [
          {
            "signalType": "item_created",
            "externalId": "1",
            "summary": "First item",
            "timestamp": "2024-01-01T00:00:00Z",
            "url": "https://example.com/items/1"
          }
        ]
      }
    }
  ],
  "version": "0.1.0"
}
"#;

/// The scaffold for `id`, as JSON text in the order a reader expects.
pub fn scaffold(id: &ConnectorId) -> String {
    SCAFFOLD.replace("{{id}}", id.as_str()).replace("{{name}}", &title(id.as_str()))
}

/// `acme-tickets` → `Acme Tickets`.
fn title(id: &str) -> String {
    id.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map(|c| c.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Descriptor;

    #[test]
    fn the_scaffold_validates_and_its_example_passes() {
        let id = ConnectorId::parse("acme-tickets").unwrap();
        let text = scaffold(&id);
        let descriptor = Descriptor::from_json_str(&text, "scaffold").unwrap();
        assert!(text.contains("\"name\": \"Acme Tickets\""), "{text}");
        let runs = crate::examples::run_examples(&descriptor, None);
        assert!(!runs.is_empty() && runs.iter().all(|r| r.passed()));
    }
}
