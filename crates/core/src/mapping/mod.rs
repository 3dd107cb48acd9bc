//! The field mapping engine: turns raw items into [`NormalisedSignal`]s as a descriptor's
//! `fieldMapping` says, reporting ignored items and per-item errors without aborting the rest.

pub mod condition;
pub mod expr;
mod issue_sink;
mod item_stream;
pub mod items;
pub mod projection;
pub mod reduce;
mod related;
mod template;
pub mod timestamp;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::jsonpath::{CompiledPath, scalar_text};
use crate::model::{FieldMappingDescriptor, Issue, OneOrMany, Priority, TimestampFallback, TimestampFormat};
use crate::signal::{IngestionKind, NormalisedSignal, rfc3339, signal_id};
use condition::{CompiledCondition, NodeMemo};
pub(crate) use issue_sink::IssueSink;
use item_stream::{Found, ItemSink, ItemStream};
use items::ItemsPath;
use projection::Projection;
use related::RelatedPattern;
pub use template::MappingScope;
use template::{SummaryPart, TemplateKind, compile_template, render, strings};
pub use timestamp::TimestampReader;

/// Who and what a mapping run is for.
#[derive(Debug, Clone)]
pub struct MapContext<'a> {
    /// Connector id (the signal's `source`).
    pub connector_id: &'a str,
    /// Project of the instance.
    pub project_id: &'a str,
    /// Webhook or polling.
    pub ingestion: IngestionKind,
    /// The webhook event type, when known.
    pub event_type: Option<&'a str>,
    /// When Switchboard received the payload.
    pub received_at: DateTime<Utc>,
    /// The instance's configuration (the descriptor's defaults filled in), for `{{baseUrl}}`
    /// and `{{config.<key>}}` in `urlTemplate`. `None` where the instance is not known: a URL
    /// that needs an instance value is then left out, never built from a guess.
    pub config: Option<&'a BTreeMap<String, String>>,
}

/// The outcome of mapping one payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MapReport {
    /// Items that became signals.
    pub signals: Vec<NormalisedSignal>,
    /// Items that matched no signal type rule (or an event type the connector does not handle).
    pub ignored: Vec<IgnoredItem>,
    /// Items that could not be mapped.
    pub errors: Vec<ItemError>,
}

/// An item that is not a signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoredItem {
    /// Position of the item in the payload's items.
    pub index: usize,
    /// The item's id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Why it was ignored.
    pub reason: String,
}

/// An item that could not be mapped.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("item {index}{}: {field} {path:?}: {message}", external_id.as_ref().map(|id| format!(" (id {id})")).unwrap_or_default())]
pub struct ItemError {
    /// Position of the item in the payload's items.
    pub index: usize,
    /// The item's id, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The mapping field that failed (`idPath`, `timestampPath`).
    pub field: String,
    /// The JSONPath that was evaluated.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// A payload-level mapping failure: no item could even be extracted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MapError {
    /// `itemsPath` selected nothing.
    #[error("itemsPath {0:?} matched nothing in the payload")]
    NoItems(String),
    /// The payload is not JSON (mapping from text).
    #[error("the payload is not valid JSON: {0}")]
    MalformedJson(String),
}

#[derive(Debug, Clone)]
struct TypeRule {
    condition: CompiledCondition,
    event_types: Option<Vec<String>>,
    signal_type: String,
}

/// A compiled `fieldMapping`.
#[derive(Debug, Clone)]
pub struct FieldMapper {
    items: ItemsPath,
    id: CompiledPath,
    timestamp: TimestampReader,
    /// Whether an item without a readable timestamp takes the time it was received.
    timestamp_falls_back_to_received: bool,
    summary: Vec<SummaryPart>,
    type_rules: Vec<TypeRule>,
    priority_rules: Vec<(CompiledCondition, Priority)>,
    participants: Vec<CompiledPath>,
    tags: Vec<CompiledPath>,
    related_items: Vec<CompiledPath>,
    related_patterns: Vec<RelatedPattern>,
    id_template: Option<(String, Vec<SummaryPart>)>,
    url: Vec<CompiledPath>,
    url_template: Option<Vec<SummaryPart>>,
    raw_fields: Vec<(String, CompiledPath)>,
    /// Mappings of the event types with overrides (`byEventType`), each complete.
    by_event: BTreeMap<String, FieldMapper>,
    /// What of an item this mapping and its `byEventType` mappings read.
    item_projection: Projection,
    /// What of a payload they read: `itemsPath`, and under it `item_projection`.
    payload_projection: Projection,
    /// How a payload's items are mapped while it is parsed, when `itemsPath` allows it.
    item_stream: Option<ItemStream>,
}

