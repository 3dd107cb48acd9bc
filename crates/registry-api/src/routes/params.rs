//! Path parameters and error responses that several routes document alike.

use serde::Deserialize;
use utoipa::{IntoParams, IntoResponses};

use crate::error::ErrorBody;

/// `/projects/{projectId}/connectors/{connectorId}...`: one connector instance.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct InstancePath {
    /// Project id
    pub project_id: String,
    /// Connector id
    pub connector_id: String,
}

/// The 404 of every route on one instance.
#[derive(Debug, IntoResponses)]
pub enum NoSuchInstance {
    /// No such instance, or one in a project the caller may not see.
    #[response(status = 404, description = "No such instance")]
    NotFound(ErrorBody),
}
