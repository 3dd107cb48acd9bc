//! `GET` / `HEAD /webhooks/{connectorId}/{projectId}`: the reachability checks some providers
//! send before they start delivering (Trello's `HEAD` on webhook creation, for instance).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::Instrument as _;

use crate::lookup::{Target, enabled_instance, webhook_connector};
use crate::state::GatewayState;

/// 200 `{"status":"ok"}` when an enabled webhook instance lives here, 404 otherwise. Reads no
/// secret and enqueues nothing. (axum answers `HEAD` with the same status and no body.)
pub(crate) async fn probe(
    State(state): State<GatewayState>,
    Path((connector_id, project_id)): Path<(String, String)>,
) -> Response {
    let span = tracing::info_span!("webhook_probe", connector_id = %connector_id, project_id = %project_id);
    async {
        let found = match Target::parse(&connector_id, &project_id) {
            Ok(Target { key, .. }) => match enabled_instance(&state, &key).await {
                Ok(_) => webhook_connector(&state, &key).await.map(|_| ()),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        match found {
            Ok(()) => Json(json!({"status": "ok"})).into_response(),
            Err(error) => error.into_response(),
        }
    }
    .instrument(span)
    .await
}
