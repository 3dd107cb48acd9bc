//! [`InstanceKey`]: which instance a record belongs to.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ConnectorId, IdError, ProjectId};

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

    /// The key of the instance named by two checked ids.
    pub fn from_ids(connector_id: &ConnectorId, project_id: &ProjectId) -> Self {
        Self::new(project_id.as_str(), connector_id.as_str())
    }

    /// The key's ids, checked against their rules (the key itself holds plain strings).
    pub fn ids(&self) -> Result<(ConnectorId, ProjectId), IdError> {
        Ok((ConnectorId::parse(&self.connector_id)?, ProjectId::parse(&self.project_id)?))
    }
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connector `{}` in project `{}`", self.connector_id, self.project_id)
    }
}
