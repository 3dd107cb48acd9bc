//! OAuth2: single-flight refresh, rotation, `invalid_grant`, refresh on 401, code exchange.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use futures_like::join_all;
use serde_json::json;
use switchboard_core::polling::{FailureClass, OAuthError, PollError, PollRequest};
use switchboard_poll::credentials::expose;
use switchboard_poll::{PollEngine, PollOptions, exchange_code};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

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
    let http = engine.http();
    let config = BTreeMap::new();
    let stored = exchange_code(http, oauth, &config, &client, "good-code", "https://app/callback").await.unwrap();
    assert_eq!(expose(&stored, "accessToken"), Some("at-1"));
    assert_eq!(expose(&stored, "refreshToken"), Some("rt-1"));
    assert!(expose(&stored, "expiresAt").is_some());

    let err = exchange_code(http, oauth, &config, &client, "bad-code", "https://app/callback").await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Auth);
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