impl FieldMapper {
    /// Compiles a mapping found at `pointer`; `scope` says which webhook event types rules may
    /// name and which config keys `urlTemplate` may read.
    pub fn compile(spec: &FieldMappingDescriptor, pointer: &str, scope: MappingScope<'_>) -> Result<Self, Vec<Issue>> {
        let event_types = scope.event_types;
        let mut issues = Vec::new();
        let mut sink = IssueSink(&mut issues);
        let items = ItemsPath::parse(&spec.items_path)
            .map(|items| items.optional(spec.items_optional.unwrap_or(false)))
            .map_err(|e| sink.0.push(Issue::new(format!("{pointer}/itemsPath"), e)))
            .ok();
        let id = sink.path(&spec.id_path, format!("{pointer}/idPath"));
        let timestamp = compile_timestamp(spec, pointer, &mut sink);
        let summary = compile_template(
            &spec.summary_template,
            &format!("{pointer}/summaryTemplate"),
            TemplateKind::Item,
            &scope,
            sink.0,
        );
        let mut sink = IssueSink(&mut issues);

        if spec.signal_type_rules.is_empty() {
            sink.0.push(Issue::new(format!("{pointer}/signalTypeRules"), "at least one signal type rule is required"));
        }
        let mut type_rules = Vec::new();
        for (i, rule) in spec.signal_type_rules.iter().enumerate() {
            let rule_pointer = format!("{pointer}/signalTypeRules/{i}");
            let condition = sink.condition(rule.into(), &rule_pointer);
            let restricted: Option<Vec<String>> =
                rule.event_type.as_ref().map(|e| e.paths().into_iter().map(str::to_owned).collect());
            if let Some(restricted) = &restricted {
                for (j, event) in restricted.iter().enumerate() {
                    let known = event_types.is_some_and(|known| known.is_empty() || known.contains(event));
                    if !known {
                        let at = match rule.event_type {
                            Some(OneOrMany::Many(_)) => format!("{rule_pointer}/eventType/{j}"),
                            _ => format!("{rule_pointer}/eventType"),
                        };
                        sink.0.push(Issue::new(at, format!("event type {event:?} is not in the webhook's eventTypes")));
                    }
                }
            }
            if rule.then.trim().is_empty() {
                sink.0.push(Issue::new(format!("{rule_pointer}/then"), "signal type must not be empty"));
            }
            if let Some(condition) = condition {
                type_rules.push(TypeRule { condition, event_types: restricted, signal_type: rule.then.clone() });
            }
        }
        let mut priority_rules = Vec::new();
        for (i, rule) in spec.priority_mapping.iter().enumerate() {
            if let Some(c) = sink.condition(rule.into(), &format!("{pointer}/priorityMapping/{i}")) {
                priority_rules.push((c, rule.then));
            }
        }
        let participants = sink.paths(spec.participants_path.as_ref(), &format!("{pointer}/participantsPath"));
        let tags = sink.paths(spec.tags_path.as_ref(), &format!("{pointer}/tagsPath"));
        let related_items = sink.paths(spec.related_items_path.as_ref(), &format!("{pointer}/relatedItemsPath"));
        let related_patterns = related::compile(spec, pointer, &scope, &mut sink);
        let id_template = spec.id_template.as_ref().and_then(|t| {
            compile_template(t, &format!("{pointer}/idTemplate"), TemplateKind::Item, &scope, sink.0)
                .map(|parts| (t.clone(), parts))
        });
        let url = sink.paths(spec.url_path.as_ref(), &format!("{pointer}/urlPath"));
        let url_template = spec
            .url_template
            .as_ref()
            .and_then(|t| compile_template(t, &format!("{pointer}/urlTemplate"), TemplateKind::Url, &scope, sink.0));
        let mut raw_fields = Vec::new();
        for (i, field) in spec.raw_fields.iter().enumerate() {
            match CompiledPath::parse_field(field) {
                Ok(p) => raw_fields.push((field.clone(), p)),
                Err(e) => sink.0.push(Issue::new(format!("{pointer}/rawFields/{i}"), e)),
            }
        }
        let by_event =
            if issues.is_empty() { compile_overrides(spec, pointer, scope, &mut issues) } else { BTreeMap::new() };
        match (items, id, timestamp, summary) {
            (Some(items), Some(id), Some(timestamp), Some(summary)) if issues.is_empty() => Ok(Self {
                items,
                id,
                timestamp,
                timestamp_falls_back_to_received: spec.timestamp_fallback == Some(TimestampFallback::Received),
                summary,
                type_rules,
                priority_rules,
                participants,
                tags,
                related_items,
                related_patterns,
                id_template,
                url,
                url_template,
                raw_fields,
                by_event,
                item_projection: Projection::Skip,
                payload_projection: Projection::Skip,
                item_stream: None,
            }
            .with_projections()),
            _ => Err(issues),
        }
    }

