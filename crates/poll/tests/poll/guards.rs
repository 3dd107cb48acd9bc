//! Pagination guards and run limits: nothing loops forever, nothing is skipped.

use std::time::Duration;

use serde_json::json;
use switchboard_core::polling::{Checkpoint, FailureClass, GuardTrip, PageCursor, PollRequest, StopReason};
use switchboard_poll::Credentials;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::*;

fn cursor_descriptor(page_size: u32, extra: serde_json::Value) -> switchboard_core::Descriptor {
    let mut polling = json!({
        "endpoint": "{{baseUrl}}/events",
        "delta": {"type": "cursor", "cursorPath": "$.resume", "cursorParam": "after"},
        "pagination": {"type": "cursor", "nextPath": "$.next", "nextParam": "after", "pageSize": page_size, "pageSizeParam": "limit"}
    });
    for (k, v) in extra.as_object().unwrap() {
        polling[k] = v.clone();
    }
    descriptor(no_auth(), polling, "$.events")
}

#[tokio::test]
async fn a_repeated_page_token_stops_with_a_guard_instead_of_looping() {
    let server = MockServer::start().await;
    Mock::given(path("/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "events": [{"id": 1, "title": "x", "updated_at": "2024-05-01T00:00:00Z"}],
            "next": "same-token"
        })))
        .mount(&server)
        .await;
    let (engine, _) = engine();
    let config = config(&server);
    let descriptor = cursor_descriptor(1, json!({}));
    let credentials = Credentials::new();
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(delta.guard, Some(GuardTrip::RepeatedPageToken { token: "same-token".into() }));
    assert_eq!(delta.stop, StopReason::Guard);
    assert_eq!(delta.pages, 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_link_header_pointing_back_stops_with_a_guard() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(path("/issues"))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": 1, "title": "x", "updated_at": "2024-05-01T00:00:00Z"}]))
                .insert_header("Link", format!(r#"<{uri}/issues?page=2>; rel="next""#))
        })
        .mount(&server)
        .await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/issues",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 1}
        }),
        "$",
    );
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = Credentials::new();
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert!(matches!(delta.guard, Some(GuardTrip::RepeatedUrl { .. })), "{:?}", delta.guard);
    assert_eq!(delta.pages, 2);
}

