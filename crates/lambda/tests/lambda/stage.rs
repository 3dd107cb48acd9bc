//! The one stage-stripping function both API Gateway functions use.

use switchboard_lambda::api_gateway::{stage, strip_stage};

fn event(stage: &str, raw_path: &str) -> lambda_http::Request {
    let text = format!(
        r#"{{"version": "2.0", "routeKey": "ANY /{{proxy+}}", "rawPath": "{raw_path}", "rawQueryString": "q=git",
        "headers": {{"host": "api.example"}}, "isBase64Encoded": false,
        "requestContext": {{"http": {{"method": "GET", "path": "{raw_path}"}}, "stage": "{stage}"}}}}"#
    );
    lambda_http::request::from_str(&text).unwrap()
}

/// The request's path after [`strip_stage`].
fn stripped(mut request: lambda_http::Request) -> String {
    strip_stage(&mut request);
    request.uri().path().to_owned()
}

#[test]
fn a_named_stage_is_removed_from_the_path_and_the_query_kept() {
    let mut request = event("prod", "/prod/connectors");
    assert_eq!(strip_stage(&mut request).as_deref(), Some("/prod/connectors"));
    assert_eq!(request.uri().path(), "/connectors");
    assert_eq!(request.uri().query(), Some("q=git"));
    assert_eq!(stripped(event("prod", "/prod/")), "/");
}

#[test]
fn paths_of_the_default_stage_are_left_alone() {
    assert_eq!(stripped(event("$default", "/connectors")), "/connectors");
    assert_eq!(stripped(event("$default", "/prod/connectors")), "/prod/connectors");
    assert_eq!(stage(&event("$default", "/connectors")), None);
}

#[test]
fn a_path_that_only_starts_like_the_stage_is_left_alone() {
    assert_eq!(stripped(event("prod", "/production/connectors")), "/production/connectors");
    assert_eq!(stage(&event("prod", "/production/connectors")).as_deref(), Some("prod"));
}
