//! Partitions (parent-child streams) as authored: a polled stream that runs once per partition —
//! each repository of an organisation, each channel, each calendar — with one checkpoint per
//! partition. Partitions come from the instance's config (a list) or from a parent request.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::polling::{PaginationDescriptor, ResponseRule};

/// How a polled stream splits into partitions (extension).
///
/// ```json
/// "partitions": {
///   "sources": [
///     { "from": "config", "listKey": "repo", "field": "repo", "values": { "owner": "{{config.owner}}" } },
///     { "from": "request", "endpoint": "{{baseUrl}}/orgs/{{config.owner}}/repos",
///       "pagination": { "type": "link_header", "pageSize": 100, "pageSizeParam": "per_page" },
///       "itemsPath": "$[*]", "fields": { "owner": "$.owner.login", "repo": "$.name" },
///       "responseRules": [{ "status": [404], "action": "ignore" }] }
///   ],
///   "key": "{{partition.owner}}/{{partition.repo}}"
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PartitionsDescriptor {
    /// Where the partitions come from, tried in order: the first source that yields at least
    /// one partition is used (a config list that is not set yields none, as does a request a
    /// response rule ignores, e.g. a 404).
    pub sources: Vec<PartitionSource>,
    /// Template naming a partition from its values (`{{partition.<field>}}`): the key its
    /// checkpoint is stored under. Two partitions with the same key are one.
    pub key: String,
    /// Most partitions a run lists (default 1000); more is an error naming the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_partitions: Option<u32>,
}

/// One source of partitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum PartitionSource {
    /// A comma-separated list in an instance config value: one partition per element.
    Config(ConfigPartitions),
    /// The items of a parent request: one partition per item.
    Request(Box<RequestPartitions>),
}

/// Partitions from a comma-separated config value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigPartitions {
    /// The config key holding the list (elements are trimmed; empty ones are skipped).
    pub list_key: String,
    /// The partition field each element becomes (`{{partition.<field>}}`).
    pub field: String,
    /// More partition fields, the same for every element: templates of `{{config.<key>}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
}

/// Partitions from a parent request, listed in full at the start of every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPartitions {
    /// URL template: `{{baseUrl}}`, `{{config.<key>}}`, `{{credentials.<key>}}` and the page
    /// placeholders of its pagination.
    pub endpoint: String,
    /// Request header templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Pagination of the parent list (the same kinds and guards as the stream's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationDescriptor>,
    /// JSONPath to the parent items in a response.
    pub items_path: String,
    /// Partition fields: name → JSONPath relative to a parent item. An item without a value
    /// for every field is skipped.
    pub fields: BTreeMap<String, String>,
    /// Response rules for the parent request (e.g. ignore a 404 so the next source is tried).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_rules: Vec<ResponseRule>,
}
