//! The JWT claims resolver: the edge turns API Gateway's authorizer context into the registry's
//! plain `AuthorizerClaims`, which its `ClaimsResolver` reads.

use switchboard_lambda::api_gateway::registry_request;
use switchboard_registry_api::auth::CallerResolver as _;
use switchboard_registry_api::{Caller, ClaimsResolver};

/// The caller the registry resolves for an API Gateway event, after the edge translated it.
fn resolve(event: &str) -> Result<Caller, switchboard_registry_api::auth::Unauthenticated> {
    let request = registry_request(lambda_http::request::from_str(event).unwrap());
    ClaimsResolver.resolve(request.headers(), request.extensions())
}

#[test]
fn claims_resolver_reads_http_api_and_rest_api_authorizers() {
    let http_api = r#"{"version": "2.0", "routeKey": "$default", "rawPath": "/connectors", "rawQueryString": "",
        "headers": {"host": "api.example"}, "isBase64Encoded": false,
        "requestContext": {"http": {"method": "GET", "path": "/connectors"}, "stage": "$default",
          "authorizer": {"jwt": {"claims": {"sub": "u1", "switchboard:projects": "acme"}, "scopes": null}}}}"#;
    let rest_api = r#"{"resource": "/{proxy+}", "path": "/connectors", "httpMethod": "GET",
        "headers": {"Host": "api.example"}, "isBase64Encoded": false,
        "requestContext": {"httpMethod": "GET", "stage": "prod", "resourcePath": "/{proxy+}",
          "authorizer": {"claims": {"sub": "u2", "switchboard:projects": "globex", "switchboard:admin": true}}}}"#;
    let v2 = resolve(http_api).unwrap();
    assert_eq!((v2.subject.as_str(), v2.admin, v2.can_access("acme")), ("u1", false, true));
    let v1 = resolve(rest_api).unwrap();
    assert_eq!((v1.subject.as_str(), v1.admin, v1.can_access("globex")), ("u2", true, true));
    let unauthorised = http_api.replace(
        r#""authorizer": {"jwt": {"claims": {"sub": "u1", "switchboard:projects": "acme"}, "scopes": null}}"#,
        r#""authorizer": null"#,
    );
    assert!(resolve(&unauthorised).is_err());
}

#[test]
fn rest_api_array_claims_read_like_http_api_ones() {
    let rest_api = r#"{"resource": "/{proxy+}", "path": "/connectors", "httpMethod": "GET",
        "headers": {"Host": "api.example"}, "isBase64Encoded": false,
        "requestContext": {"httpMethod": "GET", "stage": "prod", "resourcePath": "/{proxy+}",
          "authorizer": {"claims": {"sub": "u3", "cognito:groups": ["ops", "switchboard-admin"],
            "switchboard:projects": ["acme", "globex"]}}}}"#;
    let caller = resolve(rest_api).unwrap();
    assert!(caller.admin && caller.can_access("acme") && caller.can_access("globex"));
}

/// An HTTP API event whose JWT carries `claims` (a JSON object's members).
fn http_api_event(claims: &str) -> String {
    format!(
        r#"{{"version": "2.0", "routeKey": "$default", "rawPath": "/connectors", "rawQueryString": "",
        "headers": {{"host": "api.example"}}, "isBase64Encoded": false,
        "requestContext": {{"http": {{"method": "GET", "path": "/connectors"}}, "stage": "$default",
          "authorizer": {{"jwt": {{"claims": {{{claims}}}, "scopes": null}}}}}}}}"#
    )
}

#[test]
fn cognito_groups_grant_projects_and_admin() {
    let caller =
        resolve(&http_api_event(r#""sub": "u4", "cognito:groups": "[switchboard-project-acme switchboard-admin]""#))
            .unwrap();
    assert!(caller.admin && caller.can_access("acme") && !caller.can_access("globex"));
    let caller = resolve(&http_api_event(r#""sub": "u5", "cognito:groups": "[switchboard-all-projects]""#)).unwrap();
    assert!(!caller.admin && caller.can_access("acme") && caller.can_access("globex"));
}

#[test]
fn user_writable_custom_attributes_grant_nothing() {
    let caller = resolve(&http_api_event(
        r#""sub": "u6", "custom:switchboard_projects": "*", "custom:switchboard_admin": "true""#,
    ))
    .unwrap();
    assert!(!caller.admin && !caller.can_access("acme"));
}
