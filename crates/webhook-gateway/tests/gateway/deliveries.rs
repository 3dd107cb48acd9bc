//! Deliveries that are answered 2xx: accepted, ignored, handshakes and probes.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use switchboard_core::IngestionKind;
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{Credentials, InstanceKey};
use switchboard_webhook_gateway::GatewaySettings;

use crate::support::*;

#[tokio::test]
async fn signed_github_pull_request_is_accepted_and_enqueued_exactly_once() {
    let world = World::new().await.with_github().await;

    let answer = world.send(signed_pr_opened("d-72d3162e")).await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json()["status"], "accepted");
    assert_eq!(answer.json()["deliveryId"], "d-72d3162e");
    let ingested = world.ingested().await;
    assert_eq!(ingested.len(), 1);
    let (envelope, message) = &ingested[0];
    assert_eq!((envelope.connector_id.as_str(), envelope.project_id.as_str()), ("github-prs", "p1"));
    assert_eq!(envelope.ingestion, IngestionKind::Webhook);
    assert_eq!(envelope.event_type.as_deref(), Some("pull_request"));
    assert_eq!(envelope.delivery_id.as_deref(), Some("d-72d3162e"));
    let body = fixture("github-prs/pull_request.opened.json");
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope.payload, sent);
    let passed_on = Envelope::from_json_borrowed(&message.body).unwrap().payload;
    assert_eq!(passed_on.get().as_bytes(), body.trim_ascii(), "the body's JSON text is passed on as it came");
    let wire: Value = serde_json::from_str(&message.body).unwrap();
    assert!(chrono::DateTime::parse_from_rfc3339(wire["receivedAt"].as_str().unwrap()).is_ok());
    assert_eq!(message.attributes["connectorId"], "github-prs");
    assert_eq!(message.attributes["projectId"], "p1");
}

#[tokio::test]
async fn previous_secret_still_verifies_after_rotation() {
    let world = World::new().await.with_github().await;
    let rotated: Credentials = [("token", "ghp_x"), ("webhookSecret", "the-new-secret")].into_iter().collect();
    world.stores.store_credentials(&InstanceKey::new("p1", "github-prs"), &rotated).await.unwrap();
    let body = fixture("github-prs/pull_request.opened.json");

    let old = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-old")).await;
    let new = world.send(github_delivery("p1", "pull_request", &body, "the-new-secret", "d-new")).await;
    let other = world.send(github_delivery("p1", "pull_request", &body, "never-configured", "d-x")).await;

    assert_eq!(
        (old.status, new.status, other.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(world.ingested().await.len(), 2);
}

#[tokio::test]
async fn the_previous_secret_is_refused_once_the_rotation_grace_is_over() {
    let settings = GatewaySettings { secret_rotation_grace: std::time::Duration::ZERO, ..GatewaySettings::default() };
    let world = World::with_settings(settings).await.with_github().await;
    let rotated: Credentials = [("token", "ghp_x"), ("webhookSecret", "the-new-secret")].into_iter().collect();
    world.stores.store_credentials(&InstanceKey::new("p1", "github-prs"), &rotated).await.unwrap();
    let body = fixture("github-prs/pull_request.opened.json");

    let old = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-old")).await;
    let new = world.send(github_delivery("p1", "pull_request", &body, "the-new-secret", "d-new")).await;

    assert_eq!((old.status, new.status), (StatusCode::UNAUTHORIZED, StatusCode::ACCEPTED), "{}", old.text);
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn slack_url_verification_is_answered_with_the_challenge_as_plain_text() {
    let world = World::new().await;
    world.add_instance("slack", "p1", &[("signingSecret", SLACK_SECRET)], true).await;

    let answer = world.send(slack_delivery("p1", &fixture("slack/url_verification.json"), SLACK_SECRET)).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.text, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    assert!(answer.header("content-type").unwrap().starts_with("text/plain"));
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn slack_url_verification_with_a_bad_signature_gets_no_challenge() {
    let world = World::new().await;
    world.add_instance("slack", "p1", &[("signingSecret", SLACK_SECRET)], true).await;

    let answer = world.send(slack_delivery("p1", &fixture("slack/url_verification.json"), "wrong")).await;

    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert!(!answer.text.contains("3eZbrw1a"));
}

#[tokio::test]
async fn unhandled_event_type_is_acknowledged_as_ignored_without_enqueueing() {
    let world = World::new().await.with_github().await;

    let answer =
        world.send(github_delivery("p1", "push", &fixture("github-prs/push.json"), GITHUB_SECRET, "d-push")).await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(answer.json()["status"], "ignored");
    assert_eq!(answer.json()["eventType"], "push");
    assert!(answer.json()["reason"].as_str().unwrap().contains("push"));
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn event_type_comes_from_the_payload_when_the_descriptor_has_no_header() {
    let world = World::new().await;
    world.add_instance("slack", "p1", &[("signingSecret", SLACK_SECRET)], true).await;

    let answer = world.send(slack_delivery("p1", &fixture("slack/app_mention.json"), SLACK_SECRET)).await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    let ingested = world.ingested().await;
    assert_eq!(ingested[0].0.event_type.as_deref(), Some("app_mention"));
    assert_eq!(ingested[0].0.delivery_id.as_deref(), Some("Ev0LAN670R"), "Slack's event_id, from the body");
}

#[tokio::test]
async fn probes_answer_ok_for_an_enabled_instance_without_reading_secrets() {
    let world = World::new().await.with_github().await;

    let get = world.send(Request::get("/webhooks/github-prs/p1").body(Body::empty()).unwrap()).await;
    let head = world.send(Request::head("/webhooks/github-prs/p1").body(Body::empty()).unwrap()).await;
    let unknown = world.send(Request::head("/webhooks/github-prs/nope").body(Body::empty()).unwrap()).await;

    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.json()["status"], "ok");
    assert_eq!((head.status, head.text.as_str()), (StatusCode::OK, ""));
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(world.secrets_read(), 0);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn handshake_declared_without_verification_is_answered_without_reading_secrets() {
    let world = World::new().await;
    let mut slack: Value = serde_json::from_slice(&std::fs::read(descriptor_path("slack")).unwrap()).unwrap();
    slack["id"] = "slack-open-handshake".into();
    slack["ingestion"]["handshakes"][0]["verify"] = false.into();
    let descriptor = switchboard_core::Descriptor::from_value(&slack, "test").unwrap();
    world.stores.descriptors.register_descriptor(descriptor.model(), false).await.unwrap();
    world.add_instance("slack-open-handshake", "p1", &[("signingSecret", SLACK_SECRET)], true).await;
    let request = Request::post("/webhooks/slack-open-handshake/p1")
        .body(Body::from(fixture("slack/url_verification.json")))
        .unwrap();

    let answer = world.send(request).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.text, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    assert_eq!(world.secrets_read(), 0);
}
