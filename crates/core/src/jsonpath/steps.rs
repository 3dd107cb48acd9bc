//! Simple paths: chains of `.name`, `['name']`, `[n]` and `[*]` steps, walked without the
//! general engine.

use serde_json::Value;

/// One step of a simple path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Member(String),
    Index(usize),
    /// `[*]` / `.*`: every element or member value, in order.
    Wildcard,
}

/// Parses `$`, `.name`, `['name']`, `[n]` (n ≥ 0), `[*]` and `.*` steps; `None` for anything
/// else, which the general engine handles.
pub(super) fn simple_steps(source: &str) -> Option<Vec<Step>> {
    let mut rest = source.strip_prefix('$')?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(".*").or_else(|| rest.strip_prefix("[*]")) {
            steps.push(Step::Wildcard);
            rest = after;
        } else if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let name = &after[..end];
            let shorthand = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii());
            if !shorthand {
                return None;
            }
            steps.push(Step::Member(name.to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']")?;
            let name = &after[..end];
            if name.contains(['\\', '\'']) {
                return None;
            }
            steps.push(Step::Member(name.to_owned()));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index = &after[..end];
            if index.is_empty()
                || !index.bytes().all(|b| b.is_ascii_digit())
                || (index.len() > 1 && index.starts_with('0'))
            {
                return None;
            }
            steps.push(Step::Index(index.parse().ok()?));
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    Some(steps)
}

/// The one node a path without wildcards selects.
pub(super) fn walk<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(value, |node, step| match step {
        Step::Member(name) => node.as_object()?.get(name),
        Step::Index(i) => node.as_array()?.get(*i),
        Step::Wildcard => None,
    })
}

/// Every node a simple path selects, in document order.
pub(super) fn walk_all<'v>(value: &'v Value, steps: &[Step], out: &mut Vec<&'v Value>) {
    let Some((step, rest)) = steps.split_first() else {
        out.push(value);
        return;
    };
    match (step, value) {
        (Step::Wildcard, Value::Array(items)) => items.iter().for_each(|item| walk_all(item, rest, out)),
        (Step::Wildcard, Value::Object(map)) => map.values().for_each(|item| walk_all(item, rest, out)),
        (Step::Member(name), Value::Object(map)) => {
            if let Some(item) = map.get(name) {
                walk_all(item, rest, out);
            }
        }
        (Step::Index(i), Value::Array(items)) => {
            if let Some(item) = items.get(*i) {
                walk_all(item, rest, out);
            }
        }
        _ => {}
    }
}
