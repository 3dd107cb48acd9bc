//! Connector descriptors: the authored model ([`model`]), its JSON Schema ([`schema`]) and the
//! validated, compiled form ([`Descriptor`]) every other part of Switchboard works with.

pub mod model;
pub mod schema;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

pub use validate::{CompiledHealthCheck, CompiledPolling, CompiledWebhook};

use crate::mapping::{FieldMapper, IgnoredItem, MapContext, MapError, MapReport};
use crate::signal::IngestionKind;
use model::ConnectorDescriptor;

/// One problem in a descriptor: where (JSON pointer) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// RFC 6901 JSON pointer into the descriptor (`""` is the whole document).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Issue {
    /// Creates an issue.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), message: message.into() }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "{pointer}: {}", self.message)
    }
}

/// A descriptor that failed to load: every problem found, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DescriptorError {
    /// File path, or a label such as `<request body>`.
    pub origin: String,
    /// Every problem found.
    pub issues: Vec<Issue>,
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        write!(f, "{}: {n} problem{}", self.origin, if n == 1 { "" } else { "s" })?;
        for issue in &self.issues {
            write!(f, "\n  {}: {issue}", self.origin)?;
        }
        Ok(())
    }
}

/// A validated connector descriptor with every path, regex and template compiled.
///
/// The only way to get one is through the loaders, so holding a `Descriptor` means holding a
/// valid one.
#[derive(Debug, Clone)]
pub struct Descriptor {
    raw: ConnectorDescriptor,
    polling_mapper: Option<FieldMapper>,
    webhook_mapper: Option<FieldMapper>,
    polling: Option<CompiledPolling>,
    webhook: Option<CompiledWebhook>,
    health_check: CompiledHealthCheck,
}

impl Descriptor {
    /// Loads a descriptor from JSON text; `origin` names it in errors.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self, DescriptorError> {
        let value: Value = serde_json::from_str(text).map_err(|e| DescriptorError {
            origin: origin.to_owned(),
            issues: vec![Issue::new("", format!("not valid JSON: {e}"))],
        })?;
        Self::from_value(&value, origin)
    }

    /// Loads a descriptor from a JSON file.
    pub fn from_file(path: &Path) -> Result<Self, DescriptorError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DescriptorError {
            origin: origin.clone(),
            issues: vec![Issue::new("", format!("cannot read file: {e}"))],
        })?;
        Self::from_json_str(&text, &origin)
    }

    /// Validates and compiles a parsed JSON document.
    pub fn from_value(value: &Value, origin: &str) -> Result<Self, DescriptorError> {
        let fail = |issues| DescriptorError { origin: origin.to_owned(), issues };
        let structural = schema::structural_issues(value);
        if !structural.is_empty() {
            return Err(fail(structural));
        }
        let raw: ConnectorDescriptor =
            serde_json::from_value(value.clone()).map_err(|e| fail(vec![Issue::new("", e.to_string())]))?;
        validate::compile(raw).map_err(fail)
    }

    /// Validates and compiles an already deserialised descriptor.
    pub fn from_model(raw: ConnectorDescriptor, origin: &str) -> Result<Self, DescriptorError> {
        let value = serde_json::to_value(&raw)
            .map_err(|e| DescriptorError { origin: origin.to_owned(), issues: vec![Issue::new("", e.to_string())] })?;
        Self::from_value(&value, origin)
    }

    /// The descriptor as authored.
    pub fn model(&self) -> &ConnectorDescriptor {
        &self.raw
    }

    /// Connector id.
    pub fn id(&self) -> &str {
        &self.raw.id
    }

    /// Descriptor version.
    pub fn version(&self) -> &str {
        &self.raw.version
    }

    /// The compiled polling part, if the connector polls.
    pub fn polling(&self) -> Option<&CompiledPolling> {
        self.polling.as_ref()
    }

    /// The compiled webhook part, if the connector receives webhooks.
    pub fn webhook(&self) -> Option<&CompiledWebhook> {
        self.webhook.as_ref()
    }

    /// The compiled health check.
    pub fn health_check(&self) -> &CompiledHealthCheck {
        &self.health_check
    }

    /// The mapper used for a mode, if the connector supports that mode.
    pub fn mapper(&self, ingestion: IngestionKind) -> Option<&FieldMapper> {
        match ingestion {
            IngestionKind::Polling => self.polling_mapper.as_ref(),
            IngestionKind::Webhook => self.webhook_mapper.as_ref(),
        }
    }

    /// Maps a payload (a webhook body or a polled page) into signals.
    ///
    /// For webhooks, the event type comes from `ctx.event_type` or else from `eventTypePath`;
    /// an event type outside `eventTypes` makes the whole payload one ignored item.
    pub fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let Some(mapper) = self.mapper(ctx.ingestion) else {
            return Ok(MapReport {
                ignored: vec![IgnoredItem {
                    index: 0,
                    external_id: None,
                    reason: format!("connector does not support {} ingestion", ctx.ingestion.as_str()),
                }],
                ..MapReport::default()
            });
        };
        let mut ctx = ctx.clone();
        let derived_event;
        if let (IngestionKind::Webhook, Some(webhook)) = (ctx.ingestion, &self.webhook) {
            if ctx.event_type.is_none() {
                derived_event = webhook.event_type_from_payload(payload);
                ctx.event_type = derived_event.as_deref();
            }
            if let Some(reason) = webhook.unhandled_reason(ctx.event_type) {
                return Ok(MapReport {
                    ignored: vec![IgnoredItem { index: 0, external_id: None, reason }],
                    ..MapReport::default()
                });
            }
        }
        mapper.map_payload(payload, &ctx)
    }

    /// Maps one item already extracted with `itemsPath` (a polled item travels alone in its
    /// envelope, so one bad item fails only its own message).
    pub fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        let mut report = MapReport::default();
        let Some(mapper) = self.mapper(ctx.ingestion) else {
            report.ignored.push(IgnoredItem {
                index: 0,
                external_id: None,
                reason: format!("connector does not support {} ingestion", ctx.ingestion.as_str()),
            });
            return report;
        };
        match mapper.map_item(0, item, ctx) {
            Ok(Some(signal)) => report.signals.push(signal),
            Ok(None) => report.ignored.push(IgnoredItem {
                index: 0,
                external_id: mapper.external_id(item),
                reason: "no signal type rule matched".to_owned(),
            }),
            Err(error) => report.errors.push(error),
        }
        report
    }

    /// Convenience for tools and tests: maps with `received_at = now`.
    pub fn map_now(
        &self,
        payload: &Value,
        project_id: &str,
        ingestion: IngestionKind,
        event_type: Option<&str>,
    ) -> Result<MapReport, MapError> {
        let ctx = MapContext { connector_id: self.id(), project_id, ingestion, event_type, received_at: Utc::now() };
        self.map(payload, &ctx)
    }
}

/// Loads every `*.json` descriptor under the given files and directories (not recursing into
/// sub-directories; `descriptor.schema.json` is skipped). Results are in path order.
pub fn load_paths(paths: &[PathBuf]) -> Vec<Result<Descriptor, DescriptorError>> {
    let mut files = Vec::new();
    let mut results = Vec::new();
    for path in paths {
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    files.extend(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| {
                        p.extension().is_some_and(|e| e == "json") && !p.ends_with("descriptor.schema.json")
                    }))
                }
                Err(e) => results.push(Err(DescriptorError {
                    origin: path.display().to_string(),
                    issues: vec![Issue::new("", format!("cannot read directory: {e}"))],
                })),
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    results.extend(files.iter().map(|f| Descriptor::from_file(f)));
    results
}
