//! The webhook gateway: `POST /webhooks/{connectorId}/{projectId}` verifies a third party's
//! delivery against its connector descriptor and puts the raw envelope on the ingest queue,
//! answering 202 only once it is there (DESIGN.md §1, §6).
//!
//! [`router`] is an axum router over [`GatewayState`]. It knows nothing of where it runs: the
//! Lambda function (`switchboard-lambda`) serves it behind API Gateway and `switchboard serve`
//! mounts the same router; `switchboard-app` builds its state.

mod deliver;
mod error;
mod ingest;
mod limits;
mod lookup;
mod probe;
mod replay;
mod request_url;
mod settings;
mod source;
mod state;

use axum::Router;
use axum::routing::post;

pub use error::GatewayError;
pub use request_url::{CONFIG_WEBHOOK_URL, PublicPath};
pub use settings::{
    DEFAULT_BODY_LIMIT_BYTES, DEFAULT_DELIVERY_CLAIM, DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW,
    DEFAULT_SECRET_ROTATION_GRACE, DEFAULT_UNAVAILABLE_RETRY_AFTER, DEFAULT_UNVERIFIED_LIMIT,
    DEFAULT_UNVERIFIED_SOURCE_LIMIT, GatewaySettings,
};
pub use source::SourceAddress;
pub use state::GatewayState;

/// The webhook route.
pub const WEBHOOK_ROUTE: &str = "/webhooks/{connector_id}/{project_id}";

/// The gateway's routes: `POST` delivers, `GET` / `HEAD` probe. Other paths and methods get
/// the JSON error body too.
pub fn router(state: GatewayState) -> Router {
    Router::new()
        .route(WEBHOOK_ROUTE, post(deliver::deliver).get(probe::probe))
        .fallback(|| async { GatewayError::RouteNotFound })
        .method_not_allowed_fallback(|| async { GatewayError::MethodNotAllowed })
        .with_state(state)
}
