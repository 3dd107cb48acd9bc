//! Recent signals of a project: the filter rules (`since` is RFC 3339, a page holds 1 to
//! [`MAX_SIGNAL_PAGE`] signals) and the caller's access to the project.

use chrono::{DateTime, Utc};
use switchboard_core::model::Priority;
use switchboard_core::ports::{MAX_SIGNAL_PAGE, SignalPage, SignalQuery};

use crate::auth::Caller;
use crate::service::access;
use crate::service::error::ServiceError;
use crate::state::RegistryState;

/// Filters and paging as sent; empty strings do not filter.
#[derive(Debug, Clone, Default)]
pub struct SignalFilter {
    /// Only signals at or after this RFC 3339 instant.
    pub since: Option<String>,
    /// Only signals of this type.
    pub signal_type: Option<String>,
    /// Only signals related to this reference.
    pub related: Option<String>,
    /// Only signals of this connector.
    pub source: Option<String>,
    /// Only signals of this priority (`critical`, `high`, `medium`, `low`).
    pub priority: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
    /// The previous page's token.
    pub next_token: Option<String>,
}

/// One page of a project's signals, newest first.
pub async fn list(
    state: &RegistryState,
    caller: &Caller,
    project_id: &str,
    filter: SignalFilter,
) -> Result<SignalPage, ServiceError> {
    access::project(caller, project_id)?;
    let since = match filter.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            ServiceError::Invalid(format!(
                "`since` must be an RFC 3339 time such as 2025-01-31T12:00:00Z, not `{text}`"
            ))
        })?),
    };
    let limit = match filter.limit {
        None => 0,
        Some(n) if (1..=MAX_SIGNAL_PAGE).contains(&n) => n,
        Some(n) => return Err(ServiceError::Invalid(format!("`limit` must be 1 to {MAX_SIGNAL_PAGE}, not {n}"))),
    };
    let priority = match filter.priority.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(serde_json::from_value::<Priority>(serde_json::Value::from(text)).map_err(|_| {
            ServiceError::Invalid(format!("`priority` must be critical, high, medium or low, not `{text}`"))
        })?),
    };
    let query = SignalQuery {
        since,
        signal_type: filter.signal_type.filter(|s| !s.is_empty()),
        related: filter.related.filter(|s| !s.is_empty()),
        source: filter.source.filter(|s| !s.is_empty()),
        priority,
        limit,
        next_token: filter.next_token.filter(|s| !s.is_empty()),
    };
    Ok(state.stores.signals.list_signals(project_id, &query).await?)
}
