//! `POST .../test` of a webhook-only connector that declares no health check: a clear 409, and
//! the instance's health is left alone; the catalogue says which connectors can be tested.

use axum::http::{Method, StatusCode};
use serde_json::json;
use wiremock::MockServer;

use crate::support::{ACME, ADMIN, spawn_admitting_loopback};

#[tokio::test]
async fn testing_a_connector_without_a_health_check_answers_409_and_records_nothing() {
    let world = spawn_admitting_loopback().await;
    let api = MockServer::start().await;
    let mut descriptor = world.get("/connectors/pagerduty", Some(ADMIN)).await.json()["descriptor"].clone();
    descriptor["id"] = json!("pagerduty-unchecked");
    descriptor.as_object_mut().unwrap().remove("healthCheck");
    let created = world.send(Method::POST, "/connectors", Some(ADMIN), Some(descriptor)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);

    // The catalogue and the stored descriptor agree: no health check.
    let stored = world.get("/connectors/pagerduty-unchecked", Some(ADMIN)).await.json();
    assert!(stored["descriptor"].get("healthCheck").is_none(), "{stored}");
    let catalogue = world.get("/connectors?q=pagerduty", Some(ADMIN)).await.json();
    let card = |id: &str| catalogue["connectors"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap();
    assert_eq!(card("pagerduty-unchecked")["hasHealthCheck"], false);
    assert_eq!(card("pagerduty")["hasHealthCheck"], true);

    let base = "/projects/acme/connectors/pagerduty-unchecked";
    let body = json!({"config": {"baseUrl": api.uri()},
        "credentials": {"apiKey": "Token token=pd-secret-value", "webhookSecret": "whsec-value-1234"}, "enabled": true});
    let instance = world.send(Method::POST, base, Some(ACME), Some(body)).await;
    assert_eq!(instance.status, StatusCode::CREATED, "{}", instance.text);

    let test = world.send(Method::POST, &format!("{base}/test"), Some(ACME), None).await;
    assert_eq!(test.status, StatusCode::CONFLICT, "{}", test.text);
    assert_eq!(test.code(), "conflict");
    assert!(test.text.contains("declares no healthCheck"), "{}", test.text);
    assert!(api.received_requests().await.unwrap().is_empty(), "no request was sent");
    let health = world.get(&format!("{base}/health"), Some(ACME)).await.json();
    assert_eq!(health["status"], "unknown", "nothing was recorded: {health}");
}
