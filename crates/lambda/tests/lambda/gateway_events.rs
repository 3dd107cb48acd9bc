//! The sample API Gateway events in `events/webhook-gateway/` (the files `sam local invoke -e`
//! takes) through `lambda_http`'s request types and the Lambda service, as the function runs
//! them: HTTP API payload v2 on the default and on a named stage, and REST API v1.

use std::sync::Arc;

use axum::http::StatusCode;
use switchboard_app::Settings;
use switchboard_lambda::api_gateway;
use tower::ServiceExt as _;

use crate::support::*;

/// The secret of the GitHub instance the samples are signed for.
const GITHUB_SECRET: &str = "It's a Secret to Everybody";

/// Every sample event and the status the gateway answers it with.
const EVENTS: &[(&str, StatusCode)] = &[
    ("http-api-v2-pull-request.json", StatusCode::ACCEPTED),
    ("http-api-v2-stage-pull-request.json", StatusCode::ACCEPTED),
    ("rest-v1-pull-request.json", StatusCode::ACCEPTED),
    ("http-api-v2-bad-signature.json", StatusCode::UNAUTHORIZED),
];

#[tokio::test]
async fn every_sample_event_gets_its_expected_status_through_lambda_http() {
    for (name, expected) in EVENTS {
        let world = World::new(Settings::default());
        world.register(&[descriptor("github-prs")]).await;
        world.add_instance("github-prs", "demo-project", &[], &[("webhookSecret", GITHUB_SECRET)]).await;
        let text = read(&format!("events/webhook-gateway/{name}"));
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let state = world.app.gateway(Arc::new(world.db.ingest_queue()));

        let response = api_gateway::gateway_service(state).oneshot(request).await.unwrap();

        assert_eq!(response.status(), *expected, "{name}");
        let ingested = world.ingested().await;
        if *expected == StatusCode::ACCEPTED {
            assert_eq!(ingested.len(), 1, "{name}");
            assert_eq!(ingested[0].event_type.as_deref(), Some("pull_request"), "{name}");
            assert!(ingested[0].delivery_id.as_deref().unwrap().starts_with("8b7c2f80-"), "{name}");
        } else {
            assert!(ingested.is_empty(), "{name}");
        }
    }
}

#[test]
fn the_callers_address_is_read_from_the_request_context() {
    for (name, expected) in [
        ("http-api-v2-pull-request.json", "192.168.0.1"),
        ("http-api-v2-stage-pull-request.json", "192.168.0.1"),
        ("rest-v1-pull-request.json", "127.0.0.1"),
    ] {
        let text = read(&format!("events/webhook-gateway/{name}"));
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let source = api_gateway::source_address(&request).map(|source| source.0.to_string());
        assert_eq!(source.as_deref(), Some(expected), "{name}");
    }
}

#[test]
fn every_event_file_is_covered_by_the_table() {
    let mut covered: Vec<String> = EVENTS.iter().map(|(name, _)| (*name).to_owned()).collect();
    covered.sort();
    assert_eq!(event_files("webhook-gateway"), covered);
}
