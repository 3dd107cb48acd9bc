//! [`IssueSink`]: collects a descriptor's problems while its mapping compiles, so every problem
//! is reported at once.

use super::condition::{CompiledCondition, ConditionParts};
use crate::jsonpath::CompiledPath;
use crate::model::{Issue, OneOrMany};

/// Collects issues while compiling, so every problem of a descriptor is reported at once.
pub(crate) struct IssueSink<'a>(pub(crate) &'a mut Vec<Issue>);

impl IssueSink<'_> {
    pub(crate) fn path(&mut self, source: &str, pointer: String) -> Option<CompiledPath> {
        CompiledPath::parse(source).map_err(|e| self.0.push(Issue::new(pointer, e))).ok()
    }

    pub(crate) fn paths(&mut self, spec: Option<&OneOrMany>, pointer: &str) -> Vec<CompiledPath> {
        match spec {
            None => Vec::new(),
            Some(OneOrMany::One(p)) => self.path(p, pointer.to_owned()).into_iter().collect(),
            Some(OneOrMany::Many(ps)) => {
                ps.iter().enumerate().filter_map(|(i, p)| self.path(p, format!("{pointer}/{i}"))).collect()
            }
        }
    }

    pub(crate) fn condition(&mut self, parts: ConditionParts<'_>, pointer: &str) -> Option<CompiledCondition> {
        CompiledCondition::compile(parts, pointer).map_err(|mut e| self.0.append(&mut e)).ok()
    }
}
