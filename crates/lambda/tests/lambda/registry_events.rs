//! The sample events under `events/registry-api/` (API Gateway HTTP API v2 with JWT authorizer
//! claims, as `sam local invoke -e` takes them) go through `lambda_http`'s request conversion and
//! the router, in order, in one world.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::{Request, StatusCode};
use serde_json::Value;
use switchboard_registry_api::{ClaimsResolver, RegistryState, lambda};
use tower::ServiceExt;

use crate::support::{Reply, World, spawn_with};

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

fn events_dir() -> String {
    format!("{}/../../events/registry-api", env!("CARGO_MANIFEST_DIR"))
}

async fn lambda_world() -> World {
    spawn_with(|state| RegistryState { resolver: Arc::new(ClaimsResolver), ..state }).await
}

async fn invoke(world: &World, event: &str) -> Reply {
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let (parts, body) = request.into_parts();
    world.request(Request::from_parts(parts, axum::body::Body::new(body))).await
}

#[tokio::test]
async fn every_sample_event_is_accepted_by_the_router() {
    let world = lambda_world().await;
    for (name, expected) in SAMPLES {
        let event = std::fs::read_to_string(format!("{}/{name}", events_dir())).unwrap();
        let reply = invoke(&world, &event).await;
        assert_eq!(reply.status, *expected, "{name}: {}", reply.text);
    }
}

#[tokio::test]
async fn every_file_in_the_events_folder_is_a_tested_sample() {
    let files: BTreeSet<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    let tested: BTreeSet<String> = SAMPLES.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(files, tested);
}

#[tokio::test]
async fn an_event_without_authorizer_claims_is_unauthenticated() {
    let world = lambda_world().await;
    let text = std::fs::read_to_string(format!("{}/list-instances.json", events_dir())).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["requestContext"].as_object_mut().unwrap().remove("authorizer");
    let reply = invoke(&world, &event.to_string()).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn claims_for_other_projects_get_not_found() {
    let world = lambda_world().await;
    let text = std::fs::read_to_string(format!("{}/list-instances.json", events_dir())).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["requestContext"]["authorizer"]["jwt"]["claims"]["custom:switchboard_projects"] = "initech".into();
    let reply = invoke(&world, &event.to_string()).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_named_stage_is_stripped_before_routing() {
    let world = lambda_world().await;
    let text = std::fs::read_to_string(format!("{}/list-connectors.json", events_dir())).unwrap();
    let mut event: Value = serde_json::from_str(&text).unwrap();
    event["rawPath"] = "/prod/connectors".into();
    event["requestContext"]["stage"] = "prod".into();
    event["requestContext"]["http"]["path"] = "/prod/connectors".into();
    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let state = RegistryState::new(world.stores.clone(), Arc::new(ClaimsResolver));
    let response = lambda::service(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let page: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(page["connectors"][0]["id"], "github-issues");
}
