//! Rate limits and retries, on the manual clock: every wait is recorded, none is slept.

use std::time::Duration;

use serde_json::json;
use switchboard_core::polling::{FailureClass, PollError, PollRequest};
use switchboard_poll::Credentials;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn ok_body() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "title": "x", "updated_at": "2024-05-01T00:00:00Z"}]))
}

fn simple_descriptor(rpm: u32) -> switchboard_core::Descriptor {
    descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/items",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "rateLimitRpm": rpm
        }),
        "$",
    )
}

/// Mounts `first` for the first `times` requests, then a normal answer.
async fn server_failing(first: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/items")).respond_with(first).up_to_n_times(times).with_priority(1).mount(&server).await;
    Mock::given(path("/items")).respond_with(ok_body()).with_priority(2).mount(&server).await;
    server
}

async fn run(
    server: &MockServer,
    timer_engine: &(switchboard_poll::PollEngine, switchboard_poll::ManualTimer),
) -> Result<crate::support::Delta, PollError> {
    let descriptor = simple_descriptor(600_000);
    let config = config(server);
    let credentials = Credentials::new();
    fetch_delta(&timer_engine.0, &descriptor, PollRequest::new(&config, &credentials)).await
}

#[tokio::test]
async fn a_429_with_retry_after_2_delays_the_retry_by_2_seconds() {
    let server = server_failing(ResponseTemplate::new(429).insert_header("Retry-After", "2"), 1).await;
    let engine = engine();
    let delta = run(&server, &engine).await.unwrap();
    assert_eq!(ids(&delta.items), vec![1]);
    assert_eq!(engine.1.sleeps(), vec![Duration::from_secs(2)]);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_waits_until_that_date() {
    // The manual clock's wall time starts at 2024-05-01T00:00:00Z.
    let server =
        server_failing(ResponseTemplate::new(503).insert_header("Retry-After", "Wed, 01 May 2024 00:00:30 GMT"), 1)
            .await;
    let engine = engine();
    run(&server, &engine).await.unwrap();
    assert_eq!(engine.1.sleeps(), vec![Duration::from_secs(30)]);
}

#[tokio::test]
async fn a_github_style_rate_limit_403_waits_for_the_reset_time() {
    let reset = (t0().timestamp() + 42).to_string();
    let limited = ResponseTemplate::new(403)
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", reset.as_str());
    let server = server_failing(limited, 1).await;
    let engine = engine();
    run(&server, &engine).await.unwrap();
    assert_eq!(engine.1.sleeps(), vec![Duration::from_secs(42)]);
}

#[tokio::test]
async fn a_wait_longer_than_allowed_ends_the_run_as_rate_limited_with_the_wait() {
    let server = server_failing(ResponseTemplate::new(429).insert_header("Retry-After", "3600"), 1).await;
    let engine = engine();
    let err = run(&server, &engine).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::RateLimited);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(engine.1.sleeps().is_empty());
}

#[tokio::test]
async fn server_errors_are_retried_with_growing_jittered_backoff() {
    let server = server_failing(ResponseTemplate::new(502), 2).await;
    let engine = engine();
    let delta = run(&server, &engine).await.unwrap();
    assert_eq!(ids(&delta.items), vec![1]);
    let sleeps = engine.1.sleeps();
    assert_eq!(sleeps.len(), 2);
    assert!(sleeps[0] >= Duration::from_millis(250) && sleeps[0] <= Duration::from_millis(500), "{sleeps:?}");
    assert!(sleeps[1] >= Duration::from_millis(500) && sleeps[1] <= Duration::from_millis(1000), "{sleeps:?}");
}

#[tokio::test]
async fn server_errors_give_up_after_the_attempt_limit_as_transient() {
    let server = server_failing(ResponseTemplate::new(500), 100).await;
    let engine = engine();
    let err = run(&server, &engine).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Transient);
    assert!(matches!(err, PollError::Server { status: 500, attempts: 4, .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn rate_limit_rpm_spaces_requests_evenly() {
    let data = Dataset::with(3);
    let server = MockServer::start().await;
    Mock::given(path("/items")).respond_with(GitHubFake(data)).mount(&server).await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/items",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 1, "pageSizeParam": "per_page"},
            "rateLimitRpm": 60
        }),
        "$",
    );
    let (engine, timer) = engine();
    let config = config(&server);
    let credentials = Credentials::new();
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(delta.pages, 3);
    assert_eq!(timer.sleeps(), vec![Duration::from_secs(1), Duration::from_secs(1)]);
}
