//! The pagination kinds and stop rules of descriptor language v2, each against a fake that
//! answers in its API's documented shape: every item exactly once, the right checkpoint, a
//! second poll that returns only newer items, and every way paging can go wrong stopping with a
//! reported guard instead of a loop.
//!
//! - `page_number` (ClickUp-style `page`, a short page ends it; or a `total_pages` count),
//! - `next_url` (a relative next link in the body),
//! - Jira's PageBean (`startAt`, `isLast`: no extra empty request),
//! - Jira `/search/jql` (POST, `nextPageToken` in the body both ways),
//! - GraphQL (`pageInfo { hasNextPage endCursor }`, page size and cursor as variables),
//! - a cursor read from a response header and sent back in a request header.

use serde_json::{Value, json};
use switchboard_core::Descriptor;
use switchboard_core::polling::{Checkpoint, FailureClass, GuardTrip, PageCursor, PollError, PollRequest, StopReason};
use switchboard_poll::Credentials;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

async fn serve(verb: &str, at: &str, responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(verb)).and(path(at)).respond_with(responder).mount(&server).await;
    server
}

async fn poll_from(descriptor: &Descriptor, server: &MockServer, checkpoint: Option<&Checkpoint>) -> Delta {
    let (engine, _) = engine();
    let config = config(server);
    let credentials = Credentials::new();
    let stored = checkpoint.map(|c| Checkpoint::parse(&c.to_string()).unwrap());
    let request = PollRequest { checkpoint: stored, ..PollRequest::new(&config, &credentials) };
    fetch_delta(&engine, descriptor, request).await.unwrap_or_else(|e| panic!("{e}"))
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn item_json(item: &Item) -> Value {
    json!({"id": item.id, "title": format!("Item {}", item.id), "updated_at": item.updated.to_rfc3339()})
}

fn since_id(request: &Request) -> u64 {
    param(request, "since_id").map_or(0, |s| s.parse().unwrap())
}

/// ClickUp-style page numbers: `page` (0-based here, as ClickUp's), `since_id`, a fixed page
/// size of 4, and the page count in `total_pages`.
struct PageNumberFake(Dataset);

impl Respond for PageNumberFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        const SIZE: usize = 4;
        let page: usize = param(request, "page").map_or(0, |p| p.parse().unwrap());
        let newer: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > since_id(request)).collect();
        let items: Vec<Value> = newer.iter().skip(page * SIZE).take(SIZE).map(item_json).collect();
        ResponseTemplate::new(200).set_body_json(json!({"tasks": items, "total_pages": newer.len().div_ceil(SIZE)}))
    }
}

fn page_number_descriptor(extra: Value) -> Descriptor {
    let mut pagination = json!({"type": "page_number", "startPage": 0, "nextParam": "page", "pageSize": 4});
    for (k, v) in extra.as_object().unwrap() {
        pagination[k] = v.clone();
    }
    descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/tasks",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": pagination
        }),
        "$.tasks",
    )
}

#[tokio::test]
async fn page_numbers_count_up_from_the_start_page_and_a_short_page_ends_them() {
    let data = Dataset::with(10);
    let server = serve("GET", "/tasks", PageNumberFake(data.clone())).await;
    let descriptor = page_number_descriptor(json!({}));

    let first = poll_from(&descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=10).collect::<Vec<_>>());
    assert_eq!((first.pages, first.stop, first.guard.clone()), (3, StopReason::Complete, None));
    let pages: Vec<Option<String>> = requests(&server).await.iter().map(|r| param(r, "page")).collect();
    assert_eq!(pages, [Some("0".into()), Some("1".into()), Some("2".into())], "the first page is asked for by number");
    assert_eq!(first.new_checkpoint, Checkpoint::at("10"));

    data.add(3);
    let second = poll_from(&descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![11, 12, 13]);
    assert_eq!(second.new_checkpoint, Checkpoint::at("13"));
}

