//! The compiled [`Descriptor`]: the authored model ([`crate::model`]) with every section
//! compiled by its own engine — field mappings ([`crate::mapping`]), the webhook section
//! ([`crate::webhook`]), the auth, polling and health-check plans ([`crate::polling`]) — and
//! the loaders that produce it. Holding a `Descriptor` means holding a valid one.

mod compile;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde_json::Value;

use crate::hosts::HostAllowlist;
use crate::mapping::projection::Projection;
use crate::mapping::{FieldMapper, IgnoredItem, MapContext, MapError, MapReport};
use crate::model::{ConnectorDescriptor, ConnectorKind, DescriptorError, Issue, schema};
use crate::polling::{AuthPlan, HealthCheckPlan, PollingPlan};
use crate::signal::IngestionKind;
use crate::webhook::{CompiledWebhook, Headers, SubscriptionPlans, WebhookEvent};

/// A validated connector descriptor with every path, regex and template compiled.
///
/// The only way to get one is through the loaders, so holding a `Descriptor` means holding a
/// valid one.
#[derive(Debug, Clone)]
pub struct Descriptor {
    raw: ConnectorDescriptor,
    sections: compile::Sections,
}

impl Descriptor {
    /// Loads a descriptor from JSON text; `origin` names it in errors.
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self, DescriptorError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| DescriptorError::whole(origin, format!("not valid JSON: {e}")))?;
        Self::from_value(&value, origin)
    }

    /// Loads a descriptor from a JSON file.
    pub fn from_file(path: &Path) -> Result<Self, DescriptorError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| DescriptorError::whole(&origin, format!("cannot read file: {e}")))?;
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
        let sections = compile::compile(&raw).map_err(fail)?;
        Ok(Self { raw, sections })
    }

    /// Validates and compiles an already deserialised descriptor.
    pub fn from_model(raw: ConnectorDescriptor, origin: &str) -> Result<Self, DescriptorError> {
        let value = serde_json::to_value(&raw).map_err(|e| DescriptorError::whole(origin, e.to_string()))?;
        Self::from_value(&value, origin)
    }

    /// Compiles a descriptor the registry accepted: every section compiled as [`from_value`]
    /// does (paths, regexes, templates, plans), without checking the document's shape against
    /// the JSON Schema again — the registry checked it when the descriptor was registered, and
    /// checking costs a function's first delivery about 10 ms (the schema is parsed and
    /// compiled on first use). Its regular expressions are checked, and their matchers built
    /// when first used ([`crate::pattern`]).
    ///
    /// [`from_value`]: Self::from_value
    pub fn from_registered(raw: ConnectorDescriptor, origin: &str) -> Result<Self, DescriptorError> {
        let sections = crate::pattern::deferred(|| compile::compile(&raw))
            .map_err(|issues| DescriptorError { origin: origin.to_owned(), issues })?;
        Ok(Self { raw, sections })
    }

    /// The descriptor as authored, as registration stores it.
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

    /// Whether the generic runtime runs it or a registered native implementation.
    pub fn kind(&self) -> ConnectorKind {
        self.raw.kind
    }

    /// The hosts this connector's requests may reach (`allowedHosts`).
    pub fn allowed_hosts(&self) -> &HostAllowlist {
        &self.sections.allowed_hosts
    }

    /// The compiled polling plan, if the connector polls.
    pub fn polling(&self) -> Option<&PollingPlan> {
        self.sections.polling.as_ref()
    }

    /// The compiled webhook part, if the connector receives webhooks.
    pub fn webhook(&self) -> Option<&CompiledWebhook> {
        self.sections.webhook.as_ref()
    }

    /// The webhook subscription Switchboard manages at the provider, if the descriptor
    /// declares one.
    pub fn subscription(&self) -> Option<&SubscriptionPlans> {
        self.sections.subscription.as_ref()
    }

    /// How requests to the connector's API are authenticated.
    pub fn auth(&self) -> &AuthPlan {
        &self.sections.auth
    }

    /// The compiled health check; `None` for a webhook-only connector that declares none.
    pub fn health_check(&self) -> Option<&HealthCheckPlan> {
        self.sections.health_check.as_ref()
    }

    /// The defaults of the descriptor's `configFields`.
    pub fn config_defaults(&self) -> &BTreeMap<String, String> {
        &self.sections.config_defaults
    }

    /// An instance's config with the descriptor's defaults filled in.
    pub fn effective_config(&self, config: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut out = self.sections.config_defaults.clone();
        out.extend(config.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// The instance config values the mapping of `ingestion` reads (its `urlTemplate`s'
    /// `{{baseUrl}}` / `{{config.<key>}}`), from the instance's `config` with the descriptor's
    /// defaults filled in: what a producer puts in the envelope for the normaliser. Empty when
    /// the mapping reads none.
    pub fn mapping_config(
        &self,
        ingestion: IngestionKind,
        config: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let Some(keys) = self.mapper(ingestion).map(FieldMapper::config_keys).filter(|k| !k.is_empty()) else {
            return BTreeMap::new();
        };
        let mut effective = self.effective_config(config);
        effective.retain(|key, _| keys.contains(key));
        effective
    }

    /// The mapper used for a mode, if the connector supports that mode.
    pub fn mapper(&self, ingestion: IngestionKind) -> Option<&FieldMapper> {
        match ingestion {
            IngestionKind::Polling => self.sections.polling_mapper.as_ref(),
            IngestionKind::Webhook => self.sections.webhook_mapper.as_ref(),
        }
    }

    /// Maps a payload (a webhook body or a polled page) into signals, with the event type the
    /// webhook gateway decided (`ctx.event_type`; it is not read from the payload again). A
    /// webhook whose event type the connector does not handle (the descriptor changed since the
    /// gateway accepted it) is one ignored item.
    pub fn map(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let Some(mapper) = self.mapper(ctx.ingestion) else {
            return Ok(unsupported(ctx.ingestion));
        };
        if let Some(reason) = self.ignores_event(ctx) {
            return Ok(ignored(reason));
        }
        mapper.map_payload(payload, ctx)
    }

    /// Why a webhook's event type (`ctx.event_type`) is not handled, when it is not.
    fn ignores_event(&self, ctx: &MapContext<'_>) -> Option<String> {
        let (IngestionKind::Webhook, Some(webhook)) = (ctx.ingestion, self.webhook()) else { return None };
        match webhook.judge(ctx.event_type.map(str::to_owned)) {
            WebhookEvent::Ignored { reason, .. } => Some(reason),
            WebhookEvent::Handled(_) => None,
        }
    }

    /// [`Self::map`] from the payload's JSON text, building only the parts the mapping reads
    /// (see [`crate::mapping::projection`]): the same report as parsing the whole payload.
    pub fn map_json(&self, payload: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let Some(mapper) = self.mapper(ctx.ingestion).filter(|_| self.ignores_event(ctx).is_none()) else {
            // Nothing of it is mapped; it must still be JSON, as a mapped payload must.
            return self.map(&crate::mapping::parse(&Projection::Skip, payload)?, ctx);
        };
        mapper.map_payload_json(payload, ctx)
    }

    /// [`Self::map_item`] from the item's JSON text, building only the parts the mapping reads.
    pub fn map_item_json(&self, item: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let projection = self.mapper(ctx.ingestion).map_or(&Projection::Skip, FieldMapper::item_projection);
        Ok(self.map_item(&crate::mapping::parse(projection, item)?, ctx))
    }

    /// [`Self::map_delivery`] from the payload's JSON text, building only the parts the mapping
    /// (and, for a webhook without `ctx.event_type`, the event type's path) reads.
    pub fn map_delivery_json(&self, payload: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let (IngestionKind::Webhook, Some(webhook), None) = (ctx.ingestion, self.webhook(), ctx.event_type) else {
            // The event type is given or there is none: this is what the normaliser does.
            return self.map_json(payload, ctx);
        };
        let mapping = self.mapper(ctx.ingestion).map_or(&Projection::Skip, FieldMapper::payload_projection).clone();
        let projection = mapping.union(Projection::of_whole(&webhook.event_type_path));
        self.map_delivery(&crate::mapping::parse(&projection, payload)?, ctx)
    }

    /// Maps a payload as the webhook gateway and the normaliser do together, for tools and
    /// tests: for a webhook, the event type is decided first (`ctx.event_type`, else read from
    /// the payload), and an event type the connector does not handle makes the whole payload
    /// one ignored item.
    pub fn map_delivery(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let (IngestionKind::Webhook, Some(webhook)) = (ctx.ingestion, self.webhook()) else {
            return self.map(payload, ctx);
        };
        let event = match ctx.event_type {
            Some(given) => webhook.judge(Some(given.to_owned())),
            None => webhook.event(&Headers::default(), payload),
        };
        match event {
            WebhookEvent::Handled(event_type) => {
                self.map(payload, &MapContext { event_type: event_type.as_deref(), ..ctx.clone() })
            }
            WebhookEvent::Ignored { reason, .. } => Ok(ignored(reason)),
        }
    }

    /// Maps one item already extracted with `itemsPath` (a polled item travels alone in its
    /// envelope, so one bad item fails only its own message).
    pub fn map_item(&self, item: &Value, ctx: &MapContext<'_>) -> MapReport {
        let Some(mapper) = self.mapper(ctx.ingestion) else {
            return unsupported(ctx.ingestion);
        };
        let mut report = MapReport::default();
        mapper.map_into(&mut report, 0, item, ctx);
        report
    }

    /// Convenience for tools and tests: [`Self::map_delivery`] with `received_at = now`, for an
    /// instance that sets no config (the descriptor's `configFields` defaults).
    pub fn map_now(
        &self,
        payload: &Value,
        project_id: &str,
        ingestion: IngestionKind,
        event_type: Option<&str>,
    ) -> Result<MapReport, MapError> {
        let config = self.config_defaults();
        let ctx = MapContext {
            connector_id: self.id(),
            project_id,
            ingestion,
            event_type,
            received_at: Utc::now(),
            config: Some(config),
        };
        self.map_delivery(payload, &ctx)
    }
}

/// The report of a payload in a mode the connector does not support: one ignored item.
fn unsupported(ingestion: IngestionKind) -> MapReport {
    ignored(format!("connector does not support {} ingestion", ingestion.as_str()))
}

/// The report of a payload that is not a signal, as one ignored item.
fn ignored(reason: String) -> MapReport {
    MapReport { ignored: vec![IgnoredItem { index: 0, external_id: None, reason }], ..MapReport::default() }
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
                Err(e) => results.push(Err(DescriptorError::whole(
                    &path.display().to_string(),
                    format!("cannot read directory: {e}"),
                ))),
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    results.extend(files.iter().map(|f| Descriptor::from_file(f)));
    results
}
