//! Mapping templates (`summaryTemplate`, `idTemplate`, `urlTemplate`, a related-item pattern's
//! `key`): compiled into parts once, rendered against each item.

use std::collections::BTreeMap;

use serde_json::Value;

use super::expr::Expr;
use crate::jsonpath::CompiledPath;
use crate::model::Issue;
use crate::template::{Segment, Template};

#[derive(Debug, Clone)]
/// One part of a compiled mapping template.
pub(crate) enum SummaryPart {
    /// Text as written.
    Literal(String),
    /// A placeholder: paths, filters and how several values are joined.
    Field(Expr),
    /// An instance config value (`{{baseUrl}}` is `config.baseUrl`), in `urlTemplate` only.
    Config(String),
}

/// What a mapping may refer to besides the item.
#[derive(Debug, Clone, Copy, Default)]
pub struct MappingScope<'a> {
    /// The webhook event types the connector handles (rules and `byEventType` may only name
    /// those); `None` when the connector receives no webhooks.
    pub event_types: Option<&'a [String]>,
    /// The descriptor's declared config keys (`urlTemplate` may use `{{config.<key>}}`).
    pub config_keys: &'a [&'a str],
}

/// Which template is compiled: only `urlTemplate` may read instance config values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TemplateKind {
    /// `summaryTemplate`, `idTemplate`: the item only.
    Item,
    /// `urlTemplate`: the item and `{{baseUrl}}` / `{{config.<key>}}`.
    Url,
}

/// Compiles a mapping template: every placeholder is a field expression (paths and filters),
/// except `{{baseUrl}}` / `{{config.<key>}}` in a `urlTemplate`, which name declared config
/// keys. Instance values elsewhere, credentials anywhere and undeclared keys are errors.
pub(crate) fn compile_template(
    template: &str,
    pointer: &str,
    kind: TemplateKind,
    scope: &MappingScope<'_>,
    issues: &mut Vec<Issue>,
) -> Option<Vec<SummaryPart>> {
    let parsed = match Template::parse(template) {
        Ok(t) => t,
        Err(e) => {
            issues.push(Issue::new(pointer, e));
            return None;
        }
    };
    let mut parts = Vec::new();
    let mut ok = true;
    for segment in parsed.segments() {
        match segment {
            Segment::Literal(text) => parts.push(SummaryPart::Literal(text.clone())),
            Segment::Placeholder(placeholder) => match instance_value(placeholder, kind, scope) {
                Some(Ok(key)) => parts.push(SummaryPart::Config(key)),
                Some(Err(message)) => {
                    ok = false;
                    issues.push(Issue::new(pointer, format!("{{{{{placeholder}}}}}: {message}")));
                }
                None => match Expr::parse(placeholder) {
                    Ok(expr) => parts.push(SummaryPart::Field(expr)),
                    Err(e) => {
                        ok = false;
                        issues.push(Issue::new(pointer, format!("{{{{{placeholder}}}}}: {e}")));
                    }
                },
            },
        }
    }
    ok.then_some(parts)
}

/// Whether a placeholder names an instance value (`baseUrl`, `config.*`, `credentials.*`,
/// possibly followed by filters or alternatives): `None` when it is a field expression, else
/// the config key it reads or why it may not.
fn instance_value(placeholder: &str, kind: TemplateKind, scope: &MappingScope<'_>) -> Option<Result<String, String>> {
    let head = placeholder.split(['|', '?']).next().unwrap_or_default().trim();
    let key = if head == "baseUrl" {
        "baseUrl"
    } else if let Some(key) = head.strip_prefix("config.") {
        key
    } else if head.starts_with("credentials.") {
        return Some(Err("credentials are never put in a signal".to_owned()));
    } else {
        return None;
    };
    Some(match kind {
        TemplateKind::Item => Err("instance values (`baseUrl`, `config.<key>`) are available in urlTemplate only; \
             here use a path into the item"
            .to_owned()),
        TemplateKind::Url if head != placeholder => {
            Err("an instance value takes no filters or alternatives (write it alone: {{config.<key>}})".to_owned())
        }
        TemplateKind::Url if !scope.config_keys.contains(&key) => Err(if key == "baseUrl" {
            "needs a config field \"baseUrl\" (declare it in configFields, with a default)".to_owned()
        } else {
            format!("refers to config key {key:?}, which is not declared in configFields")
        }),
        TemplateKind::Url => Ok(key.to_owned()),
    })
}

/// Renders template parts against an item; with `require_all`, a placeholder without a value
/// makes the whole result `None` (a half-built URL is worse than none).
pub(crate) fn render(
    parts: &[SummaryPart],
    item: &Value,
    config: Option<&BTreeMap<String, String>>,
    require_all: bool,
) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        match part {
            SummaryPart::Literal(text) => out.push_str(text),
            SummaryPart::Config(key) => match config.and_then(|c| c.get(key)).filter(|v| !v.is_empty()) {
                Some(value) => out.push_str(value),
                None if require_all => return None,
                None => {}
            },
            SummaryPart::Field(expr) => match expr.render(item) {
                Some(text) => out.push_str(&text),
                None if require_all => return None,
                None => {}
            },
        }
    }
    Some(out)
}

/// The text values at `paths` in `item`, in order.
pub(crate) fn strings(paths: &[CompiledPath], item: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for path in paths {
        path.collect_strings(item, &mut out);
    }
    out
}
