//! A compiled `hydrate`: the detail request sent for each listed item, which values of the item
//! its templates read, where the detail is in the answer, what becomes the item, and how many
//! detail requests may be in flight at once. Data only; `switchboard-poll` sends the requests.

use std::collections::BTreeMap;

use serde_json::Value;

use super::rules::{ResponseRulePlan, RuleAction};
use super::scope::RequestScope;
use crate::jsonpath::CompiledPath;
use crate::model::{Hydration, Issue, escape_pointer};
use crate::template::{Segment, Template};

/// Detail requests in flight at once when `concurrency` is not given.
pub const DEFAULT_CONCURRENCY: u32 = 4;
/// Most detail requests a descriptor may put in flight at once.
pub const MAX_CONCURRENCY: u32 = 16;

/// The placeholder namespace of the listed item: `{{item}}` and `{{item.<field.path>}}`.
pub const ITEM: &str = "item";

/// The instance variables a detail request template may use besides `item`, `config.*` and
/// `credentials.*`.
const DETAIL_VARIABLES: &[&str] = &["baseUrl"];

/// A compiled `hydrate`.
#[derive(Debug, Clone)]
pub struct HydrationPlan {
    /// The detail URL template.
    pub endpoint: Template,
    /// Header name and value templates.
    pub headers: Vec<(String, Template)>,
    /// Where the detail is in the answer (`$` by default).
    pub detail: CompiledPath,
    /// When set, the listed item is kept and the detail goes under this key.
    pub merge_under: Option<String>,
    /// Detail requests in flight at once (1 to [`MAX_CONCURRENCY`]).
    pub concurrency: usize,
    /// Response rules for detail requests, when the section's own are not used.
    pub responses: Option<Vec<ResponseRulePlan>>,
    /// The item paths the templates read, by placeholder name (`item.id` → `$['id']`).
    fields: BTreeMap<String, CompiledPath>,
}

/// Why a listed item cannot fill a detail request template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemValueError {
    /// The item has no value there (or only `null`).
    #[error("the item has no value for {{{{{0}}}}}")]
    Missing(String),
    /// The value is an object or an array, which has no text form.
    #[error("the item's value for {{{{{0}}}}} is an {1}, not a string, number or boolean")]
    NotScalar(String, &'static str),
}

