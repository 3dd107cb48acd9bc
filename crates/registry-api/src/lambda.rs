//! Lambda wiring: tracing as JSON, the state built from the environment on AWS, and the
//! API Gateway stage removed from request paths before routing.

use std::sync::Arc;

use axum::http::{Extensions, Uri};
use lambda_http::request::RequestContext;
use switchboard_aws::{AwsClients, AwsSettings};
use tower::ServiceExt as _;
use url::Url;

use crate::auth::ClaimsResolver;
use crate::state::RegistryState;

/// Public URL of `GET /oauth/callback` (registered with each OAuth2 provider). When unset it is
/// derived from each `oauth/start` request (`Host` header and API Gateway stage).
pub const ENV_OAUTH_CALLBACK_URL: &str = "SWITCHBOARD_OAUTH_CALLBACK_URL";

/// JSON logs for CloudWatch (shared by the four functions).
pub use switchboard_aws::logging::init_lambda_tracing as init_tracing;

/// The state on AWS: stores from `SWITCHBOARD_*` settings, callers from JWT authorizer claims.
pub fn state_from_env(clients: &AwsClients) -> anyhow::Result<RegistryState> {
    let stores = AwsSettings::from_env()?.stores(clients);
    let state = RegistryState::new(stores, Arc::new(ClaimsResolver));
    match std::env::var(ENV_OAUTH_CALLBACK_URL) {
        Ok(text) if !text.is_empty() => {
            let url = Url::parse(&text).map_err(|e| anyhow::anyhow!("{ENV_OAUTH_CALLBACK_URL} is not a URL: {e}"))?;
            Ok(state.with_callback_url(url))
        }
        _ => Ok(state),
    }
}

/// Registers the built-in descriptors that are missing or at another version than this build
/// ships (`descriptors/*.json`). Run once per cold start: nothing else fills a fresh table's
/// catalogue on AWS, and an unchanged registry costs one read per built-in.
pub async fn register_built_ins(state: &RegistryState) -> anyhow::Result<()> {
    let sync = switchboard_core::builtin::register_built_ins(state.stores.descriptors.as_ref()).await?;
    tracing::info!(added = ?sync.added, updated = ?sync.updated, unchanged = sync.unchanged.len(), "built-in descriptors");
    Ok(())
}

/// The router as a Lambda service: requests lose their stage prefix, then are routed.
pub fn service(
    state: RegistryState,
) -> impl tower::Service<
    lambda_http::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send {
    crate::router(state).map_request(without_stage)
}

/// The API Gateway stage of a request, unless it is `$default` (whose URLs have no prefix).
pub fn stage(extensions: &Extensions) -> Option<&str> {
    stage_of(extensions.get::<RequestContext>()?)
}

/// The stage named in a request context, unless it is `$default`.
pub fn stage_of(context: &RequestContext) -> Option<&str> {
    let stage = match context {
        RequestContext::ApiGatewayV2(context) => context.stage.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.stage.as_deref(),
        _ => None,
    };
    stage.filter(|s| !s.is_empty() && *s != "$default")
}

/// Removes a named stage from the path (`/prod/connectors` → `/connectors`): with a named stage,
/// API Gateway's path (and `lambda_http`'s URI) starts with it, while the routes do not.
pub fn without_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    let Some(prefix) = stage(request.extensions()).map(|s| format!("/{s}")) else {
        return request;
    };
    let path = request.uri().path();
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return request,
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    match path_and_query.parse() {
        Ok(pq) => parts.path_and_query = Some(pq),
        Err(_) => return request,
    }
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(stage: &str, raw_path: &str) -> lambda_http::Request {
        let text = format!(
            r#"{{"version": "2.0", "routeKey": "ANY /{{proxy+}}", "rawPath": "{raw_path}", "rawQueryString": "q=git",
            "headers": {{"host": "api.example"}}, "isBase64Encoded": false,
            "requestContext": {{"http": {{"method": "GET", "path": "{raw_path}"}}, "stage": "{stage}"}}}}"#
        );
        lambda_http::request::from_str(&text).unwrap()
    }

    #[test]
    fn a_named_stage_is_removed_from_the_path_and_the_query_kept() {
        let request = without_stage(event("prod", "/prod/connectors"));
        assert_eq!(request.uri().path(), "/connectors");
        assert_eq!(request.uri().query(), Some("q=git"));
        assert_eq!(without_stage(event("prod", "/prod/")).uri().path(), "/");
    }

    #[test]
    fn paths_of_the_default_stage_are_left_alone() {
        assert_eq!(without_stage(event("$default", "/connectors")).uri().path(), "/connectors");
        assert_eq!(without_stage(event("$default", "/prod/connectors")).uri().path(), "/prod/connectors");
    }
}
