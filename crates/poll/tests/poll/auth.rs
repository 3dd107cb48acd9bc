//! The auth provider puts each credential where the descriptor says.

use serde_json::{Value, json};
use switchboard_core::polling::PollRequest;
use switchboard_poll::Credentials;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

use crate::support::*;

fn field(key: &str) -> Value {
    json!([{"key": key, "label": key, "type": "password", "required": true}])
}

/// Polls once with `auth` and `credentials`; the fake answers only if `expect` matches.
async fn polls_with(auth: Value, credentials: Credentials, expect: MockBuilder) {
    polls_with_polling(auth, credentials, expect, json!({})).await;
}

async fn polls_with_polling(auth: Value, credentials: Credentials, expect: MockBuilder, extra: Value) {
    let server = MockServer::start().await;
    expect
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": 7, "title": "t", "updated_at": "2024-05-01T00:00:00Z"}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut polling =
        json!({"endpoint": "{{baseUrl}}/items", "delta": {"type": "since_id", "idPath": "$.id", "idParam": "since"}});
    for (k, v) in extra.as_object().unwrap() {
        polling[k] = v.clone();
    }
    let mut doc = descriptor_doc(auth, polling, "$");
    doc["configFields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "project", "label": "Project", "type": "text", "required": false, "default": "P&Q 1"}));
    let descriptor = compile(&doc);
    let (engine, _) = engine();
    let config = config(&server);
    let delta = fetch_delta(&engine, &descriptor, PollRequest::new(&config, &credentials))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ids(&delta.items), vec![7]);
}

#[tokio::test]
async fn an_api_key_goes_in_its_header() {
    let auth = json!({"method": "api_key", "config": {"delivery": "header", "paramName": "X-Api-Key", "credentialFields": field("key")}});
    polls_with(
        auth,
        [("key", "k-123")].into_iter().collect::<Credentials>(),
        Mock::given(header("x-api-key", "k-123")),
    )
    .await;
}

#[tokio::test]
async fn an_api_key_goes_in_its_query_parameter() {
    let auth = json!({"method": "api_key", "config": {"delivery": "query", "paramName": "api_key", "credentialFields": field("key")}});
    polls_with(
        auth,
        [("key", "k 1&2")].into_iter().collect::<Credentials>(),
        Mock::given(query_param("api_key", "k 1&2")),
    )
    .await;
}

#[tokio::test]
async fn an_api_key_can_be_a_bearer_token_from_a_named_field() {
    let auth = json!({"method": "api_key", "config": {"delivery": "bearer", "paramName": "Authorization",
        "credentialKey": "second",
        "credentialFields": [{"key": "first", "label": "a", "type": "text", "required": false},
                             {"key": "second", "label": "b", "type": "password", "required": true}]}});
    let credentials = [("first", "no"), ("second", "lin_api_1")].into_iter().collect::<Credentials>();
    polls_with(auth, credentials, Mock::given(header("authorization", "Bearer lin_api_1"))).await;
}

#[tokio::test]
async fn a_pat_goes_in_its_header_or_as_a_bearer() {
    let header_auth = json!({"method": "pat", "config": {"delivery": "header", "paramName": "PRIVATE-TOKEN", "credentialFields": field("token")}});
    polls_with(
        header_auth,
        [("token", "glpat-1")].into_iter().collect::<Credentials>(),
        Mock::given(header("private-token", "glpat-1")),
    )
    .await;
    polls_with(
        pat_auth(),
        [("token", "ghp_1")].into_iter().collect::<Credentials>(),
        Mock::given(header("authorization", "Bearer ghp_1")),
    )
    .await;
}

#[tokio::test]
async fn basic_auth_encodes_user_and_password() {
    let auth = json!({"method": "basic", "config": {"credentialFields": [
        {"key": "username", "label": "User", "type": "text", "required": true},
        {"key": "password", "label": "Token", "type": "password", "required": true}]}});
    let credentials = [("username", "me@example.com"), ("password", "tok")].into_iter().collect::<Credentials>();
    // base64("me@example.com:tok")
    polls_with(auth, credentials, Mock::given(header("authorization", "Basic bWVAZXhhbXBsZS5jb206dG9r"))).await;
}

#[tokio::test]
async fn no_auth_sends_no_authorization_header_but_a_user_agent() {
    let server_check =
        Mock::given(method("GET")).and(header("user-agent", concat!("switchboard/", env!("CARGO_PKG_VERSION"))));
    polls_with(no_auth(), Credentials::new(), server_check).await;
}

#[tokio::test]
async fn templates_fill_config_credentials_and_checkpoint_with_escaping() {
    let auth = json!({"method": "api_key", "config": {"delivery": "header", "paramName": "X-Key", "credentialFields": field("key")}});
    let expect = Mock::given(method("POST"))
        .and(path("/search/P%26Q%201"))
        .and(header("x-project", "P&Q 1"))
        .and(header("x-trello-token", "k\"1"))
        // The first page has no page token: its member is left out rather than sent empty.
        .and(body_json(json!({"jql": "project = \"P&Q 1\" AND key = \"k\"1\""})));
    let extra = json!({
        "method": "POST",
        "endpoint": "{{baseUrl}}/search/{{config.project}}",
        "headers": {"X-Project": "{{config.project}}", "X-Trello-Token": "{{credentials.key}}"},
        "body": "{\"jql\": \"project = \\\"{{config.project}}\\\" AND key = \\\"{{credentials.key}}\\\"\", \"page\": \"{{pageToken}}\"}"
    });
    polls_with_polling(auth, [("key", "k\"1")].into_iter().collect::<Credentials>(), expect, extra).await;
}
