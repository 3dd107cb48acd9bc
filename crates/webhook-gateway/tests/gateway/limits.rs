//! The body size limit and the per-instance rate limit.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use switchboard_webhook_gateway::GatewaySettings;

use crate::support::*;

const KIB: usize = 1024;

/// A JSON pull request event padded to exactly `size` bytes.
fn padded_pr_event(size: usize) -> Vec<u8> {
    let mut event = json!({"action": "opened", "pull_request": {"id": 1, "title": "t"}, "padding": ""});
    let base = serde_json::to_vec(&event).unwrap().len();
    event["padding"] = json!("x".repeat(size - base));
    let body = serde_json::to_vec(&event).unwrap();
    assert_eq!(body.len(), size);
    body
}

#[tokio::test]
async fn body_of_257_kib_is_refused_with_413_before_anything_else() {
    let world = World::new().await.with_github().await;
    let body = padded_pr_event(257 * KIB);

    let answer = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1")).await;

    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error_code(), "payload_too_large");
    assert_eq!(world.secrets_read(), 0);
    assert!(world.ingested().await.is_empty());
}

#[tokio::test]
async fn body_larger_than_its_content_length_claims_is_still_refused_with_413() {
    let world = World::new().await.with_github().await;
    let body = padded_pr_event(257 * KIB);
    let mut request = github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1");
    request.headers_mut().insert("content-length", "100".parse().unwrap());

    assert_eq!(world.send(request).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn declared_content_length_over_the_limit_is_refused_without_reading_the_body() {
    let world = World::new().await.with_github().await;
    let request = Request::post("/webhooks/github-prs/p1")
        .header("content-length", (300 * KIB).to_string())
        .body(Body::empty())
        .unwrap();

    assert_eq!(world.send(request).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn body_of_exactly_256_kib_is_accepted() {
    let world = World::new().await.with_github().await;
    let body = padded_pr_event(256 * KIB);

    let answer = world.send(github_delivery("p1", "pull_request", &body, GITHUB_SECRET, "d-1")).await;

    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.text);
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn the_101st_delivery_in_a_minute_is_refused_with_429_and_retry_after() {
    let world = World::new().await.with_github().await;
    world.add_instance("github-prs", "p2", &[("webhookSecret", GITHUB_SECRET)], true).await;
    wait_until_the_minute_has_room(Duration::from_secs(15)).await;

    for n in 0..100 {
        let answer = world.send(signed_pr_opened(&format!("d-{n}"))).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "delivery {n}: {}", answer.text);
    }
    let refused = world.send(signed_pr_opened("d-100")).await;
    let other_instance = world
        .send(github_delivery(
            "p2",
            "pull_request",
            &fixture("github-prs/pull_request.opened.json"),
            GITHUB_SECRET,
            "d-p2",
        ))
        .await;

    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_code(), "rate_limited");
    let retry_after: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(world.secrets_read(), 102, "only verified deliveries are counted, so each one is verified");
    assert_eq!(other_instance.status, StatusCode::ACCEPTED, "the limit is per instance");
    assert_eq!(world.ingested().await.len(), 101);
}

#[tokio::test]
async fn a_signed_delivery_after_150_unsigned_posts_in_the_same_minute_is_accepted() {
    let world = World::new().await.with_github().await;
    wait_until_the_minute_has_room(Duration::from_secs(20)).await;
    let body = fixture("github-prs/pull_request.opened.json");

    for n in 0..150 {
        let forged =
            world.send(github_delivery("p1", "pull_request", &body, "not-the-secret", &format!("f-{n}"))).await;
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&forged.status),
            "forged {n}: {}",
            forged.text
        );
    }
    let signed = world.send(signed_pr_opened("d-genuine")).await;

    assert_eq!(signed.status, StatusCode::ACCEPTED, "{}", signed.text);
    assert_eq!(world.ingested().await.len(), 1);
}