impl HydrationPlan {
    /// Checks and compiles the `hydrate` of a polling section found at `at` (the pointer of the
    /// `hydrate` object); problems go to `issues`.
    pub fn compile(hydration: &Hydration, at: &str, scope: &RequestScope<'_>, issues: &mut Vec<Issue>) -> Option<Self> {
        let before = issues.len();
        let mut fields = BTreeMap::new();
        let endpoint = detail_template(&hydration.endpoint, &format!("{at}/endpoint"), scope, &mut fields, issues);
        if let Some(endpoint) = &endpoint
            && !endpoint.placeholders().any(is_item_placeholder)
        {
            issues.push(Issue::new(
                format!("{at}/endpoint"),
                "the detail endpoint reads nothing of the listed item, so every item would fetch the same URL: \
                 use {{item.<field.path>}} (e.g. {{item.id}})",
            ));
        }
        let mut headers = Vec::new();
        for (name, value) in &hydration.headers {
            let pointer = format!("{at}/headers/{}", escape_pointer(name));
            if let Some(template) = detail_template(value, &pointer, scope, &mut fields, issues) {
                headers.push((name.clone(), template));
            }
        }
        let detail_source = hydration.detail_path.as_deref().unwrap_or("$");
        let detail = match CompiledPath::parse(detail_source) {
            Ok(path) => Some(path),
            Err(e) => {
                issues.push(Issue::new(format!("{at}/detailPath"), e));
                None
            }
        };
        if let Some(key) = &hydration.merge_under
            && key.trim().is_empty()
        {
            issues.push(Issue::new(
                format!("{at}/mergeUnder"),
                "must be a non-empty key (or left out: the detail then replaces the listed item)",
            ));
        }
        let concurrency = hydration.concurrency.unwrap_or(DEFAULT_CONCURRENCY);
        if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
            issues.push(Issue::new(
                format!("{at}/concurrency"),
                format!(
                    "{concurrency} is out of range: detail requests in flight at once must be 1 to {MAX_CONCURRENCY} \
                     (default {DEFAULT_CONCURRENCY})"
                ),
            ));
        }
        let responses = hydration.response_rules.as_ref().map(|rules| {
            let at = format!("{at}/responseRules");
            let compiled = ResponseRulePlan::compile_all(rules, &at, scope.auth_method(), issues);
            for rule in compiled.iter().filter(|r| r.action == RuleAction::ResetCheckpoint) {
                issues.push(Issue::new(
                    format!("{at}/{}/action", rule.index),
                    "a detail request cannot reset the checkpoint (only the list request can): use ignore, fail, \
                     retry or refresh_token_then_retry",
                ));
            }
            compiled
        });
        if issues.len() > before {
            return None;
        }
        Some(Self {
            endpoint: endpoint?,
            headers,
            detail: detail?,
            merge_under: hydration.merge_under.clone(),
            concurrency: usize::try_from(concurrency).unwrap_or(1),
            responses,
            fields,
        })
    }

    /// The text of placeholder `name` (`item` or `item.<path>`) for `item`.
    pub fn item_value(&self, name: &str, item: &Value) -> Result<String, ItemValueError> {
        let Some(path) = self.fields.get(name) else {
            return Err(ItemValueError::Missing(name.to_owned()));
        };
        match path.first(item) {
            None => Err(ItemValueError::Missing(name.to_owned())),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(Value::Array(_)) => Err(ItemValueError::NotScalar(name.to_owned(), "array")),
            Some(_) => Err(ItemValueError::NotScalar(name.to_owned(), "object")),
        }
    }

    /// Whether the endpoint is one item placeholder alone: the item's value is the whole URL.
    pub fn url_from_item(&self) -> Option<&str> {
        match self.endpoint.segments() {
            [Segment::Placeholder(name)] if is_item_placeholder(name) => Some(name),
            _ => None,
        }
    }
}

/// Whether a placeholder reads the listed item (`item`, `item.<path>`).
pub fn is_item_placeholder(name: &str) -> bool {
    name == ITEM || name.strip_prefix(ITEM).is_some_and(|rest| rest.starts_with('.'))
}