#[tokio::test]
async fn a_total_pages_count_stops_paging_without_an_empty_request() {
    let data = Dataset::with(8);
    let server = serve("GET", "/tasks", PageNumberFake(data.clone())).await;
    let descriptor = page_number_descriptor(json!({"totalPagesPath": "$.total_pages"}));
    let first = poll_from(&descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=8).collect::<Vec<_>>());
    assert_eq!(requests(&server).await.len(), 2, "two full pages of two: no third request");

    // Without the count, a full last page needs one more (empty) request to be sure.
    let plain = page_number_descriptor(json!({}));
    let again = poll_from(&plain, &server, None).await;
    assert_eq!((ids(&again.items).len(), again.pages, again.guard), (8, 3, None));

    data.add(1);
    let second = poll_from(&descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![9]);
}

#[tokio::test]
async fn page_numbers_stop_at_the_page_limit_and_the_next_run_continues_there() {
    let data = Dataset::with(10);
    let server = serve("GET", "/tasks", PageNumberFake(data)).await;
    let descriptor = page_number_descriptor(json!({"maxPages": 2}));
    let first = poll_from(&descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=8).collect::<Vec<_>>());
    assert_eq!((first.stop, first.guard.clone()), (StopReason::Guard, Some(GuardTrip::MaxPages { limit: 2 })));
    assert_eq!(first.new_checkpoint.resume.as_ref().map(|r| r.next.clone()), Some(PageCursor::Page(2)));
    let second = poll_from(&descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![9, 10]);
    assert_eq!(second.new_checkpoint, Checkpoint::at("10"));
}

#[tokio::test]
async fn an_empty_page_while_more_are_announced_stops_with_a_guard() {
    let server = serve(
        "GET",
        "/tasks",
        ResponseTemplate::new(200).set_body_json(json!({"tasks": [], "total_pages": 50, "has_more": true})),
    )
    .await;
    for extra in [json!({"totalPagesPath": "$.total_pages"}), json!({"hasMorePath": "$.has_more"})] {
        let delta = poll_from(&page_number_descriptor(extra), &server, None).await;
        assert_eq!((delta.guard, delta.stop), (Some(GuardTrip::EmptyPage { page: 0 }), StopReason::Guard));
    }
}

/// Items with a relative `links.next` in the body (JSON:API style), 4 per page.
struct NextUrlFake(Dataset);

impl Respond for NextUrlFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let after: usize = param(request, "cursor").map_or(0, |c| c.parse().unwrap());
        let since = since_id(request);
        let newer: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > since).collect();
        let items: Vec<Value> = newer.iter().skip(after).take(4).map(item_json).collect();
        let next = (after + 4 < newer.len()).then(|| format!("/v2/items?since_id={since}&cursor={}", after + 4));
        ResponseTemplate::new(200).set_body_json(json!({"data": items, "links": {"next": next}}))
    }
}

#[tokio::test]
async fn next_urls_in_the_body_are_followed_relative_to_the_page() {
    let data = Dataset::with(10);
    let server = serve("GET", "/v2/items", NextUrlFake(data.clone())).await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/v2/items",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": {"type": "next_url", "nextUrlPath": "$.links.next", "pageSize": 4}
        }),
        "$.data",
    );
    let first = poll_from(&descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=10).collect::<Vec<_>>());
    assert_eq!((first.pages, first.guard.clone()), (3, None));
    assert_eq!(first.new_checkpoint, Checkpoint::at("10"));

    data.add(2);
    let second = poll_from(&descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![11, 12]);
}

#[tokio::test]
async fn a_next_url_pointing_back_stops_with_a_guard() {
    let item = json!({"id": 1, "title": "x", "updated_at": "2024-05-01T00:00:00Z"});
    let server = serve(
        "GET",
        "/v2/items",
        ResponseTemplate::new(200).set_body_json(json!({"data": [item], "links": {"next": "/v2/items?cursor=same"}})),
    )
    .await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/v2/items",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": {"type": "next_url", "nextUrlPath": "$.links.next", "pageSize": 1}
        }),
        "$.data",
    );
    let delta = poll_from(&descriptor, &server, None).await;
    assert!(
        matches!(&delta.guard, Some(GuardTrip::RepeatedUrl { url }) if url.ends_with("/v2/items")),
        "{:?}",
        delta.guard
    );
    assert_eq!((delta.pages, delta.stop), (2, StopReason::Guard));
}

/// Jira's PageBean (`GET /rest/api/3/project/search`): `startAt`, `maxResults`, `isLast`,
/// `values`; `since_id` stands in for a filter.
struct PageBeanFake(Dataset);

