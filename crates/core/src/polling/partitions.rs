//! Compiled partitions (parent-child streams): where a run's partitions come from, how each is
//! named, and the fields templates read as `{{partition.<field>}}`. The poll engine lists the
//! partitions at the start of a run and runs the stream once per partition, each from its own
//! checkpoint.

use std::collections::BTreeSet;

use super::paging::PaginationPlan;
use super::plan::{DeltaPlan, ItemPlan, RequestPlan};
use super::rules::ResponseRulePlan;
use super::scope::{RequestScope, partition_variables};
use crate::jsonpath::CompiledPath;
use crate::mapping::items::ItemsPath;
use crate::mapping::{IssueSink, TimestampReader};
use crate::model::{
    ConfigPartitions, Issue, PartitionSource, PartitionsDescriptor, PollMethod, RequestPartitions, TimestampFormat,
    escape_pointer,
};
use crate::template::Template;

/// Partitions listed per run when the descriptor sets no `maxPartitions`.
pub const DEFAULT_MAX_PARTITIONS: usize = 1000;

/// The variables a partition source's request templates may use besides `config.*` and
/// `credentials.*`.
const SOURCE_VARIABLES: &[&str] = &["baseUrl", "pageToken", "pageSize", "offset", "pageNumber"];

/// How a stream splits into partitions.
#[derive(Debug, Clone)]
pub struct PartitionPlan {
    /// Sources, tried in order; the first that yields a partition is used.
    pub sources: Vec<PartitionSourcePlan>,
    /// Names a partition (its checkpoint key) from its fields.
    pub key: Template,
    /// Most partitions a run lists.
    pub max: usize,
}

/// A compiled partition source.
#[derive(Debug, Clone)]
pub enum PartitionSourcePlan {
    /// One partition per element of a comma-separated config value.
    Config {
        /// The config key holding the list.
        list_key: String,
        /// The field each element becomes.
        field: String,
        /// Further fields, templates of config values.
        values: Vec<(String, Template)>,
    },
    /// One partition per item of a parent request (listed in full, every run).
    Request {
        /// The parent request (its delta is [`DeltaPlan::Full`]).
        requests: Box<RequestPlan>,
        /// Where its items are.
        items: Box<ItemPlan>,
        /// Field name and JSONPath relative to a parent item.
        fields: Vec<(String, CompiledPath)>,
    },
}

impl PartitionSourcePlan {
    /// The partition fields this source gives.
    pub fn field_names(&self) -> BTreeSet<&str> {
        match self {
            Self::Config { field, values, .. } => {
                std::iter::once(field.as_str()).chain(values.iter().map(|(k, _)| k.as_str())).collect()
            }
            Self::Request { fields, .. } => fields.iter().map(|(k, _)| k.as_str()).collect(),
        }
    }
}

impl PartitionPlan {
    /// Checks and compiles `partitions` found at `at`; problems go to `issues`.
    pub fn compile(
        p: &PartitionsDescriptor,
        at: &str,
        scope: &RequestScope<'_>,
        issues: &mut Vec<Issue>,
    ) -> Option<Self> {
        let before = issues.len();
        if p.sources.is_empty() {
            issues.push(Issue::new(format!("{at}/sources"), "list at least one partition source"));
        }
        let variables = partition_variables(Some(p));
        let key_variables: Vec<&str> = variables.iter().map(String::as_str).collect();
        let key = scope.template(&p.key, &format!("{at}/key"), &key_variables, issues);
        if let Some(key) = &key
            && key.placeholders().next().is_none()
        {
            issues.push(Issue::new(
                format!("{at}/key"),
                "the key names no partition field: every partition would share one checkpoint (use {{partition.<field>}})",
            ));
        }
        if p.max_partitions == Some(0) {
            issues.push(Issue::new(format!("{at}/maxPartitions"), "must be greater than 0"));
        }
        let sources: Vec<_> = p
            .sources
            .iter()
            .enumerate()
            .filter_map(|(i, source)| {
                let at = format!("{at}/sources/{i}");
                match source {
                    PartitionSource::Config(c) => config_source(c, &at, scope, issues),
                    PartitionSource::Request(r) => request_source(r, &at, scope, issues),
                }
            })
            .collect();
        if issues.len() > before {
            return None;
        }
        Some(Self { sources, key: key?, max: p.max_partitions.map_or(DEFAULT_MAX_PARTITIONS, |m| m as usize) })
    }
}

