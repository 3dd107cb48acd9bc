//! Compiled RFC 9535 JSONPath expressions (via `serde_json_path`) and the shorthand field paths
//! used in templates.

use std::borrow::Cow;

use serde_json::Value;
use serde_json_path::JsonPath;

mod root_filter;
mod steps;

use root_filter::RootFilter;
use steps::{Step, simple_steps, walk, walk_all};

/// A JSONPath compiled once at descriptor validation time.
///
/// Most descriptor paths are plain member/index/wildcard chains (`$.pull_request.user.login`,
/// `$.labels[*].name`); those are also kept as a list of steps and walked directly, which
/// avoids the general engine's allocations on the mapping hot path. Both give the same result
/// (checked by a test).
#[derive(Debug, Clone)]
pub struct CompiledPath {
    source: String,
    path: JsonPath,
    steps: Option<Box<[Step]>>,
    /// A `$[?…]` filter that reads only the root, evaluated once instead of once per member.
    root_filter: Option<Box<RootFilter>>,
    /// Whether `steps` select at most one node (no wildcard).
    singular: bool,
}

impl CompiledPath {
    fn new(source: String, query: &str, path: JsonPath) -> Self {
        let steps = simple_steps(query).map(Vec::into_boxed_slice);
        let singular = steps.as_ref().is_some_and(|steps| !steps.contains(&Step::Wildcard));
        let root_filter = if steps.is_none() { RootFilter::parse(query).map(Box::new) } else { None };
        Self { source, path, steps, root_filter, singular }
    }

    /// Compiles an RFC 9535 JSONPath; the error is a human-readable reason.
    pub fn parse(source: &str) -> Result<Self, String> {
        JsonPath::parse(source)
            .map(|path| Self::new(source.to_owned(), source, path))
            .map_err(|e| format!("invalid JSONPath {source:?}: {e}"))
    }

    /// Compiles a template field reference: `$...` is a full JSONPath, anything else is a dotted
    /// field path relative to the item (`user.login`, `labels.0.name`, `x-custom.id`).
    pub fn parse_field(reference: &str) -> Result<Self, String> {
        if reference.starts_with('$') {
            return Self::parse(reference);
        }
        let path = field_query(reference)?;
        JsonPath::parse(&path)
            .map(|compiled| Self::new(reference.to_owned(), &path, compiled))
            .map_err(|e| format!("invalid field path {reference:?}: {e}"))
    }

    /// The expression as written in the descriptor.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The path as an RFC 9535 JSONPath (a field reference's `$['a']['b']` form).
    pub fn jsonpath(&self) -> Cow<'_, str> {
        if self.source.starts_with('$') {
            return Cow::Borrowed(&self.source);
        }
        // A compiled field reference always converts again.
        field_query(&self.source).map_or(Cow::Borrowed(&self.source), Cow::Owned)
    }

    /// All nodes the path selects, in document order.
    pub fn query<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        match &self.steps {
            Some(steps) if self.singular => walk(value, steps).into_iter().collect(),
            Some(steps) => {
                let mut out = Vec::new();
                walk_all(value, steps, &mut out);
                out
            }
            None => match &self.root_filter {
                Some(filter) => filter.select(value),
                None => self.path.query(value).all(),
            },
        }
    }

    /// Whether some selected node satisfies `test`; a path without wildcards is walked without
    /// collecting its nodes.
    pub fn any_node(&self, value: &Value, test: impl FnMut(&Value) -> bool) -> bool {
        match &self.steps {
            Some(steps) if self.singular => walk(value, steps).is_some_and(test),
            _ => self.query(value).into_iter().any(test),
        }
    }

    /// Adds the strings under the selected nodes to `out`, as [`collect_strings`] does; a path
    /// without wildcards is walked without collecting its nodes.
    pub fn collect_strings(&self, value: &Value, out: &mut Vec<String>) {
        match &self.steps {
            Some(steps) if self.singular => {
                if let Some(node) = walk(value, steps) {
                    collect_strings(&[node], out);
                }
            }
            _ => collect_strings(&self.query(value), out),
        }
    }

    /// Whether the general engine evaluates this path (a filter, a slice, a descendant
    /// segment...): the paths worth evaluating only once per item.
    pub fn is_general(&self) -> bool {
        self.steps.is_none()
    }

    /// The first selected node that is not `null`.
    pub fn first<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        match &self.steps {
            Some(steps) if self.singular => walk(value, steps).filter(|v| !v.is_null()),
            _ => self.query(value).into_iter().find(|v| !v.is_null()),
        }
    }

    /// The JSON pointer of the one node the path selects, or `None` when it selects none or
    /// several.
    pub fn only_location(&self, value: &Value) -> Option<String> {
        let node = self.path.query_located(value).exactly_one().ok()?;
        Some(node.location().to_json_pointer())
    }
}

/// The JSONPath a dotted field reference (`user.login`, `labels.0.name`) stands for.
fn field_query(reference: &str) -> Result<String, String> {
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
    Ok(path)
}

