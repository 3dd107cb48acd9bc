//! Conditions of signal-type, priority and handshake rules: single tests and `all` / `any`
//! groups, compiled once (paths and regexes) and evaluated against an item.

use serde_json::Value;

use super::projection::Projection;
use crate::jsonpath::{CompiledPath, scalar_str};
use crate::model::Issue;
use crate::model::{Condition, Operator, PriorityRule, SignalTypeRule};
use crate::pattern::Pattern;

/// The fields every condition-shaped object shares, borrowed from a rule or a condition.
#[derive(Debug, Clone, Copy)]
pub struct ConditionParts<'a> {
    /// JSONPath tested.
    pub when: Option<&'a str>,
    /// Operator.
    pub operator: Option<Operator>,
    /// Comparison value.
    pub value: Option<&'a Value>,
    /// `all` group.
    pub all: Option<&'a [Condition]>,
    /// `any` group.
    pub any: Option<&'a [Condition]>,
}

impl<'a> From<&'a SignalTypeRule> for ConditionParts<'a> {
    fn from(r: &'a SignalTypeRule) -> Self {
        Self {
            when: r.when.as_deref(),
            operator: r.operator,
            value: r.value.as_ref(),
            all: r.all.as_deref(),
            any: r.any.as_deref(),
        }
    }
}

impl<'a> From<&'a PriorityRule> for ConditionParts<'a> {
    fn from(r: &'a PriorityRule) -> Self {
        Self {
            when: r.when.as_deref(),
            operator: r.operator,
            value: r.value.as_ref(),
            all: r.all.as_deref(),
            any: r.any.as_deref(),
        }
    }
}

impl<'a> From<&'a Condition> for ConditionParts<'a> {
    fn from(c: &'a Condition) -> Self {
        Self {
            when: c.when.as_deref(),
            operator: c.operator,
            value: c.value.as_ref(),
            all: c.all.as_deref(),
            any: c.any.as_deref(),
        }
    }
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum CompiledCondition {
    /// Always true (a rule with no condition is a catch-all).
    Always,
    /// A single test of the values at a path.
    Test {
        /// Where the tested values are.
        path: CompiledPath,
        /// What is tested.
        test: Test,
    },
    /// Every condition holds.
    All(Vec<CompiledCondition>),
    /// At least one condition holds.
    Any(Vec<CompiledCondition>),
}

/// What a single test checks.
#[derive(Debug, Clone)]
pub enum Test {
    /// Loose equality with a value.
    Equals(Value),
    /// Substring or array membership.
    Contains(Value),
    /// A non-null value is present.
    Exists,
    /// Regex match on the text of a value.
    Matches(Pattern),
    /// Loose equality with one of several values.
    In(Vec<Value>),
}

impl CompiledCondition {
    /// Compiles condition parts found at `pointer`, collecting every problem.
    pub fn compile(parts: ConditionParts<'_>, pointer: &str) -> Result<Self, Vec<Issue>> {
        let mut issues = Vec::new();
        let single = parts.when.is_some() || parts.operator.is_some() || parts.value.is_some();
        let forms = usize::from(single) + usize::from(parts.all.is_some()) + usize::from(parts.any.is_some());
        if forms > 1 {
            return Err(vec![Issue::new(
                pointer,
                "use exactly one of `when`/`operator`, `all` or `any` in one condition",
            )]);
        }
        let compiled = if let Some(group) = parts.all {
            Self::All(compile_group(group, &format!("{pointer}/all"), &mut issues))
        } else if let Some(group) = parts.any {
            Self::Any(compile_group(group, &format!("{pointer}/any"), &mut issues))
        } else if single {
            match compile_test(parts, pointer) {
                Ok(c) => c,
                Err(mut e) => {
                    issues.append(&mut e);
                    Self::Always
                }
            }
        } else {
            Self::Always
        };
        if issues.is_empty() { Ok(compiled) } else { Err(issues) }
    }

    /// What of an item the condition reads: an `exists` test only whether its nodes are null,
    /// every other test the nodes whole.
    pub fn projection(&self) -> Projection {
        match self {
            Self::Always => Projection::Skip,
            Self::All(cs) | Self::Any(cs) => Projection::union_all(cs.iter().map(Self::projection)),
            Self::Test { path, test } => {
                let end = if matches!(test, Test::Exists) { Projection::Presence } else { Projection::All };
                Projection::of_path(&path.jsonpath(), &end)
            }
        }
    }

