//! `switchboard init`: scaffold a new descriptor that validates and whose one example passes,
//! for the author to edit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use switchboard_core::{ConnectorId, Descriptor};

/// Arguments of `switchboard init`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The connector id: lower-case kebab case, e.g. `acme-tickets`.
    id: String,
    /// Where to write it (default `descriptors/<id>.json`). An existing file is never replaced.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes the scaffold; fails (exit 2) when the id is not valid or the file exists.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if ConnectorId::parse(&args.id).is_err() {
        bail!("{:?} is not a connector id: use lower-case kebab case (a-z, 0-9, '-'), at most 64 characters", args.id);
    }
    let out = args.out.unwrap_or_else(|| Path::new("descriptors").join(format!("{}.json", args.id)));
    let schema_beside = out.parent().map(|d| d.join("descriptor.schema.json")).is_some_and(|p| p.is_file());
    let text = scaffold(&args.id, schema_beside);
    // The scaffold must be what `validate` and `test` accept; a failure here is a defect.
    Descriptor::from_json_str(&text, &out.display().to_string())?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = match std::fs::OpenOptions::new().write(true).create_new(true).open(&out) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!("{} already exists and is left as it is: choose another id or --out", out.display())
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", out.display())),
    };
    file.write_all(text.as_bytes()).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {}", out.display());
    println!("next: edit it, then `switchboard validate {0}` and `switchboard test --watch {0}`", out.display());
    Ok(ExitCode::SUCCESS)
}

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

/// The scaffold for `id` (a valid connector id, so it needs no JSON escaping); `$schema` first
/// when the schema file sits beside it, for editors that complete and check against it.
fn scaffold(id: &str, schema_beside: bool) -> String {
    let text = SCAFFOLD.replace("{{id}}", id).replace("{{name}}", &title(id));
    if schema_beside { text.replacen("{\n", "{\n  \"$schema\": \"./descriptor.schema.json\",\n", 1) } else { text }
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
