//! The descriptor JSON Schema (generated from the model by `switchboard schema`, committed as
//! `descriptors/descriptor.schema.json`) and structural validation against the committed file,
//! which reports every shape error of a document with its JSON pointer.

use std::sync::OnceLock;

use jsonschema::error::{ValidationError, ValidationErrorKind};
use serde_json::Value;

use super::connector::ConnectorDescriptor;
use super::issue::Issue;

/// The JSON Schema of a connector descriptor, as committed in `descriptors/descriptor.schema.json`.
pub fn descriptor_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(ConnectorDescriptor)).unwrap_or(Value::Null)
}

/// The schema rendered as it is committed: pretty JSON with a trailing newline.
pub fn descriptor_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&descriptor_schema()).unwrap_or_default();
    text.push('\n');
    text
}

fn validator() -> Option<&'static jsonschema::Validator> {
    static VALIDATOR: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    VALIDATOR.get_or_init(|| jsonschema::validator_for(schema()).ok()).as_ref()
}

/// The committed schema, which validation reads: compiled in as text, so a running function
/// does not carry the code that generates the schema from the model (`schemars`). The core test
/// `the_committed_json_schema_is_current` keeps the file equal to [`descriptor_schema_text`].
const COMMITTED_SCHEMA: &str = include_str!("../../../../descriptors/descriptor.schema.json");

fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(COMMITTED_SCHEMA).unwrap_or(Value::Null))
}

/// Checks a document's shape. A failed union (`oneOf` / `anyOf`: `auth.method`,
/// `ingestion.mode`, `pagination.type`, `delta.type`, verification keywords, every tagged or
/// keyword enum) is explained by its discriminator: an unknown value names the field and lists
/// the valid values, a missing one says which field is missing, and a known one reports only
/// what is wrong inside the chosen form (an incomplete `auth` names its missing field).
pub fn structural_issues(document: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    let Some(validator) = validator() else {
        issues.push(Issue::new("", "internal error: the descriptor schema does not compile"));
        return issues;
    };
    for error in validator.iter_errors(document) {
        explain(&error, document, &mut issues);
    }
    health_check_required(document, &mut issues);
    let mut seen = std::collections::HashSet::new();
    issues.retain(|issue| seen.insert((issue.pointer.clone(), issue.message.clone())));
    if !issues.is_empty() {
        // The document will not be compiled, so check its JSONPaths and regexes here: an author
        // then sees every problem of the file in one run.
        expression_issues(document, "", &mut issues);
    }
    issues
}

/// A connector that polls must declare a `healthCheck`; a webhook-only one may leave it out.
fn health_check_required(document: &Value, issues: &mut Vec<Issue>) {
    let polls =
        matches!(document.pointer("/ingestion/mode").and_then(Value::as_str), Some("polling" | "polling_and_webhook"));
    if polls && document.get("healthCheck").is_none_or(Value::is_null) {
        issues.push(Issue::new(
            "",
            "missing required field \"healthCheck\" (a connector that polls must declare one; only a \
             webhook-only connector may leave it out)",
        ));
    }
}

/// Turns one schema error into issues an author can act on.
fn explain(error: &ValidationError<'_>, document: &Value, issues: &mut Vec<Issue>) {
    let pointer = error.instance_path().as_str().to_owned();
    match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            explain_union(error, context, document, issues);
        }
        ValidationErrorKind::Required { property } => {
            issues.push(Issue::new(pointer, format!("missing required field {property}")));
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let allowed = resolve(error.schema_path().as_str().strip_suffix("/additionalProperties"))
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect::<Vec<_>>().join(", "));
            for field in unexpected {
                let message = match &allowed {
                    Some(allowed) => format!("unknown field {field:?} (allowed: {allowed})"),
                    None => format!("unknown field {field:?}"),
                };
                issues.push(Issue::new(pointer.clone(), message));
            }
        }
        ValidationErrorKind::Enum { options } => {
            let values = options.as_array().map(|o| o.iter().filter_map(Value::as_str).collect::<Vec<_>>());
            let found = document.pointer(&pointer).unwrap_or(&Value::Null);
            match values {
                Some(values) if !values.is_empty() => {
                    issues.push(Issue::new(&pointer, unknown_value(&pointer, found, &values, false)));
                }
                _ => issues.push(Issue::new(pointer, error.to_string())),
            }
        }
        _ => issues.push(Issue::new(pointer, error.to_string())),
    }
}