#[tokio::test]
async fn an_empty_page_that_promises_more_stops_with_a_guard() {
    let server = MockServer::start().await;
    Mock::given(path("/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"events": [], "next": "more"})))
        .mount(&server)
        .await;
    let (engine, _) = engine();
    let config = config(&server);
    let descriptor = cursor_descriptor(5, json!({}));
    let credentials = Credentials::new();
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(delta.guard, Some(GuardTrip::EmptyPage { page: 0 }));
    assert_eq!(delta.pages, 1);
}

#[tokio::test]
async fn a_next_link_to_another_site_is_refused() {
    let server = MockServer::start().await;
    Mock::given(path("/issues"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": 1, "title": "x", "updated_at": "2024-05-01T00:00:00Z"}]))
                .insert_header("Link", r#"<https://evil.example/steal?page=2>; rel="next""#),
        )
        .mount(&server)
        .await;
    let descriptor = descriptor(
        pat_auth(),
        json!({
            "endpoint": "{{baseUrl}}/issues",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 1}
        }),
        "$",
    );
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = [("token", "ghp_secret")].into_iter().collect::<Credentials>();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Config);
    assert!(err.to_string().contains("evil.example"), "{err}");
}

#[tokio::test]
async fn the_page_limit_stops_a_run_and_the_next_run_continues_where_it_stopped() {
    let data = Dataset::with(10);
    let server = MockServer::start().await;
    Mock::given(path("/events")).respond_with(CursorFake(data)).mount(&server).await;
    let (engine, _) = engine();
    let config = config(&server);
    let descriptor = cursor_descriptor(2, json!({}));
    let credentials = Credentials::new();

    let first = fetch_delta(
        &engine,
        &descriptor,
        PollRequest { max_pages: Some(3), ..PollRequest::new(&config, &credentials) },
    )
    .await
    .unwrap();
    assert_eq!(ids(&first.items), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(first.guard, Some(GuardTrip::MaxPages { limit: 3 }));
    let resume = first.new_checkpoint.resume.clone().expect("a resume position");
    assert_eq!(resume.next, PageCursor::Token("e6".into()));
    assert_eq!(first.new_checkpoint.position, None, "the delta position only moves when a run completes");

    let stored = Checkpoint::parse(&first.new_checkpoint.to_string()).unwrap();
    let second = fetch_delta(
        &engine,
        &descriptor,
        PollRequest { checkpoint: Some(stored), ..PollRequest::new(&config, &credentials) },
    )
    .await
    .unwrap();
    assert_eq!(ids(&second.items), vec![7, 8, 9, 10]);
    assert_eq!((second.guard, second.stop), (None, StopReason::Complete));
    assert_eq!(second.new_checkpoint, Checkpoint::at("e10"));
}

#[tokio::test]
async fn a_run_out_of_time_stops_before_the_next_request_and_resumes_without_gaps() {
    let data = Dataset::with(9);
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/issues")).respond_with(GitHubFake(data)).mount(&server).await;
    // 6 requests per minute: one every 10 s on the manual clock.
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/issues",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 3, "pageSizeParam": "per_page"},
            "rateLimitRpm": 6
        }),
        "$",
    );
    let (engine, timer) = engine();
    let config = config(&server);
    let credentials = Credentials::new();
    let budget = PollRequest { time_budget: Some(Duration::from_secs(15)), ..PollRequest::new(&config, &credentials) };

    let mut stream = engine.pages(&descriptor, budget).unwrap();
    let mut seen = Vec::new();
    let mut last = None;
    while let Some(page) = stream.next_page().await.unwrap() {
        seen.extend(ids(&page.items));
        last = Some(page.checkpoint_after);
    }
    let summary = stream.summary();
    assert_eq!(summary.stop, Some(StopReason::TimeBudget));
    assert_eq!(summary.pages, 2);
    assert_eq!(timer.sleeps(), vec![Duration::from_secs(10)], "page 2 waited for the rate limit");
    let checkpoint = last.unwrap();
    assert!(checkpoint.is_resuming());

    let rest = fetch_delta(
        &engine,
        &descriptor,
        PollRequest { checkpoint: Some(checkpoint), ..PollRequest::new(&config, &credentials) },
    )
    .await
    .unwrap();
    seen.extend(ids(&rest.items));
    assert_eq!(seen, (1..=9).collect::<Vec<_>>());
    assert_eq!(rest.new_checkpoint.position.as_deref(), Some("2024-05-01T00:08:00Z"));
}

#[tokio::test]
async fn a_caller_can_stop_after_any_page_and_resume_from_its_checkpoint() {
    let data = Dataset::with(10);
    let server = MockServer::start().await;
    Mock::given(path("/tickets")).respond_with(OffsetFake(data)).mount(&server).await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/tickets",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": {"type": "offset", "nextParam": "offset", "totalPath": "$.result.total", "pageSize": 3, "pageSizeParam": "limit"}
        }),
        "$.result.tickets",
    );
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = Credentials::new();
    let mut seen = Vec::new();
    let mut checkpoint = None;
    // Each "Lambda run" handles exactly one page, then stops.
    for _ in 0..10 {
        let request = PollRequest { checkpoint: checkpoint.clone(), ..PollRequest::new(&config, &credentials) };
        let mut stream = engine.pages(&descriptor, request).unwrap();
        let page = stream.next_page().await.unwrap().unwrap();
        seen.extend(ids(&page.items));
        checkpoint = Some(Checkpoint::parse(&page.checkpoint_after.to_string()).unwrap());
        if page.is_last {
            break;
        }
    }
    assert_eq!(seen, (1..=10).collect::<Vec<_>>());
    assert_eq!(checkpoint, Some(Checkpoint::at("10")));
}
