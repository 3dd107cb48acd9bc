//! The body size limit and the per-instance rate limit.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

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
    assert_eq!(world.secrets_read(), 101, "the refused delivery must not read secrets");
    assert_eq!(other_instance.status, StatusCode::ACCEPTED, "the limit is per instance");
    assert_eq!(world.ingested().await.len(), 101);
}

/// Rate windows are aligned to the minute: start a burst only when `room` is left in this one.
async fn wait_until_the_minute_has_room(room: Duration) {
    let into_minute = Duration::from_millis((chrono::Utc::now().timestamp_millis() % 60_000) as u64);
    if into_minute + room > Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_secs(60) - into_minute + Duration::from_millis(50)).await;
    }
}
