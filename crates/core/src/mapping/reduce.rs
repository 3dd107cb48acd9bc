//! Reducing an item to what its field mapping reads, for a polled item too large for the queue:
//! members the mapping's result does not depend on are dropped, so the reduced item maps to
//! exactly the signal (or the ignore, or the error) the whole item maps to.
//!
//! Which parts a mapping reads cannot be told from its JSONPaths alone: a filter such as
//! `$[?!$.pull_request]` selects every member while reading only one. So each member is tried:
//! it is dropped (an array element becomes `null`, keeping its siblings' positions) when the
//! item still maps to the same result without it, and otherwise kept, with its own members tried
//! the same way. Largest first, and within a bounded number of trials.

use serde_json::Value;

use super::{FieldMapper, MapContext};

/// Mapping runs a reduction may make: enough for every member of a typical provider item, and
/// a bound on the work one oversized item can cost.
const MAX_TRIALS: usize = 4096;

/// How deep into nested members the reduction looks.
const MAX_DEPTH: usize = 32;

/// One step from a node to one of its members.
#[derive(Debug, Clone)]
enum Step {
    Member(String),
    Index(usize),
}

impl FieldMapper {
    /// `item` without the members its mapping does not read: mapping the result with `ctx`
    /// gives the same outcome as mapping `item`. Members that could not be tried within the
    /// trial budget are kept.
    pub fn reduce_item(&self, item: &Value, ctx: &MapContext<'_>) -> Value {
        let mut reduction =
            Reduction { mapper: self, ctx, baseline: self.map_item(0, item, ctx), trials: 0, root: item.clone() };
        reduction.prune(&mut Vec::new());
        reduction.root
    }
}

struct Reduction<'m, 'c> {
    mapper: &'m FieldMapper,
    ctx: &'c MapContext<'c>,
    baseline: Result<Option<crate::signal::NormalisedSignal>, super::ItemError>,
    trials: usize,
    root: Value,
}

impl Reduction<'_, '_> {
    /// Tries the members of the node at `at`, largest first.
    fn prune(&mut self, at: &mut Vec<Step>) {
        let mut members: Vec<(Step, usize)> = match node(&self.root, at) {
            Some(Value::Object(map)) => map.iter().map(|(k, v)| (Step::Member(k.clone()), encoded_len(v))).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_null())
                .map(|(i, v)| (Step::Index(i), encoded_len(v)))
                .collect(),
            _ => return,
        };
        members.sort_by_key(|member| std::cmp::Reverse(member.1));
        for (step, _) in members {
            if self.trials >= MAX_TRIALS {
                return;
            }
            self.trials += 1;
            let Some(taken) = self.take(at, &step) else { continue };
            if self.mapper.map_item(0, &self.root, self.ctx) == self.baseline {
                continue; // Not read: it stays out.
            }
            let nested = matches!(taken, Value::Object(_) | Value::Array(_));
            self.put_back(at, &step, taken);
            if nested && at.len() < MAX_DEPTH {
                at.push(step);
                self.prune(at);
                at.pop();
            }
        }
    }

    /// Removes a member (an array element becomes `null`) and returns it.
    fn take(&mut self, at: &[Step], step: &Step) -> Option<Value> {
        match (node_mut(&mut self.root, at)?, step) {
            (Value::Object(map), Step::Member(key)) => map.remove(key),
            (Value::Array(items), Step::Index(i)) => items.get_mut(*i).map(Value::take),
            _ => None,
        }
    }

    fn put_back(&mut self, at: &[Step], step: &Step, value: Value) {
        match (node_mut(&mut self.root, at), step) {
            (Some(Value::Object(map)), Step::Member(key)) => {
                map.insert(key.clone(), value);
            }
            (Some(Value::Array(items)), Step::Index(i)) => {
                if let Some(slot) = items.get_mut(*i) {
                    *slot = value;
                }
            }
            _ => {}
        }
    }
}

fn node<'v>(root: &'v Value, at: &[Step]) -> Option<&'v Value> {
    at.iter().try_fold(root, |node, step| match (node, step) {
        (Value::Object(map), Step::Member(key)) => map.get(key),
        (Value::Array(items), Step::Index(i)) => items.get(*i),
        _ => None,
    })
}

fn node_mut<'v>(root: &'v mut Value, at: &[Step]) -> Option<&'v mut Value> {
    at.iter().try_fold(root, |node, step| match (node, step) {
        (Value::Object(map), Step::Member(key)) => map.get_mut(key),
        (Value::Array(items), Step::Index(i)) => items.get_mut(*i),
        _ => None,
    })
}

/// The length of a value's JSON text.
fn encoded_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(0, |bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::Descriptor;
    use crate::signal::IngestionKind;

    fn repo_file(relative: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative)
    }

    fn github_issues() -> Descriptor {
        Descriptor::from_file(&repo_file("descriptors/github-issues.json")).unwrap()
    }

    /// An issue (#1348, not a pull request) of the GitHub page in the fixtures.
    fn published_issue() -> Value {
        let page: Value = serde_json::from_str(
            &std::fs::read_to_string(repo_file("tests/fixtures/github-issues/issues.page1.json")).unwrap(),
        )
        .unwrap();
        page[1].clone()
    }

    fn ctx() -> MapContext<'static> {
        MapContext {
            connector_id: "github-issues",
            project_id: "p1",
            ingestion: IngestionKind::Polling,
            event_type: None,
            received_at: Utc::now(),
            config: None,
        }
    }

    #[test]
    fn an_item_with_a_huge_unmapped_field_shrinks_and_maps_to_the_same_signal() {
        let descriptor = github_issues();
        let mapper = descriptor.mapper(IngestionKind::Polling).unwrap();
        let mut item = published_issue();
        item["body"] = json!("x".repeat(2 * 1024 * 1024));
        let ctx = ctx();

        let reduced = mapper.reduce_item(&item, &ctx);

        assert!(encoded_len(&reduced) < 16 * 1024, "{} bytes left", encoded_len(&reduced));
        assert!(reduced.get("body").is_none());
        let full = mapper.map_item(0, &item, &ctx).unwrap().unwrap();
        let small = mapper.map_item(0, &reduced, &ctx).unwrap().unwrap();
        assert_eq!(small, full);
        assert!(reduced.get("id").is_some() && reduced.get("updated_at").is_some());
    }

    #[test]
    fn what_a_filter_reads_is_kept_even_though_no_path_selects_it() {
        let descriptor = github_issues();
        let mapper = descriptor.mapper(IngestionKind::Polling).unwrap();
        // A pull request seen through the issues API: `$[?!$.pull_request]` makes it no signal.
        let mut item = published_issue();
        item["pull_request"] = json!({"url": "https://api.github.com/repos/octo/hello/pulls/1"});
        let ctx = ctx();
        assert_eq!(mapper.map_item(0, &item, &ctx).unwrap(), None);

        let reduced = mapper.reduce_item(&item, &ctx);

        assert!(reduced.get("pull_request").is_some(), "dropping it would turn the item into a signal");
        assert_eq!(mapper.map_item(0, &reduced, &ctx).unwrap(), None);
    }

    #[test]
    fn an_item_whose_mapped_field_is_huge_stays_huge() {
        let descriptor = github_issues();
        let mapper = descriptor.mapper(IngestionKind::Polling).unwrap();
        let mut item = published_issue();
        item["title"] = json!("t".repeat(2 * 1024 * 1024));
        let reduced = mapper.reduce_item(&item, &ctx());
        assert!(encoded_len(&reduced) > 2 * 1024 * 1024, "the summary reads the title");
    }
}
