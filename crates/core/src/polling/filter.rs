//! A compiled record filter: which items of a page are handed on.

use serde_json::Value;

use crate::mapping::condition::CompiledCondition;
use crate::mapping::projection::Projection;
use crate::model::{Condition, Issue, RecordFilter};

/// Items kept: those matching `include` (when given) and not matching `exclude` (when given).
#[derive(Debug, Clone)]
pub struct RecordFilterPlan {
    include: Option<CompiledCondition>,
    exclude: Option<CompiledCondition>,
}

impl RecordFilterPlan {
    /// Checks and compiles a `recordFilter` found at `at`.
    pub fn compile(filter: &RecordFilter, at: &str, issues: &mut Vec<Issue>) -> Option<Self> {
        if filter.include.is_none() && filter.exclude.is_none() {
            issues.push(Issue::new(at, "a record filter needs `include`, `exclude` or both"));
            return None;
        }
        let before = issues.len();
        let include = filter.include.as_ref().and_then(|c| condition(c, &format!("{at}/include"), issues));
        let exclude = filter.exclude.as_ref().and_then(|c| condition(c, &format!("{at}/exclude"), issues));
        (issues.len() == before).then_some(Self { include, exclude })
    }

    /// What of an item the filter reads.
    pub fn projection(&self) -> Projection {
        let read = |c: &Option<CompiledCondition>| c.as_ref().map_or(Projection::Skip, CompiledCondition::projection);
        read(&self.include).union(read(&self.exclude))
    }

    /// Whether `item` is handed on.
    pub fn keeps(&self, item: &Value) -> bool {
        self.include.as_ref().is_none_or(|c| c.matches(item)) && !self.exclude.as_ref().is_some_and(|c| c.matches(item))
    }
}

fn condition(condition: &Condition, pointer: &str, issues: &mut Vec<Issue>) -> Option<CompiledCondition> {
    match CompiledCondition::compile(condition.into(), pointer) {
        Ok(CompiledCondition::Always) => {
            issues
                .push(Issue::new(pointer, "the condition tests nothing: give `when` and `operator`, or `all` / `any`"));
            None
        }
        Ok(compiled) => Some(compiled),
        Err(mut e) => {
            issues.append(&mut e);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exclude_drops_and_include_keeps() {
        let filter: RecordFilter = serde_json::from_value(json!({
            "include": {"when": "$.state", "operator": "in", "value": ["open", "closed"]},
            "exclude": {"when": "$.pull_request", "operator": "exists"}
        }))
        .expect("shape");
        let plan = RecordFilterPlan::compile(&filter, "/f", &mut Vec::new()).expect("valid");
        assert!(plan.keeps(&json!({"state": "open"})));
        assert!(!plan.keeps(&json!({"state": "open", "pull_request": {"url": "x"}})));
        assert!(!plan.keeps(&json!({"state": "draft"})));
    }

    #[test]
    fn an_empty_filter_or_condition_is_reported() {
        let mut issues = Vec::new();
        let empty: RecordFilter = serde_json::from_value(json!({})).expect("shape");
        assert!(RecordFilterPlan::compile(&empty, "/f", &mut issues).is_none());
        let blank: RecordFilter = serde_json::from_value(json!({"exclude": {}})).expect("shape");
        assert!(RecordFilterPlan::compile(&blank, "/f", &mut issues).is_none());
        let pointers: Vec<&str> = issues.iter().map(|i| i.pointer.as_str()).collect();
        assert_eq!(pointers, ["/f", "/f/exclude"]);
    }
}
