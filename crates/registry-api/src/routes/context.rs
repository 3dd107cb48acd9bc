//! A reference key's context packet: `GET /projects/{projectId}/context/{key}`. What goes in it
//! (the item rule, the groups, the participants) is [`service::context`]'s.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_core::NormalisedSignal;
use switchboard_core::context::ContextKind;
use switchboard_core::ids::ProjectId;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::params::{AuthenticatedErrors, since_schema};
use crate::service;
use crate::service::context::{ContextGroup, ContextPacket, ContextRequest, Participant};
use crate::state::RegistryState;

/// `/projects/{projectId}/context/{key}`.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Path)]
pub struct ContextPath {
    /// Project id: 1 to 64 letters, digits, `-`, `_` or `.`, not starting with `.`.
    #[param(value_type = String, pattern = "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$", min_length = 1, max_length = 64,
        example = "acme")]
    pub project_id: ProjectId,
    /// The reference key as signals carry it in `relatedItems` (`PROJ-123`, `octo/repo#12`),
    /// percent-encoded (`octo%2Frepo%2312`): 1 to 256 characters, no control characters.
    #[param(pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]{1,256}$", min_length = 1, max_length = 256, example = "PROJ-123")]
    pub key: String,
}

/// The time bound and paging of the related signals.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ContextParams {
    /// Only related signals whose `timestamp` is at or after this RFC 3339 instant (empty: no
    /// bound). The item is found whatever the bound.
    #[param(schema_with = since_schema, example = "2025-01-31T12:00:00Z")]
    pub since: Option<String>,
    /// Related signals per page, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
    /// The `nextToken` of the previous page.
    pub next_token: Option<String>,
}

/// One page of a key's context packet.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextPage {
    /// The reference key.
    #[schema(example = "PROJ-123")]
    pub key: String,
    /// The tracker signal that is the key (an issue whose first `relatedItems` entry, or else
    /// whose `externalId`, is the key), its newest version; `null` when there is none. It is on
    /// every page and in none of the groups.
    #[schema(value_type = Option<Object>)]
    pub item: Option<NormalisedSignal>,
    /// This page's signals that reference the key, by kind, in the order `issues`,
    /// `code_changes`, `builds`, `incidents`, `conversations`, `documents`, `meetings`,
    /// `other`; groups without signals are left out.
    pub groups: Vec<GroupBody>,
    /// Everyone named in the item and this page's signals, in the most signals first.
    pub participants: Vec<ParticipantBody>,
    /// Pass as `nextToken` for the next page of related signals; `null` on the last page.
    pub next_token: Option<String>,
}

/// Related signals of one kind.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupBody {
    /// The kind.
    #[schema(schema_with = kind_schema)]
    pub kind: ContextKind,
    /// For people: `Code changes`.
    pub title: &'static str,
    /// `NormalisedSignal`s (DESIGN.md §4), newest `timestamp` first; `url` links to the source.
    #[schema(value_type = Vec<Object>)]
    pub signals: Vec<NormalisedSignal>,
}

/// Someone involved.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantBody {
    /// As the source names them.
    pub name: String,
    /// In how many of the packet's signals they appear.
    pub signals: usize,
}

/// `kind`'s schema: one of the kinds' names.
fn kind_schema() -> Schema {
    let names = ContextKind::ALL.map(ContextKind::as_str);
    Schema::Object(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).build())
}

/// A reference key's context packet.
#[utoipa::path(get, path = "/projects/{projectId}/context/{key}", tag = "signals",
    params(ContextPath, ContextParams),
    responses(
        (status = 200, description = "The packet (one page of its related signals)", body = ContextPage),
        (status = 400, description = "Bad key, `since`, `limit` or `nextToken`, or a project id outside its \
            pattern (`bad_request`)", body = ErrorBody),
        AuthenticatedErrors,
        (status = 404, description = "Not a project of the caller", body = ErrorBody),
    ))]
pub async fn context_packet(
    State(state): State<RegistryState>,
    caller: Caller,
    ApiPath(ContextPath { project_id, key }): ApiPath<ContextPath>,
    ApiQuery(params): ApiQuery<ContextParams>,
) -> Result<Json<ContextPage>, ApiError> {
    let ContextParams { since, limit, next_token } = params;
    let request = ContextRequest { key, since, limit, next_token };
    let packet = service::context::packet(&state, &caller, project_id.as_str(), request).await?;
    Ok(Json(page(packet)))
}

fn page(packet: ContextPacket) -> ContextPage {
    let ContextPacket { key, item, groups, participants, next_token } = packet;
    let groups = groups
        .into_iter()
        .map(|ContextGroup { kind, signals }| GroupBody { kind, title: kind.title(), signals })
        .collect();
    let participants =
        participants.into_iter().map(|Participant { name, signals }| ParticipantBody { name, signals }).collect();
    ContextPage { key, item, groups, participants, next_token }
}
