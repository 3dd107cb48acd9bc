//! Routes about the API itself, which need no caller: `GET /health` (liveness) and
//! `GET /openapi.json`.

use axum::Json;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceHealth {
    /// Always `ok` when the function answers.
    pub status: &'static str,
    /// The crate version.
    pub version: &'static str,
}

/// Liveness: answers without touching any store.
#[utoipa::path(get, path = "/health", tag = "service", security(()),
    responses((status = 200, description = "The service answers", body = ServiceHealth)))]
pub async fn service_health() -> Json<ServiceHealth> {
    Json(ServiceHealth { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

/// This API's OpenAPI 3.1 document, generated from the router itself.
// Served as committed (`crate::openapi::COMMITTED_JSON`); the doc comment above is the
// operation's summary in the document itself.
#[utoipa::path(get, path = "/openapi.json", tag = "service", security(()),
    responses((status = 200, description = "The OpenAPI document", body = Object, content_type = "application/json")))]
pub async fn openapi_json() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], crate::openapi::COMMITTED_JSON)
}