    /// The mapper with its projections computed from every path it reads.
    fn with_projections(mut self) -> Self {
        let mut parts = vec![Projection::of_whole(&self.id)];
        let mut add = |p: Projection| parts.push(p);
        self.timestamp.paths().iter().for_each(|p| add(Projection::of_whole(p)));
        let templates = [Some(&self.summary), self.id_template.as_ref().map(|(_, t)| t), self.url_template.as_ref()];
        for part in templates.into_iter().flatten().flatten() {
            if let SummaryPart::Field(expr) = part {
                expr.read_paths().for_each(|p| add(Projection::of_whole(p)));
            }
        }
        self.type_rules.iter().for_each(|rule| add(rule.condition.projection()));
        self.priority_rules.iter().for_each(|(condition, _)| add(condition.projection()));
        let lists = [&self.participants, &self.tags, &self.related_items, &self.url];
        lists.into_iter().flatten().for_each(|p| add(Projection::of_whole(p)));
        self.related_patterns.iter().flat_map(RelatedPattern::read_paths).for_each(|p| add(Projection::of_whole(p)));
        self.raw_fields.iter().for_each(|(_, p)| add(Projection::of_whole(p)));
        self.by_event.values().for_each(|m| add(m.item_projection.clone()));
        let item = Projection::union_all(parts);
        self.payload_projection = Projection::of_items(self.items.as_str(), &item);
        self.item_stream = ItemStream::for_path(self.items.as_str(), &item);
        self.item_projection = item;
        self
    }

    /// What of an item the mapping reads (its `byEventType` mappings included): an item parsed
    /// with it maps exactly as the whole item does.
    pub fn item_projection(&self) -> &Projection {
        &self.item_projection
    }

    /// What of a payload the mapping reads: `itemsPath`, and under it what of each item.
    pub fn payload_projection(&self) -> &Projection {
        &self.payload_projection
    }

    /// [`Self::map_payload`] from JSON text, building only the parts of the payload the mapping
    /// reads: the same report as parsing the whole payload first. When `itemsPath` is a chain
    /// of member names, each item is mapped as soon as it is parsed, and dropped.
    pub fn map_payload_json(&self, payload: &str, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let Some(stream) = &self.item_stream else {
            let payload = parse(&self.payload_projection, payload)?;
            return self.map_payload(&payload, ctx);
        };
        let mut sink = ReportSink { mapper: self, ctx, report: MapReport::default(), next_index: 0 };
        let found = stream.run(payload, &mut sink).map_err(|e| MapError::MalformedJson(e.to_string()))?;
        if found == Found::Nothing && !self.items.is_optional() {
            return Err(MapError::NoItems(self.items.as_str().to_owned()));
        }
        Ok(sink.report)
    }

