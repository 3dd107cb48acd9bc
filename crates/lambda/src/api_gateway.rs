//! API Gateway requests (HTTP API payload v2 or REST API v1, through `lambda_http`) → the
//! gateway and registry routers.
//!
//! The routers know nothing of API Gateway. On a named stage API Gateway's path starts with the
//! stage (`/prod/connectors`), while the routes do not: [`strip_stage`] removes it, once for
//! both functions. What the routers need from the request context arrives as their own plain
//! request extensions: the path as called ([`PublicPath`], for URL-signing webhook schemes), the
//! caller's address for the gateway's per-source limit ([`SourceAddress`]), and
//! for the registry the stage ([`ApiStage`]), the JWT authorizer's claims
//! ([`AuthorizerClaims`]) and Lambda's request id ([`RequestId`]).

use std::collections::HashMap;
use std::convert::Infallible;

use axum::http::Uri;
use axum::response::Response;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};
use serde_json::Value;
use switchboard_registry_api::RegistryState;
use switchboard_registry_api::edge::{ApiStage, AuthorizerClaims, RequestId};
use switchboard_webhook_gateway::{GatewayState, PublicPath, SourceAddress};
use tower::{Service, ServiceExt as _};

/// The webhook gateway's router as `lambda_http` runs it: the stage removed from the path, the
/// path as called kept in [`PublicPath`], the caller's address in [`SourceAddress`].
pub fn gateway_service(
    state: GatewayState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static {
    switchboard_webhook_gateway::router(state).map_request(|mut request: Request| {
        if let Some(called) = strip_stage(&mut request) {
            request.extensions_mut().insert(PublicPath(called));
        }
        if let Some(source) = source_address(&request) {
            request.extensions_mut().insert(source);
        }
        request
    })
}

/// The caller's address as API Gateway saw it: `requestContext.http.sourceIp` (HTTP API v2) or
/// `requestContext.identity.sourceIp` (REST API v1). A `/32`-style suffix, as in SAM's sample
/// events, is ignored.
pub fn source_address(request: &Request) -> Option<SourceAddress> {
    let ip = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.identity.source_ip.as_deref(),
        _ => None,
    };
    let address = ip?.split('/').next()?.trim();
    address.parse().ok().map(SourceAddress)
}

/// The registry API's router as `lambda_http` runs it: see [`registry_request`].
pub fn registry_service(
    state: RegistryState,
) -> impl Service<Request, Response = Response, Error = Infallible, Future: Send> + Clone + Send + 'static {
    switchboard_registry_api::router(state).map_request(registry_request)
}

/// A request as the registry router reads it: the stage removed from the path and kept in
/// [`ApiStage`], the authorizer's claims in [`AuthorizerClaims`], the request id in
/// [`RequestId`].
pub fn registry_request(mut request: Request) -> Request {
    let stage = stage(&request);
    let claims = request.request_context_ref().and_then(authorizer_claims);
    let request_id = request.lambda_context_ref().map(|context| context.request_id.clone());
    strip_stage(&mut request);
    let extensions = request.extensions_mut();
    if let Some(stage) = stage {
        extensions.insert(ApiStage(stage));
    }
    if let Some(claims) = claims {
        extensions.insert(AuthorizerClaims(claims));
    }
    if let Some(id) = request_id {
        extensions.insert(RequestId(id));
    }
    request
}

/// The API Gateway stage of a request, unless it is `$default` (whose URLs have no prefix).
pub fn stage(request: &Request) -> Option<String> {
    let stage = match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.stage.as_deref(),
        RequestContext::ApiGatewayV1(context) => context.stage.as_deref(),
        _ => None,
    };
    stage.filter(|s| !s.is_empty() && *s != "$default").map(str::to_owned)
}

/// Removes a named stage from the path (`/prod/connectors` → `/connectors`, `/prod` → `/`),
/// keeping the query; returns the path as called when it did. `lambda_http` puts the stage in
/// the path for REST APIs and for HTTP APIs on a named stage.
pub fn strip_stage(request: &mut Request) -> Option<String> {
    let prefix = format!("/{}", stage(request)?);
    let path = request.uri().path().to_owned();
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return None,
    };
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    *request.uri_mut() = Uri::from_parts(parts).ok()?;
    Some(path)
}

/// The claims API Gateway's JWT authorizer verified: HTTP API v2
/// `requestContext.authorizer.jwt.claims`, or REST API v1 `requestContext.authorizer.claims`.
/// They pass unchanged; which of them grant anything is decided in one place, the registry's
/// `caller_from_claims` (Cognito groups and identity-provider claims, never a `custom:`
/// attribute the user can write; `docs/functions.md`).
pub fn authorizer_claims(context: &RequestContext) -> Option<HashMap<String, String>> {
    let authorizer = context.authorizer()?;
    match &authorizer.jwt {
        Some(jwt) => Some(jwt.claims.clone()),
        None => match authorizer.fields.get("claims") {
            Some(Value::Object(map)) => Some(map.iter().map(|(k, v)| (k.clone(), claim_text(v))).collect()),
            _ => None,
        },
    }
}

/// A REST API claim value as text (arrays are joined like HTTP API does).
fn claim_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(claim_text).collect::<Vec<_>>().join(" "),
        other => other.to_string(),
    }
}
