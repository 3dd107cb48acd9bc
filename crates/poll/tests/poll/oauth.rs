//! OAuth2: single-flight refresh, rotation, `invalid_grant`, refresh on 401, code exchange with
//! PKCE, and bounded token requests (deadline, body limit, no response body in errors).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use futures_like::join_all;
use serde_json::json;
use switchboard_core::polling::{FailureClass, OAuthError, PollError, PollRequest};
use switchboard_poll::credentials::expose;
use switchboard_poll::oauth::{CodeGrant, TokenLimits};
use switchboard_poll::{ManualTimer, PollEngine, PollOptions, TokenRefresher, exchange_code};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// A tiny `join_all` so the tests need no `futures` crate.
mod futures_like {
    pub async fn join_all<F>(futures: Vec<F>) -> Vec<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}

async fn oauth_server() -> (MockServer, OAuthFake) {
    let server = MockServer::start().await;
    let fake = OAuthFake::new();
    Mock::given(method("POST")).and(path("/oauth/token")).respond_with(fake.clone()).mount(&server).await;
    Mock::given(method("GET")).and(path("/items")).respond_with(fake.api()).mount(&server).await;
    (server, fake)
}

fn oauth_descriptor(server: &MockServer) -> switchboard_core::Descriptor {
    descriptor(
        oauth_auth(server),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$.items",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_polls_with_an_expired_token_refresh_it_exactly_once() {
    let (server, fake) = oauth_server().await;
    let descriptor = std::sync::Arc::new(oauth_descriptor(&server));
    let (engine, _) = engine();
    let engine = std::sync::Arc::new(engine);
    let config = std::sync::Arc::new(config(&server));
    // Expired an hour before the manual clock's now.
    let credentials = std::sync::Arc::new(oauth_credentials("at-0", "rt-0", t0() - TimeDelta::hours(1)));

    let polls: Vec<_> = (0..50)
        .map(|_| {
            let (engine, descriptor, config, credentials) =
                (engine.clone(), descriptor.clone(), config.clone(), credentials.clone());
            async move { fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await }
        })
        .collect();
    let results = join_all(polls).await;

    assert_eq!(fake.calls(), 1, "one refresh for all fifty polls");
    for result in results {
        let delta = result.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ids(&delta.items), vec![1]);
        let refreshed = delta.refreshed_credentials.expect("rotated credentials to persist");
        assert_eq!(expose(&refreshed, "accessToken"), Some("at-1"));
        assert_eq!(expose(&refreshed, "refreshToken"), Some("rt-1"), "the rotated refresh token is returned");
        assert_eq!(expose(&refreshed, "expiresAt"), Some("2024-05-01T01:00:00Z"));
        assert_eq!(expose(&refreshed, "clientId"), Some("client"));
    }
}

#[tokio::test]
async fn a_fresh_token_is_used_without_calling_the_token_endpoint() {
    let (server, fake) = oauth_server().await;
    let descriptor = oauth_descriptor(&server);
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = oauth_credentials("at-0", "rt-0", t0() + TimeDelta::hours(1));
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(fake.calls(), 0);
    assert!(delta.refreshed_credentials.is_none());
}

#[tokio::test]
async fn a_token_within_the_refresh_buffer_is_refreshed_first() {
    let (server, fake) = oauth_server().await;
    let descriptor = oauth_descriptor(&server);
    let (engine, _) = engine();
    let config = config(&server);
    // Expires in 30 s; the default buffer is 60 s.
    let credentials = oauth_credentials("at-0", "rt-0", t0() + TimeDelta::seconds(30));
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(fake.calls(), 1);
    assert!(delta.refreshed_credentials.is_some());
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let (server, fake) = oauth_server().await;
    fake.state.lock().unwrap().access = "revoked-elsewhere".into();
    let descriptor = oauth_descriptor(&server);
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = oauth_credentials("at-0", "rt-0", t0() + TimeDelta::hours(1));
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(fake.calls(), 1);
    assert_eq!(ids(&delta.items), vec![1]);
    assert_eq!(expose(&delta.refreshed_credentials.unwrap(), "refreshToken"), Some("rt-1"));
}

#[tokio::test]
async fn invalid_grant_means_the_user_must_reauthorise() {
    let (server, fake) = oauth_server().await;
    let descriptor = oauth_descriptor(&server);
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = oauth_credentials("at-old", "rt-revoked", t0() - TimeDelta::hours(1));
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert!(matches!(err, PollError::OAuth(OAuthError::ReauthNeeded(_))), "{err:?}");
    assert_eq!(err.class(), FailureClass::Auth);
    assert!(err.to_string().contains("re-authorisation needed"), "{err}");
    assert!(!format!("{err:?}").contains("rt-revoked"));
    assert_eq!(fake.calls(), 1);
}