impl Respond for PageBeanFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let start: usize = param(request, "startAt").map_or(0, |s| s.parse().unwrap());
        let max: usize = param(request, "maxResults").map_or(50, |m| m.parse().unwrap());
        let newer: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > since_id(request)).collect();
        let values: Vec<Value> = newer.iter().skip(start).take(max).map(item_json).collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "self": "https://your-domain.atlassian.net/rest/api/3/project/search",
            "startAt": start, "maxResults": max, "isLast": start + max >= newer.len(), "values": values
        }))
    }
}

fn page_bean_descriptor(is_last: bool) -> Descriptor {
    let mut pagination =
        json!({"type": "offset", "nextParam": "startAt", "pageSize": 4, "pageSizeParam": "maxResults"});
    if is_last {
        pagination["isLastPath"] = json!("$.isLast");
    }
    descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/rest/api/3/project/search",
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": pagination
        }),
        "$.values",
    )
}

#[tokio::test]
async fn jira_is_last_ends_paging_without_an_extra_empty_request() {
    let data = Dataset::with(8);
    let server = serve("GET", "/rest/api/3/project/search", PageBeanFake(data.clone())).await;
    let first = poll_from(&page_bean_descriptor(true), &server, None).await;
    assert_eq!(ids(&first.items), (1..=8).collect::<Vec<_>>());
    let starts: Vec<Option<String>> = requests(&server).await.iter().map(|r| param(r, "startAt")).collect();
    assert_eq!(starts, [None, Some("4".into())], "isLast on the second full page: no third request");
    assert_eq!(first.new_checkpoint, Checkpoint::at("8"));

    server.reset().await;
    Mock::given(path("/rest/api/3/project/search")).respond_with(PageBeanFake(data.clone())).mount(&server).await;
    let without = poll_from(&page_bean_descriptor(false), &server, None).await;
    assert_eq!(
        (without.items.len(), requests(&server).await.len()),
        (8, 3),
        "without isLastPath: one empty request more"
    );

    data.add(2);
    let second = poll_from(&page_bean_descriptor(true), &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![9, 10]);
}

/// Jira Cloud `POST /rest/api/3/search/jql`: the JQL, `maxResults` and `nextPageToken` in the
/// JSON body; answers `issues`, `nextPageToken` (absent on the last page) and `isLast`.
/// `updated >= "yyyy-MM-dd HH:mm"` filters (inclusive, by the minute).
struct JiraSearchFake(Dataset);

impl Respond for JiraSearchFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let jql = body["jql"].as_str().unwrap();
        let since = jql.split("updated >= \"").nth(1).map(|rest| {
            let text = &rest[..16];
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap().and_utc()
        });
        let max = body["maxResults"].as_u64().unwrap() as usize;
        let skip: usize =
            body.get("nextPageToken").map_or(0, |t| t.as_str().unwrap().trim_start_matches("tok-").parse().unwrap());
        let matching: Vec<Item> = self.0.all().into_iter().filter(|i| since.is_none_or(|s| i.updated >= s)).collect();
        let issues: Vec<Value> = matching.iter().skip(skip).take(max).map(item_json).collect();
        let last = skip + max >= matching.len();
        let mut answer = json!({"issues": issues, "isLast": last});
        if !last {
            answer["nextPageToken"] = json!(format!("tok-{}", skip + max));
        }
        ResponseTemplate::new(200).set_body_json(answer)
    }
}

