//! What the edge in front of the router (API Gateway, through `switchboard-lambda`) tells it
//! about a request, as plain request extensions the edge inserts before routing. The router
//! reads them without knowing where they came from; `switchboard serve` inserts none.

use std::collections::HashMap;

/// The claims of the caller's token, already verified by the edge (API Gateway's JWT
/// authorizer). [`ClaimsResolver`](crate::auth::ClaimsResolver) turns them into a caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizerClaims(pub HashMap<String, String>);

/// The named stage the API is served under (`prod` in `https://host/prod/connectors`), when it
/// is not the default stage. The edge has already removed it from the request's path; URLs the
/// API hands out (the OAuth2 redirect URI) put it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiStage(pub String);

/// The id the edge gave this request (Lambda's request id), for the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);
