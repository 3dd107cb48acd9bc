//! The egress guard: requests made for a tenant never reach loopback, link-local, private or
//! mapped addresses unless an operator allowed them, and a refusal is a configuration error
//! naming the host that reaches no server at all. Redirects are followed by hand: each hop is
//! checked, and a hop to another origin carries no credential.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeDelta;
use serde_json::json;
use switchboard_core::polling::{FailureClass, PollError, PollRequest};
use switchboard_poll::{Credentials, EgressAllow, EgressDenied, PollEngine, PollOptions};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// An engine whose guard has exactly `allow`'s exceptions.
fn guarded(allow: &str) -> PollEngine {
    let (engine, _) = engine_with(|options| options.egress = EgressAllow::parse(allow).unwrap());
    engine
}

/// A fake API that answers every request with an empty page and counts what reaches it.
async fn fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/items")).respond_with(ResponseTemplate::new(200).set_body_json(json!([]))).mount(&server).await;
    Mock::given(path("/health")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    server
}

async fn hits(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

fn port(server: &MockServer) -> u16 {
    server.address().port()
}

fn items_descriptor() -> switchboard_core::Descriptor {
    descriptor(
        pat_auth(),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$",
    )
}

fn token() -> Credentials {
    [("token", "ghp_egress_secret")].into_iter().collect()
}

async fn poll(engine: &PollEngine, base_url: &str) -> Result<Delta, PollError> {
    let config = BTreeMap::from([("baseUrl".to_owned(), base_url.to_owned())]);
    fetch_delta(engine, &items_descriptor(), PollRequest::new(&config, &token())).await
}

fn assert_denied(err: &PollError, host: &str) {
    let text = err.to_string();
    assert!(matches!(err, PollError::Config(_)), "{err:?}");
    assert_eq!(err.class(), FailureClass::Config, "a refusal is not retried");
    assert!(text.starts_with("egress_denied: "), "{text}");
    assert!(text.contains(host), "{text} does not name {host}");
    assert!(!text.to_lowercase().contains("connection"), "a network detail leaked: {text}");
}

#[tokio::test]
async fn internal_base_urls_are_refused_without_reaching_anything() {
    let server = fake().await;
    let p = port(&server);
    let engine = guarded("");
    for (base_url, host) in [
        (format!("http://127.0.0.1:{p}"), "127.0.0.1".to_owned()),
        (format!("http://localhost:{p}"), "localhost".to_owned()),
        (format!("http://[::ffff:127.0.0.1]:{p}"), "[::ffff:127.0.0.1]".to_owned()),
        ("http://169.254.169.254".to_owned(), "169.254.169.254".to_owned()),
        ("http://[fe80::1]".to_owned(), "[fe80::1]".to_owned()),
        ("http://10.0.0.1:8080".to_owned(), "10.0.0.1".to_owned()),
    ] {
        let err = poll(&engine, &base_url).await.expect_err(&base_url);
        assert_denied(&err, &host);
    }
    assert_eq!(hits(&server).await, 0, "the fake was contacted");
}

#[tokio::test]
async fn an_allowance_that_covers_the_fake_lets_each_form_through() {
    let server = fake().await;
    let p = port(&server);
    for (allow, base_url) in [
        (format!("127.0.0.1:{p}"), format!("http://127.0.0.1:{p}")),
        ("127.0.0.0/8".to_owned(), format!("http://127.0.0.1:{p}")),
        (format!("127.0.0.1:{p}"), format!("http://[::ffff:127.0.0.1]:{p}")),
        (format!("localhost:{p}"), format!("http://localhost:{p}")),
        ("localhost".to_owned(), format!("http://localhost:{p}")),
    ] {
        poll(&guarded(&allow), &base_url).await.unwrap_or_else(|e| panic!("{allow} / {base_url}: {e}"));
    }
    assert_eq!(hits(&server).await, 5);
}

#[tokio::test]
async fn an_allowance_opens_only_what_it_names() {
    let server = fake().await;
    let p = port(&server);
    let other = p.wrapping_add(1);
    let err = poll(&guarded(&format!("127.0.0.1:{other}")), &format!("http://127.0.0.1:{p}")).await.unwrap_err();
    assert_denied(&err, "127.0.0.1");
    let err = poll(&guarded(&format!("localhost:{other}")), &format!("http://localhost:{p}")).await.unwrap_err();
    assert_denied(&err, "localhost");
    let err = poll(&guarded("example.com"), &format!("http://localhost:{p}")).await.unwrap_err();
    assert_denied(&err, "localhost");
    assert_eq!(hits(&server).await, 0);
}

#[tokio::test]
async fn a_health_check_of_an_internal_address_is_a_config_error_naming_the_host() {
    let server = fake().await;
    let config = BTreeMap::from([("baseUrl".to_owned(), format!("http://localhost:{}", port(&server)))]);
    let report = guarded("").check(&items_descriptor(), &config, &token()).await;
    assert!(!report.healthy);
    assert_eq!((report.status, report.class), (None, Some(FailureClass::Config)));
    let reason = report.reason.unwrap_or_default();
    assert!(reason.starts_with("egress_denied: localhost "), "{reason}");
    assert_eq!(hits(&server).await, 0);

    let allowed = guarded(&format!("localhost:{}", port(&server))).check(&items_descriptor(), &config, &token()).await;
    assert!(allowed.healthy, "{allowed:?}");
}

#[tokio::test]
async fn a_lazy_engine_builds_its_guarded_client_on_the_first_request_only() {
    let server = fake().await;
    let p = port(&server);
    let lazy = |allow: &str| {
        PollEngine::lazy(PollOptions { egress: EgressAllow::parse(allow).unwrap(), ..PollOptions::default() })
    };

    let refusing = lazy("");
    assert!(!refusing.http_is_built(), "nothing built at assembly");
    let err = poll(&refusing, &format!("http://127.0.0.1:{p}")).await.unwrap_err();
    assert_denied(&err, "127.0.0.1");
    assert_eq!(hits(&server).await, 0, "the same guard refuses before anything is sent");

    let engine = lazy(&format!("127.0.0.1:{p}"));
    assert!(!engine.http_is_built(), "nothing built at assembly");
    poll(&engine, &format!("http://127.0.0.1:{p}")).await.unwrap();
    assert!(engine.http_is_built(), "the first request built it");
    let first: *const reqwest::Client = engine.http().unwrap();
    poll(&engine, &format!("http://127.0.0.1:{p}")).await.unwrap();
    assert_eq!(first, engine.http().unwrap() as *const reqwest::Client, "every request shares the one client");
    assert_eq!(hits(&server).await, 2);
    // Its client refuses internal peers for callers outside the engine too.
    let other = lazy("");
    let err = other.http().unwrap().get(format!("http://127.0.0.1:{p}/items")).send().await.unwrap_err();
    assert!(EgressDenied::find(&err).is_some(), "{err}");
    assert_eq!(hits(&server).await, 2);
}

#[tokio::test]
async fn the_client_itself_refuses_internal_peers_for_callers_outside_the_engine() {
    let server = fake().await;
    let engine = guarded("");
    for url in
        [format!("http://127.0.0.1:{}/health", port(&server)), format!("http://localhost:{}/health", port(&server))]
    {
        let err = engine.http().unwrap().get(&url).send().await.expect_err(&url);
        assert!(EgressDenied::find(&err).is_some(), "{url}: {err:?}");
    }
    assert_eq!(hits(&server).await, 0, "no request reached the fake");
}

/// Counts the names it resolves.
#[derive(Clone, Default)]
struct CountingResolver(Arc<AtomicUsize>);

impl reqwest::dns::Resolve for CountingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.0.fetch_add(1, Ordering::SeqCst);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[tokio::test]
async fn reqwest_never_asks_the_resolver_about_ip_literal_hosts() {
    // Why the guard judges IP literals before sending and at the connected peer: a resolver
    // alone would never see them.
    let server = fake().await;
    let resolver = CountingResolver::default();
    let http = reqwest::Client::builder().no_proxy().dns_resolver(resolver.clone()).build().unwrap();
    http.get(format!("http://127.0.0.1:{}/health", port(&server))).send().await.unwrap();
    http.get(format!("http://[::ffff:127.0.0.1]:{}/health", port(&server))).send().await.unwrap();
    assert_eq!(resolver.0.load(Ordering::SeqCst), 0);
    http.get(format!("http://localhost:{}/health", port(&server))).send().await.unwrap();
    assert_eq!(resolver.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_token_endpoint_on_a_refused_address_is_a_config_error() {
    let api = fake().await;
    let token_server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-1", "expires_in": 3600})))
        .mount(&token_server)
        .await;
    let mut doc = descriptor_doc(
        oauth_auth(&token_server),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$",
    );
    let config = BTreeMap::from([("baseUrl".to_owned(), format!("http://127.0.0.1:{}", port(&api)))]);
    let credentials = oauth_credentials("at-0", "rt-0", t0() - TimeDelta::hours(1));
    let engine = guarded(&format!("127.0.0.1:{}", port(&api)));

    for (token_url, host) in [
        (format!("http://127.0.0.1:{}/oauth/token", port(&token_server)), "127.0.0.1"),
        (format!("http://localhost:{}/oauth/token", port(&token_server)), "localhost"),
        ("http://169.254.169.254/oauth/token".to_owned(), "169.254.169.254"),
    ] {
        doc["auth"]["config"]["tokenUrl"] = json!(token_url);
        let err = fetch_delta(&engine, &compile(&doc), PollRequest::new(&config, &credentials)).await.unwrap_err();
        assert_denied(&err, host);
    }
    assert_eq!((hits(&token_server).await, hits(&api).await), (0, 0));

    let oauth_plan = compile(&doc);
    let oauth = oauth_plan.auth().oauth2().unwrap();
    let grant =
        switchboard_poll::oauth::CodeGrant { code: "code", redirect_uri: "https://app/cb", code_verifier: None };
    let err = engine.exchange_code(oauth, &config, &credentials, grant, Default::default()).await.unwrap_err();
    assert_denied(&err, "169.254.169.254");
}

/// Answers every request with a redirect to `to`.
async fn redirecting_to(to: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(302).insert_header("Location", to))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_redirect_to_another_origin_carries_no_datadog_keys() {
    let b = MockServer::start().await;
    Mock::given(path("/api/v2/events"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "meta": {"page": {}}})))
        .mount(&b)
        .await;
    let a = redirecting_to(&format!("{}/api/v2/events?filter%5Bquery%5D=source%3Aalert", b.uri())).await;
    let descriptor = crate::builtin::support::descriptor("datadog");
    let config = config(&a);
    let credentials: Credentials =
        [("apiKey", "dd-api-key-0123456789"), ("applicationKey", "dd-app-key-0123456789")].into_iter().collect();
    let (engine, _) = engine();
    fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();

    let at_a = a.received_requests().await.unwrap();
    assert!(at_a[0].headers.contains_key("dd-api-key") && at_a[0].headers.contains_key("dd-application-key"));
    let at_b = b.received_requests().await.unwrap();
    assert_eq!(at_b.len(), 1);
    for name in ["dd-api-key", "dd-application-key", "authorization", "cookie", "proxy-authorization"] {
        assert!(!at_b[0].headers.contains_key(name), "{name} crossed to another origin");
    }
    let everything = format!("{:?} {}", at_b[0].headers, at_b[0].url);
    assert!(!everything.contains("0123456789"), "a key crossed to another origin: {everything}");
}

#[tokio::test]
async fn a_redirect_to_another_origin_carries_no_bearer_token_or_query_credentials() {
    let b = fake().await;
    // The redirect echoes the credentials back in its query, as some APIs do.
    let a =
        redirecting_to(&format!("{}/items?key=trello-key-0123456789&token=trello-token-0123456789&page=2", b.uri()))
            .await;
    let descriptor = crate::builtin::support::descriptor("trello");
    let config: BTreeMap<String, String> =
        [("baseUrl".to_owned(), a.uri()), ("boardId".to_owned(), "b1".to_owned())].into_iter().collect();
    let credentials: Credentials =
        [("apiKey", "trello-key-0123456789"), ("token", "trello-token-0123456789")].into_iter().collect();
    let (engine, _) = engine();
    let _ = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await;
    let at_a = a.received_requests().await.unwrap();
    assert!(at_a[0].url.as_str().contains("token=trello-token-0123456789"), "{}", at_a[0].url);
    let at_b = b.received_requests().await.unwrap();
    assert_eq!(at_b.len(), 1);
    assert_eq!(at_b[0].url.query(), Some("page=2"));

    // A bearer token (a PAT) stays behind too.
    let a = redirecting_to(&format!("{}/items", b.uri())).await;
    poll(&engine, &a.uri()).await.unwrap();
    let at_a = a.received_requests().await.unwrap();
    assert!(at_a[0].headers.contains_key("authorization"));
    let at_b = b.received_requests().await.unwrap();
    assert_eq!(at_b.len(), 2);
    assert!(!at_b[1].headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_redirect_keeps_its_credentials_within_the_origin() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(301).insert_header("Location", "/v2/items"))
        .mount(&server)
        .await;
    Mock::given(path("/v2/items"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let (engine, _) = engine();
    poll(&engine, &server.uri()).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert!(received[1].headers.contains_key("authorization"));
}

#[tokio::test]
async fn a_redirect_to_a_refused_address_is_refused() {
    let b = fake().await;
    let a = redirecting_to(&format!("{}/items", b.uri())).await;
    // Only A is allowed: the hop to B (loopback, another port) is refused before it is sent.
    let engine = guarded(&format!("127.0.0.1:{}", port(&a)));
    let err = poll(&engine, &a.uri()).await.unwrap_err();
    assert_denied(&err, "127.0.0.1");
    assert_eq!(hits(&b).await, 0);

    for target in ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/", "http://localhost/"] {
        let a = redirecting_to(target).await;
        let err = poll(&guarded(&format!("127.0.0.1:{}", port(&a))), &a.uri()).await.unwrap_err();
        assert!(err.to_string().starts_with("egress_denied: "), "{target}: {err}");
    }
}

#[tokio::test]
async fn redirects_are_followed_a_few_times_only() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/items"))
        .mount(&server)
        .await;
    let (engine, _) = engine();
    let err = poll(&engine, &server.uri()).await.unwrap_err();
    assert!(err.to_string().contains("redirected more than 5 times"), "{err}");
    assert_eq!(err.class(), FailureClass::Config);
    assert_eq!(hits(&server).await, 6);
}

#[tokio::test]
async fn a_redirect_to_a_host_outside_allowed_hosts_is_refused() {
    let b = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [], "meta": {"page": {}}})))
        .mount(&b)
        .await;
    // `localhost` passes the egress guard here (127.0.0.1 is allowed), but Datadog's
    // descriptor names only Datadog's API hosts.
    let a = redirecting_to(&format!("http://localhost:{}/api/v2/events", port(&b))).await;
    let descriptor = crate::builtin::support::descriptor("datadog");
    assert!(!descriptor.allowed_hosts().is_unrestricted());
    let credentials: Credentials =
        [("apiKey", "k-0123456789"), ("applicationKey", "a-0123456789")].into_iter().collect();
    let (engine, _) = engine();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config(&a), &credentials)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("host_not_allowed: ") && text.contains("localhost"), "{text}");
    assert_eq!(err.class(), FailureClass::Config);
    assert_eq!(hits(&b).await, 0);
}