#[tokio::test]
async fn jira_search_jql_pages_by_next_page_token_in_the_post_body() {
    let data = Dataset::with(10);
    let server = serve("POST", "/rest/api/3/search/jql", JiraSearchFake(data.clone())).await;
    let descriptor = descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/rest/api/3/search/jql",
            "method": "POST",
            "body": r#"{"jql": "project = OPS AND updated >= \"{{checkpoint}}\" ORDER BY updated ASC", "maxResults": {{pageSize}}, "nextPageToken": "{{pageToken}}", "fields": ["summary", "updated"]}"#,
            "delta": {"type": "timestamp_filter", "queryParam": "", "format": "yyyy-MM-dd HH:mm"},
            "pagination": {"type": "cursor", "nextPath": "$.nextPageToken", "isLastPath": "$.isLast", "pageSize": 4}
        }),
        "$.issues",
    );
    let first = poll_from(&descriptor, &server, None).await;
    assert_eq!(ids(&first.items), (1..=10).collect::<Vec<_>>());
    let bodies: Vec<Value> = requests(&server).await.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[0].get("nextPageToken"), None, "no empty token on the first page");
    assert_eq!(
        (bodies[1]["nextPageToken"].as_str(), bodies[2]["nextPageToken"].as_str()),
        (Some("tok-4"), Some("tok-8"))
    );
    assert_eq!(bodies[0]["maxResults"], 4);
    assert_eq!(first.new_checkpoint.position.as_deref(), Some("2024-05-01T00:09:00Z"));

    data.add(2);
    let second = poll_from(&descriptor, &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![11, 12], "the item at the checkpoint comes back and is dropped");
}

/// A GraphQL connection: `POST /graphql` with `first`, `after` and `since` variables; answers
/// `pageInfo { hasNextPage endCursor }` with an end cursor on every page, the last included.
struct GraphQlFake(Dataset);

impl Respond for GraphQlFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let vars = &body["variables"];
        let first = vars["first"].as_u64().unwrap() as usize;
        let after: usize =
            vars.get("after").map_or(0, |a| a.as_str().unwrap().trim_start_matches('c').parse().unwrap());
        let since = vars
            .get("since")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc));
        let matching: Vec<Item> = self.0.all().into_iter().filter(|i| since.is_none_or(|s| i.updated > s)).collect();
        let nodes: Vec<Value> = matching.iter().skip(after).take(first).map(item_json).collect();
        let end = after + nodes.len();
        ResponseTemplate::new(200).set_body_json(json!({"data": {"issues": {
            "nodes": nodes,
            "pageInfo": {"hasNextPage": end < matching.len(), "endCursor": format!("c{end}")}
        }}}))
    }
}

fn graphql_descriptor(has_more: bool) -> Descriptor {
    let mut pagination = json!({"type": "cursor", "nextPath": "$.data.issues.pageInfo.endCursor", "pageSize": 4});
    if has_more {
        pagination["hasMorePath"] = json!("$.data.issues.pageInfo.hasNextPage");
    }
    descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/graphql",
            "method": "POST",
            "body": r#"{"query": "query($first: Int!, $after: String, $since: DateTime) { issues(first: $first, after: $after, updatedAfter: $since) { nodes { id title updated_at } pageInfo { hasNextPage endCursor } } }", "variables": {"first": {{pageSize}}, "after": "{{pageToken}}", "since": "{{checkpoint}}"}}"#,
            "delta": {"type": "timestamp_filter", "queryParam": "", "format": "iso8601"},
            "pagination": pagination
        }),
        "$.data.issues.nodes",
    )
}

#[tokio::test]
async fn graphql_page_info_pages_by_end_cursor_until_has_next_page_is_false() {
    let data = Dataset::with(10);
    let server = serve("POST", "/graphql", GraphQlFake(data.clone())).await;
    let first = poll_from(&graphql_descriptor(true), &server, None).await;
    assert_eq!(ids(&first.items), (1..=10).collect::<Vec<_>>());
    let bodies: Vec<Value> = requests(&server).await.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(bodies.len(), 3, "hasNextPage false on the third page ends paging though it has an end cursor");
    assert_eq!(
        bodies[0]["variables"],
        json!({"first": 4, "since": "1970-01-01T00:00:00Z"}),
        "no empty cursor on the first request; a position the template needs starts at the epoch"
    );
    assert_eq!(bodies[1]["variables"]["after"], "c4");
    assert_eq!((first.guard.clone(), first.new_checkpoint.position.as_deref()), (None, Some("2024-05-01T00:09:00Z")));

    data.add(3);
    let second = poll_from(&graphql_descriptor(true), &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![11, 12, 13]);
    let last = requests(&server).await.pop().unwrap();
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(body["variables"]["since"], "2024-05-01T00:09:00Z");

    // Without hasMorePath the end cursor of the last page asks for an empty page, reported.
    let blind = poll_from(&graphql_descriptor(false), &server, None).await;
    assert_eq!(blind.items.len(), 13);
    assert_eq!(blind.guard, Some(GuardTrip::EmptyPage { page: 4 }));
}