    /// Evaluates the condition against an item.
    pub fn matches(&self, item: &Value) -> bool {
        self.matches_with(item, &mut NodeMemo::default())
    }

    /// [`Self::matches`], reusing (and filling) `memo`'s nodes of general-engine paths: the
    /// conditions of one item's rules share one memo.
    pub fn matches_with<'p, 'v>(&'p self, item: &'v Value, memo: &mut NodeMemo<'p, 'v>) -> bool {
        match self {
            Self::Always => true,
            Self::All(cs) => cs.iter().all(|c| c.matches_with(item, memo)),
            Self::Any(cs) => cs.iter().any(|c| c.matches_with(item, memo)),
            Self::Test { path, test } if path.is_general() => {
                memo.nodes(path, item).iter().any(|node| test.holds(node))
            }
            Self::Test { path, test } => path.any_node(item, |node| test.holds(node)),
        }
    }
}

/// The nodes that general-engine paths (filters, slices, `..`) selected in one item, so that
/// rules testing the same path (`$[?!$.pull_request]` in every rule of a descriptor) evaluate
/// it once per item. Paths are told apart by their text; a memo serves one item only.
#[derive(Debug, Default)]
pub struct NodeMemo<'p, 'v> {
    entries: Vec<(&'p str, Vec<&'v Value>)>,
}

impl<'p, 'v> NodeMemo<'p, 'v> {
    /// The nodes `path` selects in `item`, evaluated on first use.
    fn nodes(&mut self, path: &'p CompiledPath, item: &'v Value) -> &[&'v Value] {
        let at = match self.entries.iter().position(|(source, _)| *source == path.as_str()) {
            Some(at) => at,
            None => {
                self.entries.push((path.as_str(), path.query(item)));
                self.entries.len() - 1
            }
        };
        &self.entries[at].1
    }
}

fn compile_group(group: &[Condition], pointer: &str, issues: &mut Vec<Issue>) -> Vec<CompiledCondition> {
    if group.is_empty() {
        issues.push(Issue::new(pointer, "an empty condition group is not allowed"));
    }
    group
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match CompiledCondition::compile(c.into(), &format!("{pointer}/{i}")) {
            Ok(compiled) => Some(compiled),
            Err(mut e) => {
                issues.append(&mut e);
                None
            }
        })
        .collect()
}

fn compile_test(parts: ConditionParts<'_>, pointer: &str) -> Result<CompiledCondition, Vec<Issue>> {
    let mut issues = Vec::new();
    let path = match parts.when {
        None => {
            issues.push(Issue::new(format!("{pointer}/when"), "missing `when` (the JSONPath to test)"));
            None
        }
        Some(when) => match CompiledPath::parse(when) {
            Ok(p) => Some(p),
            Err(e) => {
                issues.push(Issue::new(format!("{pointer}/when"), e));
                None
            }
        },
    };
    let value_pointer = format!("{pointer}/value");
    let test = match (parts.operator, parts.value) {
        (None, _) => {
            issues.push(Issue::new(format!("{pointer}/operator"), "missing `operator`"));
            None
        }
        (Some(Operator::Exists), _) => Some(Test::Exists),
        (Some(op), None) => {
            issues.push(Issue::new(&value_pointer, format!("operator `{}` needs a `value`", operator_name(op))));
            None
        }
        (Some(Operator::Equals), Some(v)) => Some(Test::Equals(v.clone())),
        (Some(Operator::Contains), Some(v)) => Some(Test::Contains(v.clone())),
        (Some(Operator::Matches), Some(v)) => match v.as_str().map(Pattern::new) {
            Some(Ok(re)) => Some(Test::Matches(re)),
            Some(Err(e)) => {
                issues.push(Issue::new(&value_pointer, format!("invalid regular expression: {e}")));
                None
            }
            None => {
                issues.push(Issue::new(&value_pointer, "operator `matches` needs a string regular expression"));
                None
            }
        },
        (Some(Operator::In), Some(Value::Array(values))) => Some(Test::In(values.clone())),
        (Some(Operator::In), Some(_)) => {
            issues.push(Issue::new(&value_pointer, "operator `in` needs an array of values"));
            None
        }
    };
    match (path, test) {
        (Some(path), Some(test)) if issues.is_empty() => Ok(CompiledCondition::Test { path, test }),
        _ => Err(issues),
    }
}

fn operator_name(op: Operator) -> &'static str {
    match op {
        Operator::Equals => "equals",
        Operator::Contains => "contains",
        Operator::Exists => "exists",
        Operator::Matches => "matches",
        Operator::In => "in",
    }
}