fn config_source(
    c: &ConfigPartitions,
    at: &str,
    scope: &RequestScope<'_>,
    issues: &mut Vec<Issue>,
) -> Option<PartitionSourcePlan> {
    let before = issues.len();
    if !scope.has_config(&c.list_key) {
        issues.push(Issue::new(
            format!("{at}/listKey"),
            format!("config key {:?} is not declared in configFields", c.list_key),
        ));
    }
    field_name(&c.field, &format!("{at}/field"), issues);
    let mut values = Vec::new();
    for (name, text) in &c.values {
        let pointer = format!("{at}/values/{}", escape_pointer(name));
        field_name(name, &pointer, issues);
        if let Some(t) = scope.template(text, &pointer, &["baseUrl"], issues) {
            values.push((name.clone(), t));
        }
    }
    (issues.len() == before).then(|| PartitionSourcePlan::Config {
        list_key: c.list_key.clone(),
        field: c.field.clone(),
        values,
    })
}

fn request_source(
    r: &RequestPartitions,
    at: &str,
    scope: &RequestScope<'_>,
    issues: &mut Vec<Issue>,
) -> Option<PartitionSourcePlan> {
    let before = issues.len();
    let endpoint = scope.template(&r.endpoint, &format!("{at}/endpoint"), SOURCE_VARIABLES, issues);
    let mut headers = Vec::new();
    for (name, value) in &r.headers {
        let pointer = format!("{at}/headers/{}", escape_pointer(name));
        if let Some(t) = scope.template(value, &pointer, SOURCE_VARIABLES, issues) {
            headers.push((name.clone(), t));
        }
    }
    let templates: Vec<&Template> = endpoint.iter().chain(headers.iter().map(|(_, t)| t)).collect();
    let pagination = r
        .pagination
        .as_ref()
        .and_then(|pg| PaginationPlan::compile(pg, &format!("{at}/pagination"), &templates, issues));
    let uses = |name: &str| templates.iter().any(|t| t.placeholders().any(|p| p == name));
    let page_token_in_template = super::paging::PAGE_POSITION_VARIABLES.iter().any(|v| uses(v));
    let page_size_in_template = uses("pageSize");
    let items = ItemsPath::parse(&r.items_path).map_err(|e| issues.push(Issue::new(format!("{at}/itemsPath"), e))).ok();
    if r.fields.is_empty() {
        issues.push(Issue::new(format!("{at}/fields"), "name at least one partition field"));
    }
    let mut fields = Vec::new();
    for (name, path) in &r.fields {
        let pointer = format!("{at}/fields/{}", escape_pointer(name));
        field_name(name, &pointer, issues);
        if let Some(path) = IssueSink(issues).path(path, pointer) {
            fields.push((name.clone(), path));
        }
    }
    let responses =
        ResponseRulePlan::compile_all(&r.response_rules, &format!("{at}/responseRules"), scope.auth_method(), issues);
    if issues.len() > before {
        return None;
    }
    let requests = RequestPlan {
        method: PollMethod::Get,
        endpoint: endpoint?,
        headers,
        body: None,
        delta: DeltaPlan::Full,
        pagination,
        rate_limit_rpm: u32::MAX,
        checkpoint_in_template: false,
        page_token_in_template,
        page_size_in_template,
        responses,
        rate_budget: None,
        record_filter: None,
        backfill: None,
        hydrate: None,
    };
    let items = ItemPlan {
        items: items?,
        id: CompiledPath::parse("$").ok()?,
        timestamp: TimestampReader::new(Vec::new(), TimestampFormat::Auto, None),
    };
    Some(PartitionSourcePlan::Request { requests: Box::new(requests), items: Box::new(items), fields })
}

/// A partition field name: letters, digits and `_`, as a template placeholder can name it.
fn field_name(name: &str, pointer: &str, issues: &mut Vec<Issue>) {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        issues.push(Issue::new(
            pointer,
            format!(
                "partition field {name:?} must be letters, digits and `_` (it is read as {{{{partition.<field>}}}})"
            ),
        ));
    }
}