/// Parses a detail request template: item placeholders are compiled into `fields`; everything
/// else is checked as in any request template, where only `baseUrl` is a variable.
fn detail_template(
    text: &str,
    pointer: &str,
    scope: &RequestScope<'_>,
    fields: &mut BTreeMap<String, CompiledPath>,
    issues: &mut Vec<Issue>,
) -> Option<Template> {
    let parsed = match Template::parse(text) {
        Ok(t) => t,
        Err(e) => {
            issues.push(Issue::new(pointer, e));
            return None;
        }
    };
    // The names the shared check must not report: item placeholders (compiled here) and
    // unknown ones (reported here, with what a detail request may use).
    let mut accepted: Vec<&str> = DETAIL_VARIABLES.to_vec();
    for name in parsed.placeholders() {
        if is_item_placeholder(name) {
            let reference = name.strip_prefix(ITEM).and_then(|rest| rest.strip_prefix('.'));
            let compiled = match reference {
                None => CompiledPath::parse("$"),
                Some(path) if path.starts_with('$') => Err(format!(
                    "{{{{{name}}}}}: write the item path dotted ({{{{item.message.id}}}}), not as a JSONPath"
                )),
                Some(path) => CompiledPath::parse_field(path).map_err(|e| format!("{{{{{name}}}}}: {e}")),
            };
            match compiled {
                Ok(path) => {
                    fields.insert(name.to_owned(), path);
                }
                Err(message) => issues.push(Issue::new(pointer, message)),
            }
            accepted.push(name);
        } else if !(DETAIL_VARIABLES.contains(&name) || name.starts_with("config.") || name.starts_with("credentials."))
        {
            issues.push(Issue::new(
                pointer,
                format!(
                    "unknown variable {{{{{name}}}}} (a detail request may use item, item.<field.path>, baseUrl, \
                     config.<key>, credentials.<key>)"
                ),
            ));
            accepted.push(name);
        }
    }
    scope.template(text, pointer, &accepted, issues)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ConnectorDescriptor;
    use serde_json::json;

    fn scope_doc() -> ConnectorDescriptor {
        serde_json::from_value(json!({
            "id": "x", "name": "X", "description": "d", "category": "custom", "icon": "box", "kind": "generic",
            "auth": {"method": "none"},
            "configFields": [{"key": "baseUrl", "label": "Base URL", "type": "url", "required": true}],
            "ingestion": {"mode": "webhook", "eventTypes": [], "eventTypePath": "$.e", "verification": "none"},
            "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.t", "summaryTemplate": "s",
                "signalTypeRules": []},
            "version": "1.0.0"
        }))
        .expect("shape")
    }

    fn compile(hydration: Value) -> (Option<HydrationPlan>, Vec<Issue>) {
        let doc = scope_doc();
        let scope = RequestScope::of(&doc);
        let hydration: Hydration = serde_json::from_value(hydration).expect("shape");
        let mut issues = Vec::new();
        (HydrationPlan::compile(&hydration, "/h", &scope, &mut issues), issues)
    }

    #[test]
    fn item_values_are_read_by_dotted_path_and_as_the_whole_item() {
        let (plan, issues) =
            compile(json!({"endpoint": "{{baseUrl}}/m/{{item.message.id}}", "headers": {"X-Id": "{{item}}"}}));
        assert!(issues.is_empty(), "{issues:?}");
        let plan = plan.expect("valid");
        assert_eq!(plan.concurrency, DEFAULT_CONCURRENCY as usize);
        let item = json!({"message": {"id": "18f", "n": 3, "tags": ["a"]}});
        assert_eq!(plan.item_value("item.message.id", &item), Ok("18f".to_owned()));
        assert_eq!(plan.item_value("item", &json!(42)), Ok("42".to_owned()));
        assert_eq!(
            plan.item_value("item.message.id", &json!({"message": {}})),
            Err(ItemValueError::Missing("item.message.id".to_owned()))
        );
        assert!(plan.item_value("item", &item).is_err());
        assert_eq!(plan.url_from_item(), None);
        let (whole, _) = compile(json!({"endpoint": "{{item.url}}"}));
        assert_eq!(whole.expect("valid").url_from_item(), Some("item.url"));
    }

    #[test]
    fn mistakes_are_reported_at_their_pointers() {
        let (plan, issues) = compile(json!({
            "endpoint": "{{baseUrl}}/m/{{item.id}}?p={{pageToken}}",
            "headers": {"X-A": "{{item.$.id}}", "X-B": "{{config.missing}}"},
            "detailPath": "$[",
            "mergeUnder": " ",
            "concurrency": 17,
            "responseRules": [{"status": 404, "action": "ignore"}, {"status": 410, "action": "reset_checkpoint"}]
        }));
        assert!(plan.is_none());
        let found: Vec<(&str, &str)> = issues.iter().map(|i| (i.pointer.as_str(), i.message.as_str())).collect();
        let has = |pointer: &str, needle: &str| found.iter().any(|(p, m)| *p == pointer && m.contains(needle));
        assert!(has("/h/endpoint", "unknown variable {{pageToken}}"), "{found:?}");
        assert!(has("/h/headers/X-A", "dotted"), "{found:?}");
        assert!(has("/h/headers/X-B", "not declared in configFields"), "{found:?}");
        assert!(has("/h/detailPath", "invalid JSONPath"), "{found:?}");
        assert!(has("/h/mergeUnder", "non-empty"), "{found:?}");
        assert!(has("/h/concurrency", "1 to 16"), "{found:?}");
        assert!(has("/h/responseRules/1/action", "cannot reset the checkpoint"), "{found:?}");
        assert_eq!(found.len(), 7, "{found:?}");
    }

    #[test]
    fn a_detail_endpoint_that_reads_no_item_value_is_reported() {
        let (plan, issues) = compile(json!({"endpoint": "{{baseUrl}}/m/latest", "concurrency": 0}));
        assert!(plan.is_none());
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, ["/h/endpoint", "/h/concurrency"]);
        assert!(issues[0].message.contains("{{item.id}}"), "{issues:?}");
    }
}
