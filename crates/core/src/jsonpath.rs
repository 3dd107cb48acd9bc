//! Compiled RFC 9535 JSONPath expressions (via `serde_json_path`) and the shorthand field paths
//! used in templates.

use serde_json::Value;
use serde_json_path::JsonPath;

/// A JSONPath compiled once at descriptor validation time.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    source: String,
    path: JsonPath,
}

impl CompiledPath {
    /// Compiles an RFC 9535 JSONPath; the error is a human-readable reason.
    pub fn parse(source: &str) -> Result<Self, String> {
        JsonPath::parse(source)
            .map(|path| Self { source: source.to_owned(), path })
            .map_err(|e| format!("invalid JSONPath {source:?}: {e}"))
    }

    /// Compiles a template field reference: `$...` is a full JSONPath, anything else is a dotted
    /// field path relative to the item (`user.login`, `labels.0.name`, `x-custom.id`).
    pub fn parse_field(reference: &str) -> Result<Self, String> {
        if reference.starts_with('$') {
            return Self::parse(reference);
        }
        if reference.is_empty() {
            return Err("empty field reference".to_owned());
        }
        let mut path = String::from("$");
        for segment in reference.split('.') {
            if segment.is_empty() {
                return Err(format!("invalid field path {reference:?}: empty segment"));
            }
            if segment.bytes().all(|b| b.is_ascii_digit()) {
                path.push_str(&format!("[{segment}]"));
            } else {
                let escaped = segment.replace('\\', "\\\\").replace('\'', "\\'");
                path.push_str(&format!("['{escaped}']"));
            }
        }
        JsonPath::parse(&path)
            .map(|compiled| Self { source: reference.to_owned(), path: compiled })
            .map_err(|e| format!("invalid field path {reference:?}: {e}"))
    }

    /// The expression as written in the descriptor.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// All nodes the path selects, in document order.
    pub fn query<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        self.path.query(value).all()
    }

    /// The first selected node that is not `null`.
    pub fn first<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.query(value).into_iter().find(|v| !v.is_null())
    }
}

/// Renders a scalar as text: strings by content, numbers and booleans by their JSON text.
/// Returns `None` for `null`, arrays and objects.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Collects the strings under every node: scalars as text, arrays flattened one level deep
/// (an array of objects contributes nothing). Empty strings are skipped, duplicates removed.
pub fn collect_strings(nodes: &[&Value], out: &mut Vec<String>) {
    for node in nodes {
        match node {
            Value::Array(items) => {
                for item in items {
                    push_unique(item, out);
                }
            }
            other => push_unique(other, out),
        }
    }
}

fn push_unique(value: &Value, out: &mut Vec<String>) {
    if let Some(text) = scalar_text(value)
        && !text.is_empty()
        && !out.contains(&text)
    {
        out.push(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn field_paths_accept_hyphens_and_indices() {
        let doc = json!({"x-id": {"list": [{"name": "a"}, {"name": "b"}]}});
        let path = CompiledPath::parse_field("x-id.list.1.name").expect("valid");
        assert_eq!(path.first(&doc), Some(&json!("b")));
    }

    #[test]
    fn full_paths_pass_through() {
        let doc = json!({"labels": [{"name": "bug"}, {"name": "p1"}]});
        let path = CompiledPath::parse_field("$.labels[*].name").expect("valid");
        assert_eq!(path.query(&doc).len(), 2);
    }

    #[test]
    fn invalid_paths_name_the_expression() {
        let err = CompiledPath::parse("$[1:2:0").expect_err("invalid");
        assert!(err.contains("$[1:2:0"), "{err}");
    }

    #[test]
    fn strings_are_collected_flat_and_unique() {
        let doc = json!({"a": ["x", "y", {"z": 1}], "b": "x", "c": 3});
        let mut out = Vec::new();
        collect_strings(&[&doc["a"], &doc["b"], &doc["c"]], &mut out);
        assert_eq!(out, vec!["x", "y", "3"]);
    }
}

#[cfg(test)]
mod rfc9535_tests {
    //! Inputs that broke the previously considered engine (see docs/jsonpath.md).
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_step_slice_selects_nothing_instead_of_panicking() {
        let path = CompiledPath::parse("$[1:2:0]").expect("valid RFC 9535 slice");
        assert!(path.query(&json!([1, 2, 3])).is_empty());
    }

    #[test]
    fn non_singular_query_in_a_comparison_is_rejected() {
        assert!(CompiledPath::parse("$[?(@.a[*].b == 'x')]").is_err());
    }

    #[test]
    fn filters_and_functions_work() {
        let doc = json!({"labels": [{"name": "bug", "n": 2}, {"name": "p1", "n": 5}]});
        let path = CompiledPath::parse("$.labels[?@.n > 3 && match(@.name, 'p[0-9]')].name").expect("valid");
        assert_eq!(path.query(&doc), vec![&json!("p1")]);
    }
}