    /// Extracts the items of a payload: each element of a single selected array, or each
    /// selected node.
    pub fn items<'v>(&self, payload: &'v Value) -> Result<Vec<&'v Value>, MapError> {
        self.items.extract(payload).map_err(|items::NoItems(path)| MapError::NoItems(path))
    }

    /// The compiled `itemsPath`.
    pub fn items_path(&self) -> &ItemsPath {
        &self.items
    }

    /// The compiled `idPath`.
    pub fn id_path(&self) -> &CompiledPath {
        &self.id
    }

    /// How the item timestamp is read (`timestampPath`, `timestampFormat`, `timestampPattern`).
    pub fn timestamp(&self) -> &TimestampReader {
        &self.timestamp
    }

    /// The item id, when the item has one (used for reporting and checkpoints).
    pub fn external_id(&self, item: &Value) -> Option<String> {
        self.id.first(item).and_then(scalar_text)
    }

    /// Maps every item of a payload.
    pub fn map_payload(&self, payload: &Value, ctx: &MapContext<'_>) -> Result<MapReport, MapError> {
        let mut report = MapReport::default();
        for (index, item) in self.items(payload)?.into_iter().enumerate() {
            self.map_into(&mut report, index, item, ctx);
        }
        Ok(report)
    }

    /// Maps the item at `index` into `report`: a signal, an ignored item or an item error.
    pub(crate) fn map_into(&self, report: &mut MapReport, index: usize, item: &Value, ctx: &MapContext<'_>) {
        match self.map_item(index, item, ctx) {
            Ok(Some(signal)) => report.signals.push(signal),
            Ok(None) => report.ignored.push(IgnoredItem {
                index,
                external_id: self.external_id(item),
                reason: "no signal type rule matched".to_owned(),
            }),
            Err(e) => report.errors.push(e),
        }
    }

    /// Maps one item: `Ok(None)` when no signal type rule matches.
    pub fn map_item(
        &self,
        index: usize,
        item: &Value,
        ctx: &MapContext<'_>,
    ) -> Result<Option<NormalisedSignal>, ItemError> {
        if let Some(event) = ctx.event_type
            && let Some(mapper) = self.by_event.get(event)
        {
            return mapper.map_item(index, item, ctx);
        }
        let error = |field: &str, path: &CompiledPath, message: String| ItemError {
            index,
            external_id: self.external_id(item),
            field: field.to_owned(),
            path: path.as_str().to_owned(),
            message,
        };
        let mut external_id = match self.id.first(item) {
            None => return Err(error("idPath", &self.id, "no value at this path".to_owned())),
            Some(v) => scalar_text(v)
                .ok_or_else(|| error("idPath", &self.id, "the id must be a string or a number".to_owned()))?,
        };
        if let Some((source, template)) = &self.id_template {
            external_id = render(template, item, None, true).ok_or_else(|| ItemError {
                index,
                external_id: Some(external_id.clone()),
                field: "idTemplate".to_owned(),
                path: source.clone(),
                message: "a placeholder of the template has no value".to_owned(),
            })?;
        }
        let mut memo = NodeMemo::default();
        let Some(signal_type) = self.signal_type(item, ctx.event_type, &mut memo) else {
            return Ok(None);
        };
        let time = self
            .timestamp
            .read(item)
            .or_else(|message| if self.timestamp_falls_back_to_received { Ok(ctx.received_at) } else { Err(message) });
        let time = time.map_err(|message| ItemError {
            index,
            external_id: Some(external_id.clone()),
            field: "timestampPath".to_owned(),
            path: self.timestamp.describe(),
            message,
        })?;
        let timestamp = rfc3339(time);
        let id = signal_id(ctx.connector_id, ctx.project_id, &external_id, &timestamp, signal_type);
        Ok(Some(NormalisedSignal {
            id,
            source: ctx.connector_id.to_owned(),
            project_id: ctx.project_id.to_owned(),
            external_id,
            signal_type: signal_type.to_owned(),
            timestamp,
            received_at: rfc3339(ctx.received_at),
            summary: self.summary(item),
            priority: self.priority_rules.iter().find(|(c, _)| c.matches_with(item, &mut memo)).map(|(_, p)| *p),
            participants: strings(&self.participants, item),
            tags: strings(&self.tags, item),
            related_items: self.related_items(item),
            url: self.url(item, ctx.config),
            ingestion: ctx.ingestion,
            event_type: ctx.event_type.map(str::to_owned),
            raw: self.raw(item),
        }))
    }

    fn signal_type<'p, 'v>(
        &'p self,
        item: &'v Value,
        event_type: Option<&str>,
        memo: &mut NodeMemo<'p, 'v>,
    ) -> Option<&'p str> {
        self.type_rules
            .iter()
            .find(|rule| {
                let event_ok = match (&rule.event_types, event_type) {
                    (None, _) => true,
                    (Some(allowed), Some(event)) => allowed.iter().any(|a| a == event),
                    (Some(_), None) => false,
                };
                event_ok && rule.condition.matches_with(item, memo)
            })
            .map(|rule| rule.signal_type.as_str())
    }

    /// `relatedItemsPath` values, then what each `relatedItemsPatterns` entry finds (see
    /// [`related`]), without repeats.
    fn related_items(&self, item: &Value) -> Vec<String> {
        let mut out = strings(&self.related_items, item);
        for pattern in &self.related_patterns {
            pattern.extend(item, &mut out);
        }
        out
    }

    fn summary(&self, item: &Value) -> String {
        render(&self.summary, item, None, false).unwrap_or_default()
    }

    /// The link back to the item: the first `urlPath` candidate with a text value, else
    /// `urlTemplate` when every placeholder in it (instance values included) has one.
    fn url(&self, item: &Value, config: Option<&BTreeMap<String, String>>) -> Option<String> {
        let from_path =
            self.url.iter().find_map(|p| p.first(item).and_then(scalar_text).filter(|url| !url.trim().is_empty()));
        from_path.or_else(|| self.url_template.as_ref().and_then(|t| render(t, item, config, true)))
    }

    /// The config keys the mapping's `urlTemplate`s read (`baseUrl` for `{{baseUrl}}`), those
    /// of its `byEventType` mappings included: what a producer puts in an envelope's config.
    pub fn config_keys(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self
            .url_template
            .iter()
            .flatten()
            .filter_map(|part| match part {
                SummaryPart::Config(key) => Some(key.clone()),
                _ => None,
            })
            .collect();
        for mapper in self.by_event.values() {
            keys.extend(mapper.config_keys());
        }
        keys
    }

    fn raw(&self, item: &Value) -> Map<String, Value> {
        let mut raw = Map::new();
        for (key, path) in &self.raw_fields {
            let mut nodes = path.query(item);
            let value = match nodes.len() {
                0 => continue,
                1 => nodes.remove(0).clone(),
                _ => Value::Array(nodes.into_iter().cloned().collect()),
            };
            raw.insert(key.clone(), value);
        }
        raw
    }
}

