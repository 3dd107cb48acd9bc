//! Every failure is classified, none panics, and none shows a secret.

use std::time::Duration;

use serde_json::json;
use switchboard_core::polling::{FailureClass, PollError, PollRequest};
use switchboard_poll::{Credentials, RetryPolicy};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const SECRET: &str = "ghp_very_secret_token";

async fn poll_once(answer: ResponseTemplate, items_path: &str, auth: serde_json::Value) -> PollError {
    poll_with(answer, items_path, auth, |_| {}).await
}

async fn poll_with(
    answer: ResponseTemplate,
    items_path: &str,
    auth: serde_json::Value,
    adjust: impl FnOnce(&mut switchboard_poll::PollOptions),
) -> PollError {
    let server = MockServer::start().await;
    Mock::given(path("/items")).respond_with(answer).mount(&server).await;
    let descriptor = descriptor(
        auth,
        json!({
            "endpoint": "{{baseUrl}}/items",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"}
        }),
        items_path,
    );
    let (engine, _) = engine_with(adjust);
    let config = config(&server);
    let credentials = [("token", SECRET), ("apiKey", SECRET)].into_iter().collect::<Credentials>();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "a secret leaked into the error: {shown}");
    err
}

fn api_key_in_query() -> serde_json::Value {
    json!({"method": "api_key", "config": {"delivery": "query", "paramName": "api_key",
        "credentialFields": [{"key": "apiKey", "label": "Key", "type": "password", "required": true}]}})
}

#[tokio::test]
async fn malformed_json_is_a_transient_error() {
    let err = poll_once(ResponseTemplate::new(200).set_body_string("<html>oops</html>"), "$", no_auth()).await;
    assert!(matches!(err, PollError::MalformedJson { .. }), "{err:?}");
    assert_eq!(err.class(), FailureClass::Transient);
}

#[tokio::test]
async fn a_response_without_the_items_path_is_a_config_error_naming_the_path() {
    let err =
        poll_once(ResponseTemplate::new(200).set_body_json(json!({"other": []})), "$.data.items", no_auth()).await;
    assert!(matches!(err, PollError::NoItems { .. }), "{err:?}");
    assert_eq!(err.class(), FailureClass::Config);
    assert!(err.to_string().contains("$.data.items"), "{err}");
}

#[tokio::test]
async fn a_401_is_an_auth_error_that_needs_reauthorisation() {
    let err =
        poll_once(ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials"})), "$", pat_auth())
            .await;
    assert!(matches!(err, PollError::Unauthorized { status: 401, .. }), "{err:?}");
    assert_eq!(err.class(), FailureClass::Auth);
    assert!(err.needs_reauth());
}

#[tokio::test]
async fn a_403_without_rate_limit_headers_is_an_auth_error() {
    let err = poll_once(ResponseTemplate::new(403), "$", pat_auth()).await;
    assert_eq!(err.class(), FailureClass::Auth);
}

#[tokio::test]
async fn a_timeout_is_a_transient_error_after_the_retries() {
    let slow = ResponseTemplate::new(200).set_body_json(json!([])).set_delay(Duration::from_secs(3));
    let err = poll_with(slow, "$", no_auth(), |o| {
        o.request_timeout = Duration::from_millis(100);
        o.retry = RetryPolicy { max_attempts: 2, ..RetryPolicy::default() };
    })
    .await;
    assert!(matches!(err, PollError::Network { timeout: true, attempts: 2, .. }), "{err:?}");
    assert_eq!(err.class(), FailureClass::Transient);
}

#[tokio::test]
async fn a_404_is_a_config_error_quoting_the_body_without_secrets() {
    let echo = ResponseTemplate::new(404).set_body_string(format!("no such repo for key {SECRET}"));
    let err = poll_once(echo, "$", api_key_in_query()).await;
    assert_eq!(err.class(), FailureClass::Config);
    assert!(err.to_string().contains("no such repo for key ***"), "{err}");
}

#[tokio::test]
async fn a_connection_failure_is_transient_and_hides_the_api_key_in_the_url() {
    let descriptor = descriptor(
        api_key_in_query(),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$",
    );
    let (engine, _) = engine();
    // Nothing listens on port 9 of localhost.
    let config = std::collections::BTreeMap::from([("baseUrl".to_owned(), "http://127.0.0.1:9".to_owned())]);
    let credentials = [("apiKey", SECRET)].into_iter().collect::<Credentials>();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials)).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Transient);
    assert!(!format!("{err} {err:?}").contains(SECRET), "{err:?}");
}

#[tokio::test]
async fn a_missing_credential_is_an_auth_error_and_a_missing_config_value_a_config_error() {
    let server = MockServer::start().await;
    let descriptor = descriptor(
        pat_auth(),
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}}),
        "$",
    );
    let (engine, _) = engine();
    let config = config(&server);
    let none = Credentials::new();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &none)).await.unwrap_err();
    assert_eq!(err, PollError::MissingCredential("token".into()));
    assert_eq!(err.class(), FailureClass::Auth);

    let empty = std::collections::BTreeMap::new();
    let err = fetch_delta(&engine, &descriptor, PollRequest::new(&empty, &none)).await.unwrap_err();
    assert_eq!(err.class(), FailureClass::Config);
}

#[tokio::test]
async fn a_garbled_checkpoint_is_a_config_error() {
    let err = switchboard_core::polling::Checkpoint::parse("{\"position\": 1").unwrap_err();
    assert_eq!(err.class(), FailureClass::Config);
}
