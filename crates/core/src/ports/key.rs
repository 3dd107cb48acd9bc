//! [`InstanceKey`]: which instance a record belongs to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifies an instance: one connector in one project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceKey {
    /// The project.
    pub project_id: String,
    /// The connector id.
    pub connector_id: String,
}

impl InstanceKey {
    /// Builds a key.
    pub fn new(project_id: impl Into<String>, connector_id: impl Into<String>) -> Self {
        Self { project_id: project_id.into(), connector_id: connector_id.into() }
    }
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connector `{}` in project `{}`", self.connector_id, self.project_id)
    }
}
