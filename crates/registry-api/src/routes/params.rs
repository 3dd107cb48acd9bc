//! Path parameters, error responses and parameter schemas that several routes document alike.
//!
//! The id patterns are the rules of `switchboard_core::ids` (a connector id is lower-case kebab
//! case, a project id 1 to 64 of `[A-Za-z0-9_.-]` not starting with `.`), so the document says
//! which ids the code accepts. The path extractor checks them, so an id outside its rule is a 400
//! (`bad_request`) on every route.

use serde::Deserialize;
use switchboard_core::ids::{ConnectorId, ProjectId};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::{IntoParams, IntoResponses};

use crate::error::ErrorBody;

/// `/projects/{projectId}/connectors/{connectorId}...`: one connector instance.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct InstancePath {
    /// Project id: 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`.
    #[param(value_type = String, pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$", min_length = 1, max_length = 64,
        example = "acme")]
    pub project_id: ProjectId,
    /// Connector id: lower-case kebab case, at most 64 characters.
    #[param(value_type = String, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 1, max_length = 64,
        example = "github-issues")]
    pub connector_id: ConnectorId,
}

/// `/projects/{projectId}/...`: one project.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct ProjectPath {
    /// Project id: 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`.
    #[param(value_type = String, pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$", min_length = 1, max_length = 64,
        example = "acme")]
    pub project_id: ProjectId,
}

/// `/connectors/{connectorId}`: one descriptor.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct ConnectorPath {
    /// Connector id: lower-case kebab case, at most 64 characters.
    #[param(value_type = String, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", min_length = 1, max_length = 64,
        example = "github-issues")]
    pub connector_id: ConnectorId,
}

/// The 404 of every route on one instance.
#[derive(Debug, IntoResponses)]
pub enum NoSuchInstance {
    /// No such instance, or one in a project the caller may not see.
    #[response(status = 404, description = "No such instance, or not a project of the caller")]
    NotFound(ErrorBody),
}

/// What every route behind the bearer token can answer besides its own statuses: 401 without a
/// valid token (with `WWW-Authenticate: Bearer`), 500 when a store fails.
#[derive(Debug, IntoResponses)]
pub enum AuthenticatedErrors {
    /// No valid bearer token.
    #[response(status = 401, description = "No valid bearer token (`unauthenticated`)",
        headers(("WWW-Authenticate" = String, description = "`Bearer`")))]
    Unauthenticated(ErrorBody),
    /// A store failed; the cause is logged, not sent.
    #[response(status = 500, description = "Internal error (`internal`); the cause is logged")]
    Internal(ErrorBody),
}

/// The 400 of a route whose only malformed input is its path: an id outside its rule, or a
/// segment that is not UTF-8 once percent-decoded.
#[derive(Debug, IntoResponses)]
pub enum BadPath {
    /// The path does not fit.
    #[response(status = 400, description = "A path id outside its pattern, or not UTF-8 (`bad_request`)")]
    BadRequest(ErrorBody),
}

/// The 400 and 413 of a route that reads a JSON body.
#[derive(Debug, IntoResponses)]
pub enum BadBody {
    /// The body is empty, not JSON, or not the expected shape (wrong type, unknown or missing
    /// field); the message never quotes the body.
    #[response(
        status = 400,
        description = "Empty body, not JSON, or not the expected shape (wrong type, \
        unknown or missing field), or a path id outside its pattern (`bad_request`)"
    )]
    BadRequest(ErrorBody),
    /// The body is over the 2 MiB limit.
    #[response(status = 413, description = "The body is over 2 MiB (`payload_too_large`)")]
    PayloadTooLarge(ErrorBody),
}

/// `since`'s schema: an RFC 3339 date-time, or empty for no filter.
pub fn since_schema() -> Schema {
    let schema = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(0)))
        .build();
    Schema::OneOf(schema)
}
