//! Running the gateway in AWS Lambda behind API Gateway (HTTP API payload v2 or REST API v1):
//! wiring from the environment, JSON logs, and the stage prefix `lambda_http` puts on paths.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};
use switchboard_aws::{AwsClients, AwsSettings, ENV_INGEST_QUEUE_URL, SqsQueue};
use tower::{Service, ServiceExt as _};
use tracing_subscriber::EnvFilter;

use crate::{GatewaySettings, GatewayState, PublicPath, router};

/// Why the function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A store setting is missing.
    #[error(transparent)]
    Aws(#[from] switchboard_aws::SettingsError),
    /// A gateway limit is malformed.
    #[error(transparent)]
    Gateway(#[from] crate::SettingsError),
    /// The ingest queue URL is missing.
    #[error("environment variable {ENV_INGEST_QUEUE_URL} is not set")]
    NoIngestQueue,
}

/// JSON logs filtered by `RUST_LOG`, else by `AWS_LAMBDA_LOG_LEVEL` (Lambda's application log
/// level, `FATAL` read as `error`), else at `info`.
pub fn init_tracing() {
    let filter = match std::env::var("RUST_LOG").ok().filter(|v| !v.trim().is_empty()) {
        Some(directives) => directives,
        None => match std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|level| level.trim().to_lowercase()) {
            Ok(level) if level == "fatal" => "error".to_owned(),
            Ok(level) if !level.is_empty() => level,
            _ => "info".to_owned(),
        },
    };
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(&filter).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line.
        .init();
}

/// The gateway over DynamoDB, Secrets Manager and SQS, configured from the environment
/// (`SWITCHBOARD_TABLE_NAME`, `SWITCHBOARD_SECRET_PREFIX`, `SWITCHBOARD_INGEST_QUEUE_URL`, and
/// the optional limits of [`GatewaySettings::from_env`]).
pub fn state_from_env(clients: &AwsClients) -> Result<GatewayState, StartError> {
    let stores = AwsSettings::from_env()?.stores(clients);
    let queue_url =
        std::env::var(ENV_INGEST_QUEUE_URL).ok().filter(|u| !u.is_empty()).ok_or(StartError::NoIngestQueue)?;
    let ingest = Arc::new(SqsQueue::new(clients.sqs.clone(), queue_url));
    Ok(GatewayState::new(&stores, ingest, GatewaySettings::from_env()?))
}

/// The router as `lambda_http` runs it: paths arrive with the API Gateway stage removed (the
/// path as called is kept in [`PublicPath`] for URL-signing schemes).
pub fn service(
    state: GatewayState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static {
    router(state).map_request(strip_stage)
}

/// `lambda_http` prefixes the path with the stage name (`/prod/webhooks/...`) for REST APIs and
/// for HTTP APIs on a named stage; the routes are stage-independent, so remove it again.
fn strip_stage(mut request: Request) -> Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") else { return request };
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(&format!("/{stage}")).filter(|rest| rest.starts_with('/')) else {
        return request;
    };
    let mut parts = request.uri().clone().into_parts();
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    if let Ok(stripped) = path_and_query.parse() {
        parts.path_and_query = Some(stripped);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
            request.extensions_mut().insert(PublicPath(path));
        }
    }
    request
}
