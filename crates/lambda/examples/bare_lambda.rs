//! Benchmark peer (`bench/gateway.sh`): the smallest `lambda_http` + axum function on the same
//! route, which reads the body and answers 202. Its cold start and memory are the floor the
//! gateway's own overhead is measured against.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::run(bare_router()).await
}

fn bare_router() -> Router {
    Router::new().route("/webhooks/{connector_id}/{project_id}", post(|_body: Bytes| async { StatusCode::ACCEPTED }))
}