#[tokio::test]
async fn a_caller_with_the_pre_rotation_refresh_token_gets_the_rotated_tokens() {
    let (server, fake) = oauth_server().await;
    let descriptor = oauth_descriptor(&server);
    let (engine, timer) = engine();
    let config = config(&server);
    let stale = oauth_credentials("at-0", "rt-0", t0() - TimeDelta::hours(1));
    fetch_delta(&engine, &descriptor, PollRequest::new(&config, &stale)).await.unwrap();
    // A second run still holding the old credentials (not yet persisted) must not burn the
    // rotated refresh token with an `invalid_grant`.
    timer.advance(std::time::Duration::from_secs(10));
    let again = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &stale)).await.unwrap();
    assert_eq!(fake.calls(), 1);
    assert_eq!(expose(&again.refreshed_credentials.unwrap(), "refreshToken"), Some("rt-1"));
}

#[tokio::test]
async fn exchanging_an_authorisation_code_returns_credentials_to_store() {
    let (server, _fake) = oauth_server().await;
    let descriptor = oauth_descriptor(&server);
    let oauth = descriptor.auth().oauth2().expect("an OAuth2 connector");
    let client =
        [("clientId", "client"), ("clientSecret", "s3cret")].into_iter().collect::<switchboard_poll::Credentials>();
    let engine = PollEngine::new(PollOptions { egress: loopback_fakes(), ..PollOptions::default() }).unwrap();
    let http = engine.http().unwrap();
    let config = BTreeMap::new();
    let grant = |code| CodeGrant { code, redirect_uri: "https://app/callback", code_verifier: None };
    let stored =
        exchange_code(http, oauth, &config, &client, grant("good-code"), TokenLimits::default()).await.unwrap();
    assert_eq!(expose(&stored, "accessToken"), Some("at-1"));
    assert_eq!(expose(&stored, "refreshToken"), Some("rt-1"));
    assert!(expose(&stored, "expiresAt").is_some());

    let err =
        exchange_code(http, oauth, &config, &client, grant("bad-code"), TokenLimits::default()).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Auth);
}

fn client() -> switchboard_poll::Credentials {
    [("clientId", "client"), ("clientSecret", "s3cret")].into_iter().collect()
}

/// An OAuth2 polling descriptor whose endpoints are under `base` (a fake that is not a
/// `MockServer`).
fn oauth_descriptor_at(base: &str) -> switchboard_core::Descriptor {
    descriptor(
        json!({"method": "oauth2", "config": {
        "authoriseUrl": format!("{base}/oauth/authorize"),
        "tokenUrl": format!("{base}/oauth/token"),
        "scopes": ["read"],
        "credentialFields": [
            {"key": "clientId", "label": "Client id", "type": "text", "required": true},
            {"key": "clientSecret", "label": "Client secret", "type": "password", "required": true}
        ]}}),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$.items",
    )
}

async fn exchange(base: &str, limits: TokenLimits) -> Result<switchboard_poll::Credentials, OAuthError> {
    let descriptor = oauth_descriptor_at(base);
    let oauth = descriptor.auth().oauth2().expect("an OAuth2 connector");
    let grant = CodeGrant { code: "good-code", redirect_uri: "https://app/callback", code_verifier: None };
    exchange_code(&reqwest::Client::new(), oauth, &BTreeMap::new(), &client(), grant, limits).await
}

#[tokio::test]
async fn the_code_exchange_sends_the_pkce_verifier() {
    let (server, _fake) = oauth_server().await;
    let descriptor = oauth_descriptor(&server);
    let oauth = descriptor.auth().oauth2().expect("an OAuth2 connector");
    assert!(oauth.pkce, "PKCE is on unless the descriptor turns it off");
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let grant = CodeGrant { code: "good-code", redirect_uri: "https://app/callback", code_verifier: Some(verifier) };
    exchange_code(&reqwest::Client::new(), oauth, &BTreeMap::new(), &client(), grant, TokenLimits::default())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(&requests[0].body).into_owned().collect();
    assert_eq!(form.get("code_verifier").map(String::as_str), Some(verifier));
    assert!(!format!("{grant:?}").contains(verifier), "Debug hides the verifier");
}