/// The schema node at `path` (a keyword location: `$ref`s already resolved).
fn resolve(path: Option<&str>) -> Option<&'static Value> {
    schema().pointer(path?)
}

/// Follows a `$ref` to its definition.
fn deref(node: &'static Value) -> &'static Value {
    match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(target) => schema().pointer(target).map_or(node, deref),
        None => node,
    }
}

/// The string constants a schema node admits (`const`, `enum`, or a union of those).
fn constants(node: &'static Value) -> Option<Vec<&'static str>> {
    let node = deref(node);
    if let Some(value) = node.get("const") {
        return value.as_str().map(|v| vec![v]);
    }
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        return values.iter().map(Value::as_str).collect();
    }
    let branches = node.get("oneOf").or_else(|| node.get("anyOf"))?.as_array()?;
    let mut out = Vec::new();
    for branch in branches {
        out.extend(constants(branch)?);
    }
    Some(out)
}

/// The JSON type a schema node is for, when it names one.
fn node_type(node: &'static Value) -> Option<&'static str> {
    let node = deref(node);
    if constants(node).is_some() {
        return Some("string");
    }
    match node.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        _ if node.get("properties").is_some() => Some("object"),
        _ => None,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn accepts(node_type: &str, found: &str) -> bool {
    node_type == found || (node_type == "number" && found == "integer")
}

/// The field a pointer ends in, for messages (`value` for an array element or the root).
fn field_name(pointer: &str) -> String {
    match pointer.rsplit('/').next() {
        Some(last) if !last.is_empty() && !last.bytes().all(|b| b.is_ascii_digit()) => {
            last.replace("~1", "/").replace("~0", "~")
        }
        _ => "value".to_owned(),
    }
}

fn unknown_value(pointer: &str, found: &Value, values: &[&str], or_object: bool) -> String {
    let expected = if or_object { format!("{}, or an object", values.join(", ")) } else { values.join(", ") };
    match found {
        Value::String(text) => format!("unknown {} {text:?} (expected one of {expected})", field_name(pointer)),
        other => format!("{} must be one of {expected}, found {}", field_name(pointer), article(json_type(other))),
    }
}

fn article(kind: &str) -> String {
    match kind {
        "integer" | "array" | "object" => format!("an {kind}"),
        "null" => "null".to_owned(),
        _ => format!("a {kind}"),
    }
}

/// Explains a failed `oneOf` / `anyOf` at `error`'s location by the form the value was meant
/// to take; `context` holds each branch's own errors, in branch order.
fn explain_union(
    error: &ValidationError<'_>,
    context: &[Vec<ValidationError<'static>>],
    document: &Value,
    issues: &mut Vec<Issue>,
) {
    let pointer = error.instance_path().as_str().to_owned();
    let found = document.pointer(&pointer).unwrap_or(&Value::Null);
    let kind = json_type(found);
    let Some(branches) = resolve(Some(error.schema_path().as_str())).and_then(Value::as_array) else {
        issues.push(Issue::new(pointer, error.to_string()));
        return;
    };
    let mut values = Vec::new();
    let mut object_branches = Vec::new();
    let mut compatible = Vec::new();
    let mut kinds = Vec::new();
    for (i, branch) in branches.iter().enumerate() {
        if let Some(consts) = constants(branch) {
            values.extend(consts);
            continue;
        }
        let branch_type = node_type(branch);
        if branch_type == Some("object") {
            object_branches.push(i);
        }
        if let Some(t) = branch_type.filter(|t| *t != "null" && !kinds.contains(t)) {
            kinds.push(t);
        }
        if branch_type.is_none_or(|t| accepts(t, kind)) {
            compatible.push(i);
        }
    }
    let recurse = |i: usize, issues: &mut Vec<Issue>| {
        for inner in context.get(i).into_iter().flatten() {
            explain(inner, document, issues);
        }
    };
    // A keyword (or a keyword-or-object union given a string).
    if !values.is_empty() && (kind != "object" || object_branches.is_empty()) && compatible.is_empty() {
        issues.push(Issue::new(&pointer, unknown_value(&pointer, found, &values, !object_branches.is_empty())));
        return;
    }
    if kind == "object"
        && object_branches.len() > 1
        && let Some((field, tags)) = discriminator(branches, &object_branches)
    {
        let names: Vec<&str> = tags.iter().map(|(_, tag)| *tag).collect();
        match found.get(field) {
            None => issues.push(Issue::new(
                &pointer,
                format!("missing required field \"{field}\" (one of {})", names.join(", ")),
            )),
            Some(tag) => match tags.iter().find(|(_, name)| Some(*name) == tag.as_str()) {
                Some((i, _)) => recurse(*i, issues),
                None => {
                    let at = format!("{pointer}/{}", super::issue::escape_pointer(field));
                    issues.push(Issue::new(&at, unknown_value(&at, tag, &names, false)));
                }
            },
        }
        return;
    }
    match compatible.as_slice() {
        [only] => recurse(*only, issues),
        [] => {
            let mut expected: Vec<String> = kinds.iter().map(|k| article(k)).collect();
            if !values.is_empty() {
                expected.insert(0, format!("one of {}", values.join(", ")));
            }
            issues.push(Issue::new(
                &pointer,
                format!("{} must be {}, found {}", field_name(&pointer), expected.join(" or "), article(kind)),
            ));
        }
        several => {
            // No discriminator: report the form that came closest.
            let best = several.iter().copied().min_by_key(|i| context.get(*i).map_or(usize::MAX, Vec::len));
            if let Some(best) = best {
                recurse(best, issues);
            }
        }
    }
}

/// The property every object branch fixes to a constant (`method`, `mode`, `type`), with each
/// branch's value.
fn discriminator(branches: &'static [Value], objects: &[usize]) -> Option<(&'static str, Vec<(usize, &'static str)>)> {
    let first = deref(&branches[objects[0]]).get("properties")?.as_object()?;
    first.keys().find_map(|field| {
        let tags: Option<Vec<(usize, &'static str)>> = objects
            .iter()
            .map(|&i| {
                let tag = deref(&branches[i]).get("properties")?.get(field)?.get("const")?.as_str()?;
                Some((i, tag))
            })
            .collect();
        tags.map(|tags| (field.as_str(), tags))
    })
}

/// Keys whose string values (or arrays of strings) are JSONPaths wherever they appear.
const PATH_KEYS: &[&str] = &[
    "itemsPath",
    "idPath",
    "timestampPath",
    "urlPath",
    "participantsPath",
    "tagsPath",
    "relatedItemsPath",
    "when",
    "eventTypePath",
    "nextPath",
    "totalPath",
    "totalPagesPath",
    "nextUrlPath",
    "hasMorePath",
    "isLastPath",
    "tokenPath",
    "cursorPath",
    "respondWithPath",
];

fn expression_issues(value: &Value, pointer: &str, issues: &mut Vec<Issue>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let at = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                if PATH_KEYS.contains(&key.as_str()) {
                    check_paths(child, &at, issues);
                } else if key == "value"
                    && map.get("operator").and_then(Value::as_str) == Some("matches")
                    && let Some(Err(e)) = child.as_str().map(regex::Regex::new)
                {
                    issues.push(Issue::new(at, format!("invalid regular expression: {e}")));
                } else {
                    expression_issues(child, &at, issues);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                expression_issues(child, &format!("{pointer}/{i}"), issues);
            }
        }
        _ => {}
    }
}

fn check_paths(value: &Value, pointer: &str, issues: &mut Vec<Issue>) {
    match value {
        Value::String(path) => {
            if let Err(e) = crate::jsonpath::CompiledPath::parse(path) {
                issues.push(Issue::new(pointer, e));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_paths(item, &format!("{pointer}/{i}"), issues);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::structural_issues;
    use crate::builtin::BUILT_IN;

    fn built_in(file: &str) -> Value {
        let text = BUILT_IN.iter().find(|(name, _)| *name == file).map(|(_, text)| *text).expect("built in");
        serde_json::from_str(text).expect("JSON")
    }

    /// The issues of `doc` after `edit`, as `pointer: message` lines.
    fn issues_after(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut doc = built_in(file);
        edit(&mut doc);
        structural_issues(&doc).iter().map(ToString::to_string).collect()
    }

    fn assert_one(found: &[String], expected: &str) {
        assert!(found.iter().any(|line| line == expected), "expected {expected:?} in {found:#?}");
        assert!(!found.iter().any(|line| line.contains("oneOf") || line.contains("anyOf")), "{found:#?}");
    }

    #[test]
    fn a_wrong_discriminator_names_the_field_and_lists_the_valid_values() {
        let found = issues_after("github-issues.json", |d| d["ingestion"]["pagination"]["type"] = json!("page"));
        assert_one(
            &found,
            "/ingestion/pagination/type: unknown type \"page\" (expected one of offset, cursor, link_header, page_number, next_url)",
        );
        let found = issues_after("github-issues.json", |d| d["ingestion"]["delta"]["type"] = json!("since"));
        assert_one(
            &found,
            "/ingestion/delta/type: unknown type \"since\" (expected one of timestamp_filter, delta_token, cursor, since_id)",
        );
        let found = issues_after("github-issues.json", |d| d["ingestion"]["mode"] = json!("push"));
        assert_one(
            &found,
            "/ingestion/mode: unknown mode \"push\" (expected one of polling, webhook, polling_and_webhook)",
        );
        let found = issues_after("github-issues.json", |d| d["auth"]["method"] = json!("magic_link"));
        assert!(found[0].starts_with("/auth/method: unknown method \"magic_link\" (expected one of oauth2, api_key"));
        assert!(found[0].contains("jwt_assertion, session_token)"), "{found:?}");
    }

    #[test]
    fn a_keyword_or_object_union_lists_the_keywords_and_the_object_form() {
        let found = issues_after("slack.json", |d| d["ingestion"]["verification"] = json!("hmac"));
        assert_one(
            &found,
            "/ingestion/verification: unknown verification \"hmac\" (expected one of signature, token, none, or an object)",
        );
        let found = issues_after("github-issues.json", |d| d["ingestion"]["method"] = json!(7));
        assert_one(&found, "/ingestion/method: method must be one of GET, POST, found an integer");
    }

    #[test]
    fn a_missing_discriminator_or_field_is_named() {
        let found = issues_after("github-issues.json", |d| {
            d["auth"].as_object_mut().expect("object").remove("method");
        });
        assert!(found[0].starts_with("/auth: missing required field \"method\" (one of oauth2, api_key"), "{found:?}");
        let found = issues_after("github-issues.json", |d| {
            d["auth"]["config"].as_object_mut().expect("object").remove("paramName");
        });
        assert_eq!(found, ["/auth/config: missing required field \"paramName\""]);
    }

    #[test]
    fn an_unknown_field_lists_the_allowed_ones() {
        let found = issues_after("github-issues.json", |d| d["auth"]["config"]["paramname"] = json!("x"));
        assert_eq!(
            found,
            [
                "/auth/config: unknown field \"paramname\" (allowed: credentialFields, credentialKey, delivery, paramName)"
            ]
        );
    }

    #[test]
    fn the_health_check_is_optional_only_for_webhook_only_connectors() {
        let found = issues_after("github-issues.json", |d| {
            d.as_object_mut().expect("object").remove("healthCheck");
        });
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("/: missing required field \"healthCheck\" (a connector that polls"), "{found:?}");
        let webhook_only = BUILT_IN
            .iter()
            .map(|(file, _)| built_in(file))
            .find(|d| d["ingestion"]["mode"] == "webhook")
            .expect("a webhook-only built-in");
        let mut doc = webhook_only;
        doc.as_object_mut().expect("object").remove("healthCheck");
        assert_eq!(structural_issues(&doc), []);
    }
}
