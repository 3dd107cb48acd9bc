//! `itemsPath`: where a payload's items are, compiled once and shared by the mapper (which maps
//! them) and the polling plan (which extracts and forwards them).

use serde_json::Value;

use crate::jsonpath::CompiledPath;

/// A compiled `itemsPath`.
#[derive(Debug, Clone)]
pub struct ItemsPath {
    path: CompiledPath,
    /// For a path ending in `[*]` / `.*`: the container it iterates, so that an empty container
    /// (no items) can be told apart from a missing one (a malformed response).
    container: Option<CompiledPath>,
    /// Whether a payload the path matches nothing in has no items rather than being malformed.
    optional: bool,
}

/// `itemsPath` selected nothing: the payload is not what the descriptor expects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("itemsPath {0:?} matched nothing in the payload")]
pub struct NoItems(pub String);

impl ItemsPath {
    /// Compiles an `itemsPath`; the error is a human-readable reason.
    pub fn parse(source: &str) -> Result<Self, String> {
        let path = CompiledPath::parse(source)?;
        Ok(Self { path, container: container_of(source), optional: false })
    }

    /// The same path, reading a payload it matches nothing in as one without items when
    /// `optional` (`itemsOptional`).
    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// Whether a payload the path matches nothing in has no items (`itemsOptional`).
    pub fn is_optional(&self) -> bool {
        self.optional
    }

    /// The path as written in the descriptor.
    pub fn as_str(&self) -> &str {
        self.path.as_str()
    }

    /// The items of a payload: each element of a single selected array, or each selected node.
    pub fn extract<'v>(&self, payload: &'v Value) -> Result<Vec<&'v Value>, NoItems> {
        let nodes = self.path.query(payload);
        match nodes.as_slice() {
            [] if self.optional || self.container.as_ref().is_some_and(|c| c.first(payload).is_some()) => {
                Ok(Vec::new())
            }
            [] => Err(NoItems(self.path.as_str().to_owned())),
            [Value::Array(items)] => Ok(items.iter().collect()),
            _ => Ok(nodes),
        }
    }

    /// The payload's items where `keep` says, moved out of the payload when the path selects
    /// one array (the common case) instead of copied.
    pub fn take(&self, mut payload: Value, keep: &[bool]) -> Vec<Value> {
        let pointer = self.path.only_location(&payload).filter(|pointer| {
            payload.pointer(pointer).and_then(Value::as_array).is_some_and(|a| a.len() == keep.len())
        });
        if let Some(Value::Array(items)) = pointer.and_then(|p| payload.pointer_mut(&p).map(Value::take)) {
            return items.into_iter().zip(keep).filter_map(|(item, k)| k.then_some(item)).collect();
        }
        let found = self.extract(&payload).unwrap_or_default();
        found.into_iter().zip(keep).filter(|(_, k)| **k).map(|(item, _)| item.clone()).collect()
    }
}

/// The path of the container a wildcard `itemsPath` iterates (`$.items[*]` → `$.items`).
fn container_of(items_path: &str) -> Option<CompiledPath> {
    let trimmed = items_path.trim_end();
    let parent = trimmed.strip_suffix("[*]").or_else(|| trimmed.strip_suffix(".*"))?;
    CompiledPath::parse(parent).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_path_that_matches_nothing_is_an_error_unless_items_are_optional() {
        let path = "$.history[*].messagesAdded[*].message";
        let nothing_changed = json!({"historyId": "1234"});
        let strict = ItemsPath::parse(path).unwrap();
        assert_eq!(strict.extract(&nothing_changed), Err(NoItems(path.to_owned())));
        let optional = ItemsPath::parse(path).unwrap().optional(true);
        assert!(optional.extract(&nothing_changed).unwrap().is_empty());
        let changed = json!({"history": [{"messagesAdded": [{"message": {"id": "m1"}}]}]});
        assert_eq!(optional.extract(&changed).unwrap(), [&json!({"id": "m1"})]);
    }
}
