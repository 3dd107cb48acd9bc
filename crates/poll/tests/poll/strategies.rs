//! Every pagination kind and delta strategy against a multi-page fake: each item exactly once,
//! the right checkpoint, and a second poll from that checkpoint returns only newer items.

use crate::support::Delta;
use serde_json::json;
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, PollRequest, StopReason};
use switchboard_poll::{Credentials, PollEngine};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond};

use crate::support::*;

async fn serve(responder: impl Respond + 'static, at: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path(at)).respond_with(responder).mount(&server).await;
    server
}

async fn poll(
    engine: &PollEngine,
    descriptor: &Descriptor,
    server: &MockServer,
    checkpoint: Option<&Checkpoint>,
) -> Delta {
    let config = config(server);
    let credentials = [("token", "ghp_test_token")].into_iter().collect::<Credentials>();
    // Round-trip through the stored string form, as the poller does.
    let stored = checkpoint.map(|c| Checkpoint::parse(&c.to_string()).unwrap());
    let request = PollRequest { checkpoint: stored, ..PollRequest::new(&config, &credentials) };
    fetch_delta(engine, descriptor, request).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn github_link_headers_with_since_deliver_each_issue_once_then_only_newer_ones() {
    let data = Dataset::with(12);
    let server = serve(GitHubFake(data.clone()), "/repos/octo/hello/issues").await;
    let descriptor = descriptor(
        pat_auth(),
        json!({
            "endpoint": "{{baseUrl}}/repos/octo/hello/issues?state=all&sort=updated&direction=asc",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "pagination": {"type": "link_header", "pageSize": 5, "pageSizeParam": "per_page"}
        }),
        "$",
    );
    let (engine, _) = engine();

    let first = poll(&engine, &descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=12).collect::<Vec<_>>());
    assert_eq!((first.pages, first.stop, first.guard.clone()), (3, StopReason::Complete, None));
    assert_eq!(first.new_checkpoint.position.as_deref(), Some("2024-05-01T00:11:00Z"));
    assert_eq!(first.new_checkpoint.resume, None);

    data.add(3);
    let second = poll(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![13, 14, 15], "GitHub's `since` is inclusive: item 12 must not come back");
    assert_eq!(second.new_checkpoint.position.as_deref(), Some("2024-05-01T00:14:00Z"));

    let third = poll(&engine, &descriptor, &server, Some(&second.new_checkpoint)).await;
    assert!(third.items.is_empty());
    assert_eq!(third.new_checkpoint.position, second.new_checkpoint.position, "an empty run keeps the position");
}

#[tokio::test]
async fn timestamp_lookback_asks_for_earlier_items_again() {
    let data = Dataset::with(5);
    let server = serve(GitHubFake(data.clone()), "/issues").await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/issues",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601", "lookbackSeconds": 120},
        }),
        "$",
    );
    let (engine, _) = engine();
    let first = poll(&engine, &descriptor, &server, None).await;
    assert_eq!(first.new_checkpoint.position.as_deref(), Some("2024-05-01T00:04:00Z"));
    let second = poll(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await;
    // since = 00:04 - 2 min: items at 00:02 and 00:03 again (the normaliser deduplicates them),
    // item 5 at exactly the checkpoint is dropped.
    assert_eq!(ids(&second.items), vec![3, 4]);
    assert_eq!(second.new_checkpoint.position, first.new_checkpoint.position);
}

#[tokio::test]
async fn cursor_pages_with_a_cursor_delta_resume_after_the_last_event() {
    let data = Dataset::with(10);
    let server = serve(CursorFake(data.clone()), "/events").await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/events",
            "delta": {"type": "cursor", "cursorPath": "$.resume", "cursorParam": "after"},
            "pagination": {"type": "cursor", "nextPath": "$.next", "nextParam": "after", "pageSize": 4, "pageSizeParam": "limit"}
        }),
        "$.events",
    );
    let (engine, _) = engine();

    let first = poll(&engine, &descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=10).collect::<Vec<_>>());
    assert_eq!(first.pages, 3);
    assert_eq!(first.new_checkpoint, Checkpoint::at("e10"));

    data.add(3);
    let second = poll(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![11, 12, 13]);
    assert_eq!(second.new_checkpoint, Checkpoint::at("e13"));
}

#[tokio::test]
async fn offset_pages_with_totals_and_since_id_deliver_each_ticket_once_then_only_newer_ones() {
    let data = Dataset::with(12);
    let server = serve(OffsetFake(data.clone()), "/tickets").await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/tickets",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": {"type": "offset", "nextParam": "offset", "totalPath": "$.result.total", "pageSize": 5, "pageSizeParam": "limit"}
        }),
        "$.result.tickets",
    );
    let (engine, _) = engine();

    let first = poll(&engine, &descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=12).collect::<Vec<_>>());
    assert_eq!(first.pages, 3);
    assert_eq!(first.new_checkpoint, Checkpoint::at("12"));

    data.add(4);
    let second = poll(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![13, 14, 15, 16]);
    assert_eq!(second.new_checkpoint, Checkpoint::at("16"));
}

#[tokio::test]
async fn offset_pages_without_totals_end_on_a_short_page() {
    let data = Dataset::with(10);
    let server = serve(OffsetFake(data), "/tickets").await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/tickets",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": {"type": "offset", "nextParam": "offset", "pageSize": 4, "pageSizeParam": "limit"}
        }),
        "$.result.tickets",
    );
    let (engine, _) = engine();
    let delta = poll(&engine, &descriptor, &server, None).await;
    assert_eq!(ids(&delta.items), (1..=10).collect::<Vec<_>>());
    assert_eq!(delta.pages, 3);
}

#[tokio::test]
async fn graph_delta_links_page_by_next_link_and_resume_from_the_delta_link() {
    let data = Dataset::with(10);
    let server = serve(GraphFake(data.clone()), "/v1.0/users/delta").await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/v1.0/users/delta",
            "delta": {"type": "delta_token", "tokenPath": "$['@odata.deltaLink']", "tokenParam": "$deltatoken"},
            "pagination": {"type": "cursor", "nextPath": "$['@odata.nextLink']", "nextParam": "$skiptoken", "pageSize": 4}
        }),
        "$.value",
    );
    let (engine, _) = engine();

    let first = poll(&engine, &descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=10).collect::<Vec<_>>());
    assert_eq!(first.pages, 3);
    let link = format!("{}/v1.0/users/delta?$deltatoken=10", server.uri());
    assert_eq!(first.new_checkpoint, Checkpoint::at(link));

    data.add(2);
    let second = poll(&engine, &descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![11, 12]);
    assert_eq!(second.new_checkpoint, Checkpoint::at(format!("{}/v1.0/users/delta?$deltatoken=12", server.uri())));
}

#[tokio::test]
async fn a_delta_token_that_is_not_a_url_goes_in_the_token_param() {
    let data = Dataset::with(6);
    let server = serve(GraphFake(data.clone()), "/delta").await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/delta",
            // The token is the `$deltatoken` value itself (a JSONPath cannot split a URL, but an API
            // may hand out bare tokens): here we read it from a fake field.
            "delta": {"type": "delta_token", "tokenPath": "$.token", "tokenParam": "$deltatoken"},
        }),
        "$.value",
    );
    let (engine, _) = engine();
    let from = Checkpoint::at("4");
    let delta = poll(&engine, &descriptor, &server, Some(&from)).await;
    assert_eq!(ids(&delta.items), vec![5, 6]);
    assert_eq!(delta.new_checkpoint, from, "no token in the answer keeps the old one");
}
