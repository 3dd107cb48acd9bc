//! The descriptor JSON Schema (generated from the model) and structural validation against it,
//! which reports every shape error of a document with its JSON pointer.

use std::sync::OnceLock;

use serde_json::Value;

use super::connector::{AUTH_METHODS, ConnectorDescriptor, INGESTION_MODES};
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
    VALIDATOR.get_or_init(|| jsonschema::validator_for(&descriptor_schema()).ok()).as_ref()
}

/// Checks a document's shape. Union discriminators (`auth.method`, `ingestion.mode`) are checked
/// first so an unknown value is reported as such instead of as a failed `oneOf`.
pub fn structural_issues(document: &Value) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut skip_prefixes = Vec::new();
    for (pointer, field, allowed) in [("/auth", "method", AUTH_METHODS), ("/ingestion", "mode", INGESTION_MODES)] {
        let Some(object) = document.pointer(pointer).and_then(Value::as_object) else { continue };
        let problem = match object.get(field) {
            None => Some(format!("missing required field `{field}` (one of {})", allowed.join(", "))),
            Some(Value::String(v)) if allowed.contains(&v.as_str()) => None,
            Some(v) => Some(format!("unknown {} {v} (expected one of {})", field, allowed.join(", "))),
        };
        if let Some(message) = problem {
            issues.push(Issue::new(format!("{pointer}/{field}"), message));
            skip_prefixes.push(pointer);
        }
    }
    let Some(validator) = validator() else {
        issues.push(Issue::new("", "internal error: the descriptor schema does not compile"));
        return issues;
    };
    for error in validator.iter_errors(document) {
        let pointer = error.instance_path().as_str().to_owned();
        let skipped = skip_prefixes.iter().any(|p| pointer == *p || pointer.starts_with(&format!("{p}/")));
        if skipped {
            continue;
        }
        // A union whose discriminator is valid failed inside the chosen variant: report what is
        // wrong inside it, at its own pointer, rather than "not valid under any of the schemas".
        let variant = [("/auth", "method"), ("/ingestion", "mode")]
            .iter()
            .find(|(at, _)| *at == pointer)
            .and_then(|(at, field)| variant_issues(document, at, field))
            .filter(|found| !found.is_empty());
        match variant {
            Some(mut found) => issues.append(&mut found),
            None => issues.push(Issue::new(pointer, shape_message(&error.to_string()))),
        }
    }
    if !issues.is_empty() {
        // The document will not be compiled, so check its JSONPaths and regexes here: an author
        // then sees every problem of the file in one run.
        expression_issues(document, "", &mut issues);
    }
    issues
}

fn shape_message(message: &str) -> String {
    match message.strip_suffix(" is a required property") {
        Some(field) => format!("missing required field {field}"),
        None => message.to_owned(),
    }
}

/// The shape problems of the object at `pointer` (`/ingestion`, `/auth`) checked against the
/// variant of its union that its `field` names; `None` when there is no such variant.
fn variant_issues(document: &Value, pointer: &str, field: &str) -> Option<Vec<Issue>> {
    let root = descriptor_schema();
    let instance = document.pointer(pointer)?;
    let tag = instance.get(field)?.as_str()?;
    let reference = root.pointer(&format!("/properties{pointer}/$ref"))?.as_str()?;
    let union = root.pointer(reference.strip_prefix('#')?)?;
    let variant =
        union.get("oneOf")?.as_array()?.iter().find(|variant| {
            variant.pointer(&format!("/properties/{field}/const")).and_then(Value::as_str) == Some(tag)
        })?;
    let mut schema = variant.clone();
    schema.as_object_mut()?.insert("$defs".to_owned(), root.get("$defs")?.clone());
    let validator = jsonschema::validator_for(&schema).ok()?;
    Some(
        validator
            .iter_errors(instance)
            .map(|e| Issue::new(format!("{pointer}{}", e.instance_path().as_str()), shape_message(&e.to_string())))
            .collect(),
    )
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