#[tokio::test]
async fn unverified_requests_over_the_instance_limit_get_429_and_verified_deliveries_still_pass() {
    let settings = GatewaySettings { unverified_limit: 3, unverified_source_limit: 1000, ..GatewaySettings::default() };
    let world = World::with_settings(settings).await.with_github().await;
    wait_until_the_minute_has_room(Duration::from_secs(15)).await;
    let body = fixture("github-prs/pull_request.opened.json");
    let forged =
        |n: u32, ip: &str| from_source(github_delivery("p1", "pull_request", &body, "wrong", &format!("f-{n}")), ip);

    let mut statuses = Vec::new();
    for n in 0..3 {
        statuses.push(world.send(forged(n, &format!("198.51.100.{n}"))).await.status);
    }
    let limited = world.send(forged(3, "198.51.100.99")).await;
    let signed = world.send(from_source(signed_pr_opened("d-1"), "198.51.100.99")).await;

    assert_eq!(statuses, [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!((limited.status, limited.error_code().as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(signed.status, StatusCode::ACCEPTED, "{}", signed.text);
}

#[tokio::test]
async fn unverified_requests_over_the_source_limit_get_429_from_that_source_only() {
    let settings = GatewaySettings { unverified_limit: 1000, unverified_source_limit: 2, ..GatewaySettings::default() };
    let world = World::with_settings(settings).await.with_github().await;
    world.add_instance("github-prs", "p2", &[("webhookSecret", GITHUB_SECRET)], true).await;
    wait_until_the_minute_has_room(Duration::from_secs(15)).await;
    let body = fixture("github-prs/pull_request.opened.json");
    let forged =
        |project: &str, ip: &str| from_source(github_delivery(project, "pull_request", &body, "wrong", "f"), ip);

    let first = world.send(forged("p1", "203.0.113.7")).await;
    let second = world.send(forged("p2", "203.0.113.7")).await;
    let third = world.send(forged("p1", "203.0.113.7")).await;
    let same_64 = world.send(forged("p2", "2001:db8:0:1::1")).await;
    let same_64_again = world.send(forged("p2", "2001:db8:0:1::2")).await;
    let same_64_third = world.send(forged("p2", "2001:db8:0:1::3")).await;
    let other_source = world.send(forged("p1", "203.0.113.8")).await;
    let signed = world.send(from_source(signed_pr_opened("d-1"), "203.0.113.7")).await;

    assert_eq!((first.status, second.status), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS, "the source's budget spans instances");
    assert_eq!(
        (same_64.status, same_64_again.status, same_64_third.status),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS),
        "an IPv6 source counts by its /64"
    );
    assert_eq!(other_source.status, StatusCode::UNAUTHORIZED);
    assert_eq!(signed.status, StatusCode::ACCEPTED, "a verified delivery is never refused for its source");
}

#[tokio::test]
async fn handshakes_answered_unsigned_count_as_unverified_requests() {
    let settings = GatewaySettings { unverified_limit: 2, ..GatewaySettings::default() };
    let world = World::with_settings(settings).await;
    let mut slack: Value = serde_json::from_slice(&std::fs::read(descriptor_path("slack")).unwrap()).unwrap();
    slack["id"] = "slack-open-handshake".into();
    slack["ingestion"]["handshakes"][0]["verify"] = false.into();
    let descriptor = switchboard_core::Descriptor::from_value(&slack, "test").unwrap();
    world.stores.descriptors.register_descriptor(descriptor.model(), false).await.unwrap();
    world.add_instance("slack-open-handshake", "p1", &[("signingSecret", SLACK_SECRET)], true).await;
    wait_until_the_minute_has_room(Duration::from_secs(15)).await;
    let handshake = || {
        Request::post("/webhooks/slack-open-handshake/p1")
            .body(Body::from(fixture("slack/url_verification.json")))
            .unwrap()
    };

    let answers = [world.send(handshake()).await.status, world.send(handshake()).await.status];
    let third = world.send(handshake()).await;

    assert_eq!(answers, [StatusCode::OK; 2]);
    assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
}

/// Rate windows are aligned to the minute: start a burst only when `room` is left in this one.
async fn wait_until_the_minute_has_room(room: Duration) {
    let into_minute = Duration::from_millis((chrono::Utc::now().timestamp_millis() % 60_000) as u64);
    if into_minute + room > Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(60) - into_minute + Duration::from_millis(50)).await;
    }
}
