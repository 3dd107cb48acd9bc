//! The sample events under `events/registry-api/` (API Gateway HTTP API v2 with JWT authorizer
//! claims, as `sam local invoke -e` takes them) go through `lambda_http`'s request conversion and
//! the function's service, in order, in one world.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;
use switchboard_app::Settings;
use switchboard_lambda::api_gateway;
use switchboard_registry_api::{ClaimsResolver, RegistryState};
use tower::ServiceExt;

use crate::support::{World, event_files, read};

/// Each sample in the order a dashboard session would send them, with the status it gets.
const SAMPLES: &[(&str, StatusCode)] = &[
    ("health.json", StatusCode::OK),
    ("list-connectors.json", StatusCode::OK),
    ("register-connector.json", StatusCode::CREATED),
    ("create-instance.json", StatusCode::CREATED),
    ("list-instances.json", StatusCode::OK),
    ("update-instance.json", StatusCode::OK),
    ("disable-instance.json", StatusCode::OK),
    ("instance-health.json", StatusCode::OK),
    ("list-signals.json", StatusCode::OK),
    ("delete-instance.json", StatusCode::NO_CONTENT),
];

/// A registry with the built-in descriptors, authenticating callers by their claims, as the
/// function's cold start builds it.
async fn lambda_world() -> (World, RegistryState) {
    let world = World::new(Settings::default());
    world.app.register_built_ins().await.unwrap();
    let state = world.app.registry(Arc::new(ClaimsResolver));
    (world, state)
}

/// The event through the function's service: status and body.
async fn invoke(state: &RegistryState, event: &str) -> (StatusCode, String) {
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let response = api_gateway::registry_service(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn sample(name: &str) -> Value {
    serde_json::from_str(&read(&format!("events/registry-api/{name}"))).unwrap()
}

#[tokio::test]
async fn every_sample_event_is_accepted_by_the_router() {
    let (_world, state) = lambda_world().await;
    for (name, expected) in SAMPLES {
        let event = read(&format!("events/registry-api/{name}"));
        let (status, text) = invoke(&state, &event).await;
        assert_eq!(status, *expected, "{name}: {text}");
    }
}

#[tokio::test]
async fn every_file_in_the_events_folder_is_a_tested_sample() {
    let files: BTreeSet<String> = event_files("registry-api").into_iter().collect();
    let tested: BTreeSet<String> = SAMPLES.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(files, tested);
}

#[tokio::test]
async fn an_event_without_authorizer_claims_is_unauthenticated() {
    let (_world, state) = lambda_world().await;
    let mut event = sample("list-instances.json");
    event["requestContext"].as_object_mut().unwrap().remove("authorizer");
    let (status, _) = invoke(&state, &event.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn claims_for_other_projects_get_not_found() {
    let (_world, state) = lambda_world().await;
    let mut event = sample("list-instances.json");
    event["requestContext"]["authorizer"]["jwt"]["claims"]["cognito:groups"] = "[switchboard-project-initech]".into();
    let (status, _) = invoke(&state, &event.to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A Cognito user can set their own `custom:` attributes unless the app client forbids it: the
/// attribute naming every project must not open a project that the user's groups do not.
#[tokio::test]
async fn a_user_writable_projects_attribute_opens_no_project() {
    let (_world, state) = lambda_world().await;
    let mut event = sample("list-instances.json");
    let claims = &mut event["requestContext"]["authorizer"]["jwt"]["claims"];
    claims.as_object_mut().unwrap().remove("cognito:groups");
    claims["custom:switchboard_projects"] = "*".into();
    let (status, _) = invoke(&state, &event.to_string()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_named_stage_is_stripped_before_routing() {
    let (_world, state) = lambda_world().await;
    let mut event = sample("list-connectors.json");
    event["rawPath"] = "/prod/connectors".into();
    event["requestContext"]["stage"] = "prod".into();
    event["requestContext"]["http"]["path"] = "/prod/connectors".into();
    let (status, text) = invoke(&state, &event.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let page: Value = serde_json::from_str(&text).unwrap();
    // The sample searches "github" among code_and_devops connectors.
    let ids: Vec<&str> = page["connectors"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(ids.contains(&"github-issues") && ids.contains(&"github-prs"), "{ids:?}");
    assert!(ids.iter().all(|id| id.contains("github")), "{ids:?}");
}
