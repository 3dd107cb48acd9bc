//! One log line per request: method, route template, status and latency (never a body).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::edge::RequestId;

/// Middleware: runs the request in a span named after its route and logs how it ended.
pub async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("<unmatched>", |p| p.as_str()).to_owned();
    let request_id = request.extensions().get::<RequestId>().map(|RequestId(id)| id.clone()).unwrap_or_default();
    let span = tracing::info_span!("request", %method, route, request_id);
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| tracing::info!(status, latency_ms, "request handled"));
    response
}
