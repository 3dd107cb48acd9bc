//! Hydration (extension): a detail request per listed item, for APIs whose list answers carry
//! only ids (Gmail's history list, then `messages.get` per message).
//!
//! Shape only: `crate::polling::hydration` compiles and checks it.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::polling::ResponseRule;

/// A GET request sent for every item a page lists (after the record filter), whose answer
/// becomes the item. Requests of one page run `concurrency` at a time, each paced by
/// `rateLimitRpm`, counted against the rate budget and sent through the egress guard; the items
/// keep their order, and the page's checkpoint is stored only once all of them are hydrated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hydration {
    /// URL template of the detail request. Variables: `{{item.<field.path>}}` (a value of the
    /// listed item, dotted path relative to it: `{{item.id}}`, `{{item.message.id}}`),
    /// `{{item}}` (the listed item itself, when it is a plain id), `{{baseUrl}}`,
    /// `{{config.<key>}}`, `{{credentials.<key>}}`. Item values are percent-encoded as one path
    /// segment (`/` too) or as a query value; a template that is only `{{item.<path>}}` takes
    /// the item's value as the whole URL (e.g. an API link the list hands out), which must be on
    /// the list endpoint's host or among `allowedHosts`.
    pub endpoint: String,
    /// Request header templates (the same variables; values inserted as is).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// JSONPath selecting the detail object in the answer (default `$`, the whole body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_path: Option<String>,
    /// Keep the listed item and put the detail under this key of it (default: the detail
    /// replaces the listed item). The listed items must then be JSON objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_under: Option<String>,
    /// Detail requests in flight at once, 1 to 16 (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Response rules for detail requests, tried in order (default: the polling section's
    /// `responseRules`). `ignore` drops the item (a 404 for a message deleted since it was
    /// listed) and the run goes on; `reset_checkpoint` is not allowed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_rules: Option<Vec<ResponseRule>>,
}