fn compile_timestamp(
    spec: &FieldMappingDescriptor,
    pointer: &str,
    sink: &mut IssueSink<'_>,
) -> Option<TimestampReader> {
    let at = format!("{pointer}/timestampPath");
    let paths = sink.paths(Some(&spec.timestamp_path), &at);
    let expected = spec.timestamp_path.paths().len();
    if expected == 0 {
        sink.0.push(Issue::new(at, "at least one timestamp path is required"));
        return None;
    }
    if let Some(pattern) = &spec.timestamp_pattern
        && let Err(e) = timestamp::check_pattern(pattern)
    {
        sink.0.push(Issue::new(format!("{pointer}/timestampPattern"), e));
        return None;
    }
    let format = spec.timestamp_format.unwrap_or(TimestampFormat::Auto);
    (paths.len() == expected).then(|| TimestampReader::new(paths, format, spec.timestamp_pattern.clone()))
}

/// Compiles each `byEventType` entry as the base mapping with its fields replaced; problems are
/// reported at the entry's pointer.
fn compile_overrides(
    spec: &FieldMappingDescriptor,
    pointer: &str,
    scope: MappingScope<'_>,
    issues: &mut Vec<Issue>,
) -> BTreeMap<String, FieldMapper> {
    let event_types = scope.event_types;
    let mut out = BTreeMap::new();
    for (event, overrides) in &spec.by_event_type {
        let at = format!("{pointer}/byEventType/{}", crate::model::escape_pointer(event));
        let known = event_types.is_some_and(|known| known.is_empty() || known.contains(event));
        if !known {
            issues.push(Issue::new(at, format!("event type {event:?} is not in the webhook's eventTypes")));
            continue;
        }
        match FieldMapper::compile(&spec.with_overrides(overrides), &at, scope) {
            Ok(mapper) => {
                out.insert(event.clone(), mapper);
            }
            Err(mut found) => issues.append(&mut found),
        }
    }
    out
}

/// Maps each streamed item into a report as it arrives.
struct ReportSink<'m, 'c> {
    mapper: &'m FieldMapper,
    ctx: &'m MapContext<'c>,
    report: MapReport,
    next_index: usize,
}

impl ItemSink for ReportSink<'_, '_> {
    fn item(&mut self, item: Value) {
        self.mapper.map_into(&mut self.report, self.next_index, &item, self.ctx);
        self.next_index += 1;
    }

    fn reset(&mut self) {
        self.report = MapReport::default();
        self.next_index = 0;
    }
}

/// Parses JSON text with a projection; the error says why the text is not JSON.
pub(crate) fn parse(projection: &Projection, text: &str) -> Result<Value, MapError> {
    projection.parse_str(text).map_err(|e| MapError::MalformedJson(e.to_string()))
}