/// A token endpoint on a socket that accepts connections and never answers.
fn silent_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept() {
            held.push(socket);
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_fails_the_exchange_within_the_limit() {
    let base = silent_endpoint();
    let limits = TokenLimits { timeout: Duration::from_millis(300), ..TokenLimits::default() };
    let began = Instant::now();
    let err = exchange(&base, limits).await.unwrap_err();
    assert!(began.elapsed() < Duration::from_secs(3), "took {:?}", began.elapsed());
    assert!(matches!(err, OAuthError::Unavailable { .. }), "{err:?}");
    assert_eq!(err.class(), FailureClass::Transient);
    assert!(err.to_string().contains("within 300ms"), "{err}");
}

#[tokio::test]
async fn a_refresh_against_a_silent_token_endpoint_ends_within_its_retries() {
    let base = silent_endpoint();
    let descriptor = oauth_descriptor_at(&base);
    let oauth = descriptor.auth().oauth2().unwrap();
    let refresher = TokenRefresher::new(reqwest::Client::new(), Arc::new(ManualTimer::new(t0())), Duration::ZERO)
        .with_limits(TokenLimits { timeout: Duration::from_millis(200), ..TokenLimits::default() });
    let credentials = oauth_credentials("at-0", "rt-0", t0() - TimeDelta::hours(1));
    let began = Instant::now();
    let err = refresher.access_token(oauth, &BTreeMap::new(), &credentials).await.unwrap_err();
    // The default policy tries a few times; each try stops at its deadline.
    assert!(began.elapsed() < Duration::from_secs(3), "took {:?}", began.elapsed());
    assert_eq!(err.class(), FailureClass::Transient, "{err}");
}

#[tokio::test]
async fn an_oversized_token_answer_is_refused_announced_or_streamed() {
    // Announced with Content-Length.
    let server = MockServer::start().await;
    let padding = "p".repeat(100 * 1024);
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "at-big", "padding": padding})))
        .mount(&server)
        .await;
    let err = exchange(&server.uri(), TokenLimits::default()).await.unwrap_err();
    assert!(matches!(err, OAuthError::BadResponse { .. }), "{err:?}");
    assert!(err.to_string().contains("larger than 65536 bytes"), "{err}");

    // Streamed in chunks without a length: refused once the limit is passed.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        // Read the whole request first: answering before it is sent can reset the connection.
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while let Ok(n) = socket.read(&mut buffer) {
            request.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&request);
            if n == 0 || text.split_once("\r\n\r\n").is_some_and(|(_, body)| body.contains("grant_type")) {
                break;
            }
        }
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        let mut body = format!(r#"{{"access_token": "at-big", "padding": "{}"}}"#, "p".repeat(200 * 1024));
        let mut out = head.to_owned();
        while !body.is_empty() {
            let rest = body.split_off(body.len().min(8 * 1024));
            out.push_str(&format!("{:x}\r\n{body}\r\n", body.len()));
            body = rest;
        }
        out.push_str("0\r\n\r\n");
        // The client may hang up once it has seen enough.
        let _ = socket.write_all(out.as_bytes());
    });
    let limits = TokenLimits { max_body_bytes: 16 * 1024, ..TokenLimits::default() };
    let err = exchange(&format!("http://{address}"), limits).await.unwrap_err();
    assert!(err.to_string().contains("larger than 16384 bytes"), "{err}");
}

#[tokio::test]
async fn token_answers_never_reach_the_error_text() {
    let cases = [
        (200, "not json at all rt_SECRET_body".to_owned()),
        (200, json!({"access_token": 4242_4242_4242_u64, "refresh_token": "rt_SECRET_body"}).to_string()),
        (200, json!({"access_token": "at_SECRET_body", "refresh_token": 77}).to_string()),
        (200, json!({"token": "at_SECRET_body"}).to_string()),
        (400, "<html>rt_SECRET_body</html>".to_owned()),
    ];
    for (status, body) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(status).set_body_raw(body.clone(), "application/json"))
            .mount(&server)
            .await;
        let err = exchange(&server.uri(), TokenLimits::default()).await.unwrap_err();
        let text = format!("{err} {err:?}");
        // The whole number: a shorter piece of it can be in the mock server's port.
        for secret in ["SECRET_body", "424242424242"] {
            assert!(!text.contains(secret), "{body} -> {text}");
        }
    }
}

#[tokio::test]
async fn an_error_object_in_a_200_answer_is_the_providers_refusal() {
    // GitHub answers a bad code with 200 and an RFC 6749 §5.2 error object.
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})))
        .mount(&server)
        .await;
    let err = exchange(&server.uri(), TokenLimits::default()).await.unwrap_err();
    assert!(matches!(err, OAuthError::Rejected(_)), "{err:?}");
    assert_eq!(err.class(), FailureClass::Auth);
    assert!(err.to_string().contains("bad_verification_code: The code passed is incorrect"), "{err}");
}

#[tokio::test]
async fn a_token_endpoint_that_stays_broken_is_transient_after_retries() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token")).respond_with(wiremock::ResponseTemplate::new(502)).mount(&server).await;
    let descriptor = oauth_descriptor(&server);
    let (engine, timer) = engine();
    let config = config(&server);
    let credentials = oauth_credentials("at-0", "rt-0", t0() - TimeDelta::hours(1));
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Transient);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert_eq!(timer.sleeps().len(), 3);
}

#[tokio::test]
async fn a_token_endpoint_flake_is_retried() {
    let (server, fake) = oauth_server().await;
    Mock::given(path("/oauth/token"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let descriptor = oauth_descriptor(&server);
    let (engine, _) = engine();
    let config = config(&server);
    let credentials = oauth_credentials("at-0", "rt-0", t0() - TimeDelta::hours(1));
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap();
    assert_eq!(fake.calls(), 1);
    assert!(delta.refreshed_credentials.is_some());
}