/// A feed whose cursor travels in headers both ways: `X-Cursor` in, `X-Next-Cursor` out.
struct HeaderCursorFake(Dataset);

impl Respond for HeaderCursorFake {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let after: usize = request.headers.get("x-cursor").map_or(0, |c| c.to_str().unwrap().parse().unwrap());
        let newer: Vec<Item> = self.0.all().into_iter().filter(|i| i.id > since_id(request)).collect();
        let items: Vec<Value> = newer.iter().skip(after).take(4).map(item_json).collect();
        let mut answer = ResponseTemplate::new(200).set_body_json(items);
        if after + 4 < newer.len() {
            answer = answer.insert_header("X-Next-Cursor", (after + 4).to_string());
        }
        answer
    }
}

fn header_cursor_descriptor() -> Descriptor {
    descriptor(
        no_auth(),
        json!({
            "endpoint": "{{baseUrl}}/feed",
            "headers": {"X-Cursor": "{{pageToken}}"},
            "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since_id"},
            "pagination": {"type": "cursor", "nextHeader": "X-Next-Cursor", "pageSize": 4}
        }),
        "$",
    )
}

#[tokio::test]
async fn a_cursor_in_a_response_header_goes_back_in_a_request_header() {
    let data = Dataset::with(9);
    let server = serve("GET", "/feed", HeaderCursorFake(data.clone())).await;
    let first = poll_from(&header_cursor_descriptor(), &server, None).await;
    assert_eq!(ids(&first.items), (1..=9).collect::<Vec<_>>());
    let sent: Vec<Option<String>> = requests(&server)
        .await
        .iter()
        .map(|r| r.headers.get("x-cursor").map(|v| v.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(sent, [None, Some("4".into()), Some("8".into())], "no empty cursor header on the first page");
    assert_eq!(first.new_checkpoint, Checkpoint::at("9"));

    data.add(1);
    let second = poll_from(&header_cursor_descriptor(), &server, Some(&first.new_checkpoint)).await;
    assert_eq!(ids(&second.items), vec![10]);
}

#[tokio::test]
async fn a_repeated_header_cursor_stops_with_a_guard() {
    let item = json!([{"id": 1, "title": "x", "updated_at": "2024-05-01T00:00:00Z"}]);
    let server =
        serve("GET", "/feed", ResponseTemplate::new(200).set_body_json(item).insert_header("X-Next-Cursor", "again"))
            .await;
    let delta = poll_from(&header_cursor_descriptor(), &server, None).await;
    assert_eq!(delta.guard, Some(GuardTrip::RepeatedPageToken { token: "again".into() }));
    assert_eq!((delta.pages, delta.stop), (2, StopReason::Guard));
}

#[tokio::test]
async fn post_pages_pass_the_same_guards_as_get_pages() {
    // A redirect of a POST to an internal address is refused before anything is sent there.
    let server = MockServer::start().await;
    Mock::given(path("/graphql"))
        .respond_with(ResponseTemplate::new(307).insert_header("Location", "http://169.254.169.254/graphql"))
        .mount(&server)
        .await;
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = Credentials::new();
    let err =
        fetch_delta(&engine, &graphql_descriptor(true), PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(err.to_string().contains("169.254.169.254"), "{err}");
    assert_eq!(err.class(), FailureClass::Config);

    // An oversized answer to a POST is refused as too large.
    let (small, _) = engine_with(|o| o.max_response_bytes = 1024);
    let big =
        serve("POST", "/graphql", ResponseTemplate::new(200).set_body_string(format!("[\"{}\"]", "x".repeat(4096))))
            .await;
    let config = crate::support::config(&big);
    let err =
        fetch_delta(&small, &graphql_descriptor(true), PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(matches!(err, PollError::TooLarge { limit: 1024, .. }), "{err:?}");

    // Too many items on a POST page fail naming the cap.
    let (capped, _) = engine_with(|o| o.max_items_per_page = 3);
    let data = Dataset::with(8);
    let many = serve("POST", "/graphql", GraphQlFake(data)).await;
    let config = crate::support::config(&many);
    let err =
        fetch_delta(&capped, &graphql_descriptor(true), PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(err.to_string().contains("at most 3 items"), "{err}");
}