/// Renders a scalar as text: strings by content, numbers and booleans by their JSON text.
/// Returns `None` for `null`, arrays and objects.
pub fn scalar_text(value: &Value) -> Option<String> {
    scalar_str(value).map(Cow::into_owned)
}

/// [`scalar_text`] borrowing a string's content instead of copying it.
pub fn scalar_str(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
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
    if let Some(text) = scalar_str(value)
        && !text.is_empty()
        && !out.iter().any(|seen| *seen == *text)
    {
        out.push(text.into_owned());
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
    fn the_fast_path_agrees_with_the_general_engine() {
        let doc = json!({"a": {"b-c": [10, {"d": null, "e": "x"}], "_f": 1, "é": 2}, "0": "zero"});
        let paths = [
            "$",
            "$.a",
            "$.a['b-c']",
            "$.a['b-c'][1].e",
            "$.a['b-c'][1].d",
            "$.a['b-c'][5]",
            "$.a._f",
            "$.a.é",
            "$['0']",
            "$.missing.deeper",
            "$.a['b-c'][0].e",
            "$[0]",
            "$.a['b-c'][*]",
            "$.a.*",
            "$.*['b-c'][*].e",
            "$[*]",
            "$.a['b-c'][*].d",
        ];
        for source in paths {
            let fast = CompiledPath::parse(source).expect("valid");
            assert!(fast.steps.is_some(), "{source} should take the fast path");
            let general = JsonPath::parse(source).expect("valid").query(&doc).all();
            assert_eq!(fast.first(&doc), general.iter().copied().find(|v| !v.is_null()), "{source}");
            assert_eq!(fast.query(&doc), general, "{source}");
            assert_eq!(fast.any_node(&doc, Value::is_string), general.iter().any(|v| v.is_string()), "{source}");
            let (mut walked, mut collected) = (Vec::new(), Vec::new());
            fast.collect_strings(&doc, &mut walked);
            collect_strings(&general, &mut collected);
            assert_eq!(walked, collected, "{source}");
        }
        for source in ["$.a[-1]", "$.a[?@.e]", "$..e", "$.a['x\\'y']", "$[01]", "$.1a", "$.a[*, 0]"] {
            assert!(simple_steps(source).is_none(), "{source} must use the general engine");
        }
    }

    #[test]
    fn root_filters_agree_with_the_general_engine() {
        let docs = [
            json!({"id": 1, "pull_request": {"url": "u"}, "created_at": "2024-01-01", "updated_at": "2024-01-01"}),
            json!({"id": 2, "created_at": "2024-01-01", "updated_at": "2024-02-01", "closed_at": null, "n": 2.0}),
            json!({"id": 3, "pull_request": null, "comments": 0, "n": 2, "tags": ["a", "b"], "o": {"k": [1]}}),
            json!({"a": {"b": 5}, "t": true, "f": false, "s": "x y", "list": [1, 2], "same": [1, 2]}),
            json!({}),
            json!([1, "two", null]),
            json!("scalar"),
            json!(null),
        ];
        let filters = [
            "$[?!$.pull_request]",
            "$[?$.pull_request]",
            "$[?$.created_at == $.updated_at]",
            "$[?$.closed_at == $.updated_at]",
            "$[?$.missing == $.also_missing]",
            "$[?$.missing != $.id]",
            "$[?$.closed_at == null]",
            "$[?$.n == 2]",
            "$[?$.n >= 2 && $.n < 3]",
            "$[?$.n > 2 || $.id <= 1]",
            "$[?$.created_at < $.updated_at]",
            "$[?$.s == 'x y']",
            "$[?$.s == \"x y\"]",
            "$[?$.t == true && !($.f == true)]",
            "$[?$.a.b == 5]",
            "$[?$['a']['b'] > 4.5]",
            "$[?$.list == $.same]",
            "$[?$.o == $.o]",
            "$[?$[0] == 1]",
            "$[?$.list < $.same]",
            "$[?$.s < 'y']",
            "$[?(!$.pull_request || $.comments == 0) && $.id]",
            "$[?$.id == -1e0 || $.id == 1.0]",
        ];
        let compiled: Vec<(&str, CompiledPath, JsonPath)> = filters
            .iter()
            .map(|source| {
                (*source, CompiledPath::parse(source).expect("valid"), JsonPath::parse(source).expect("valid"))
            })
            .collect();
        for (source, ours, engine) in &compiled {
            assert!(ours.root_filter.is_some(), "{source} should be evaluated once");
            for doc in &docs {
                assert_eq!(ours.query(doc), engine.query(doc).all(), "{source} on {doc}");
            }
        }
        for source in
            ["$[?@.id]", "$.a[?$.b]", "$[?length($.s) > 1]", "$[?$.s == 'a\\'b']", "$[?$.tags[*]]", "$[?$..id]"]
        {
            let compiled = CompiledPath::parse(source).expect("valid");
            assert!(compiled.root_filter.is_none(), "{source} must use the general engine");
        }
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
