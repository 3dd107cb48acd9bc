//! Recent signals of a project: `GET /projects/{projectId}/signals`, newest first, paged with an
//! opaque `nextToken`. The filter rules are
//! [`service::signals`]'.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::NormalisedSignal;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::params::{AuthenticatedErrors, ProjectPath, since_schema};
use crate::service;
use crate::service::signals::SignalFilter;
use crate::state::RegistryState;

/// Filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct SignalsParams {
    /// Only signals whose `timestamp` is at or after this RFC 3339 instant (empty: no filter).
    #[param(schema_with = since_schema, example = "2025-01-31T12:00:00Z")]
    pub since: Option<String>,
    /// Only signals of this `signalType`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub signal_type: Option<String>,
    /// Only signals whose `relatedItems` contain this reference.
    pub related: Option<String>,
    /// Only signals of this connector (their `source`), e.g. `github-prs`.
    pub source: Option<String>,
    /// Only signals of this priority: `critical`, `high`, `medium` or `low`.
    #[param(example = "high")]
    pub priority: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `nextToken` of the previous page.
    pub next_token: Option<String>,
}

/// One page of signals.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalsPage {
    /// `NormalisedSignal`s (DESIGN.md §4), newest `timestamp` first.
    #[schema(value_type = Vec<Object>)]
    pub signals: Vec<NormalisedSignal>,
    /// Pass as `nextToken` for the next page; `null` on the last page.
    pub next_token: Option<String>,
}

/// Lists a project's recent signals.
#[utoipa::path(get, path = "/projects/{projectId}/signals", tag = "signals",
    params(ProjectPath, SignalsParams),
    responses(
        (status = 200, description = "A page of signals", body = SignalsPage),
        (status = 400, description = "Bad `since`, `priority`, `limit` or `nextToken`, or a path id outside its \
            pattern (`bad_request`)", body = ErrorBody),
        AuthenticatedErrors,
        (status = 404, description = "Not a project of the caller", body = ErrorBody),
    ))]
pub async fn list_signals(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(ProjectPath { project_id }): ApiPath<ProjectPath>,
    ApiQuery(params): ApiQuery<SignalsParams>,
) -> Result<Json<SignalsPage>, ApiError> {
    let SignalsParams { since, signal_type, related, source, priority, limit, next_token } = params;
    let filter = SignalFilter { since, signal_type, related, source, priority, limit, next_token };
    let page = service::signals::list(&state, &caller, project_id.as_str(), filter).await?;
    Ok(Json(SignalsPage { signals: page.signals, next_token: page.next_token }))
}