impl Test {
    fn holds(&self, node: &Value) -> bool {
        match self {
            Self::Exists => !node.is_null(),
            Self::Equals(v) => loose_eq(node, v),
            Self::In(values) => values.iter().any(|v| loose_eq(node, v)),
            Self::Matches(re) => scalar_str(node).is_some_and(|t| re.is_match(&t)),
            Self::Contains(v) => match node {
                Value::String(s) => scalar_str(v).is_some_and(|needle| s.contains(&*needle)),
                Value::Array(items) => items.iter().any(|item| loose_eq(item, v)),
                _ => false,
            },
        }
    }
}

/// Strings compare by content; other scalars by their JSON text, so `"true"` equals `true` and
/// `"5"` equals `5`; arrays and objects compare structurally.
fn loose_eq(node: &Value, expected: &Value) -> bool {
    match (scalar_str(node), scalar_str(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => node == expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn condition(json: Value) -> Result<CompiledCondition, Vec<Issue>> {
        let c: Condition = serde_json::from_value(json).expect("shape");
        CompiledCondition::compile((&c).into(), "/c")
    }

    #[test]
    fn merged_pr_needs_both_conditions() {
        let c = condition(json!({"all": [
            {"when": "$.action", "operator": "equals", "value": "closed"},
            {"when": "$.pull_request.merged", "operator": "equals", "value": true}
        ]}))
        .expect("compiles");
        assert!(c.matches(&json!({"action": "closed", "pull_request": {"merged": true}})));
        assert!(!c.matches(&json!({"action": "closed", "pull_request": {"merged": false}})));
    }

    #[test]
    fn operators_behave_as_documented() {
        let item = json!({"title": "Crash in login", "labels": ["bug", "p1"], "n": 5, "x": null});
        let check = |j: Value| condition(j).expect("compiles").matches(&item);
        assert!(check(json!({"when": "$.title", "operator": "contains", "value": "login"})));
        assert!(check(json!({"when": "$.labels", "operator": "contains", "value": "p1"})));
        assert!(check(json!({"when": "$.n", "operator": "equals", "value": "5"})));
        assert!(check(json!({"when": "$.labels[*]", "operator": "in", "value": ["p0", "p1"]})));
        assert!(check(json!({"when": "$.title", "operator": "matches", "value": "^Crash"})));
        assert!(check(json!({"when": "$.title", "operator": "exists"})));
        assert!(!check(json!({"when": "$.x", "operator": "exists"})));
        assert!(!check(json!({"when": "$.missing", "operator": "equals", "value": ""})));
    }

    #[test]
    fn rules_sharing_a_memo_decide_as_each_rule_alone() {
        let rules: Vec<CompiledCondition> = [
            json!({"all": [{"when": "$[?!$.pull_request]", "operator": "exists"},
                           {"when": "$[?$.created_at == $.updated_at]", "operator": "exists"}]}),
            json!({"when": "$[?!$.pull_request]", "operator": "exists"}),
            json!({"when": "$.labels[?@.n > 1].name", "operator": "in", "value": ["p1", "bug"]}),
            json!({"when": "$.labels[?@.n > 1].name", "operator": "contains", "value": "p"}),
        ]
        .into_iter()
        .map(|j| condition(j).expect("compiles"))
        .collect();
        let items = [
            json!({"created_at": "a", "updated_at": "a", "labels": [{"name": "p1", "n": 2}]}),
            json!({"created_at": "a", "updated_at": "b", "pull_request": {}, "labels": [{"name": "bug", "n": 1}]}),
            json!({"pull_request": null, "labels": []}),
        ];
        for item in &items {
            let mut memo = NodeMemo::default();
            let shared: Vec<bool> = rules.iter().map(|r| r.matches_with(item, &mut memo)).collect();
            let alone: Vec<bool> = rules.iter().map(|r| r.matches(item)).collect();
            assert_eq!(shared, alone, "{item}");
        }
    }

    #[test]
    fn bad_conditions_report_every_problem_with_pointers() {
        let issues = condition(json!({"any": [
            {"when": "$[", "operator": "equals", "value": "a"},
            {"when": "$.a", "operator": "matches", "value": "("},
            {"when": "$.a", "operator": "in", "value": "x"}
        ]}))
        .expect_err("invalid");
        let pointers: Vec<_> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/c/any/0/when", "/c/any/1/value", "/c/any/2/value"]);
    }
}
