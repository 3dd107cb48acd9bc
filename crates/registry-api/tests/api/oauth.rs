use axum::http::{Method, Request, StatusCode, header};
use chrono::{TimeDelta, Utc};
use secrecy::ExposeSecret;
use serde_json::json;
use switchboard_core::ports::{InstanceKey, OAuthState};
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ACME, ADMIN, CALLBACK_URL, World, fixture, spawn};

const CLIENT_SECRET: &str = "cs_SECRET_client_4242";
const ACCESS_TOKEN: &str = "at_SECRET_access_9999";
const REFRESH_TOKEN: &str = "rt_SECRET_refresh_8888";

/// A world with the `acme-oauth` connector (whose URLs point at `provider`) connected to `acme`
/// with its client id and secret.
async fn connected_world(provider: &MockServer) -> World {
    let world = spawn().await;
    assert_eq!(
        world.send(Method::POST, "/connectors", Some(ADMIN), Some(fixture("acme-oauth.json"))).await.status,
        StatusCode::CREATED
    );
    let body = json!({
        "config": {"baseUrl": provider.uri()},
        "credentials": {"clientId": "client-123", "clientSecret": CLIENT_SECRET}
    });
    let created = world.send(Method::POST, "/projects/acme/connectors/acme-oauth", Some(ACME), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    world
}

async fn token_endpoint(provider: &MockServer, expected_calls: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "expires_in": 3600, "token_type": "bearer"
        })))
        .expect(expected_calls)
        .mount(provider)
        .await;
}

async fn start(world: &World) -> Url {
    let reply = world.get("/projects/acme/connectors/acme-oauth/oauth/start", Some(ACME)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    Url::parse(reply.json()["authorizeUrl"].as_str().unwrap()).unwrap()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn starting_then_calling_back_stores_the_tokens_without_showing_them() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 1).await;
    let world = connected_world(&provider).await;

    let authorize = start(&world).await;
    assert_eq!(
        format!("{}{}", &authorize[..url::Position::BeforePath], authorize.path()),
        format!("{}/oauth/authorize", provider.uri())
    );
    assert_eq!(param(&authorize, "response_type").as_deref(), Some("code"));
    assert_eq!(param(&authorize, "client_id").as_deref(), Some("client-123"));
    assert_eq!(param(&authorize, "redirect_uri").as_deref(), Some(CALLBACK_URL));
    assert_eq!(param(&authorize, "scope").as_deref(), Some("events:read profile"));
    assert_eq!(param(&authorize, "access_type").as_deref(), Some("offline"));
    assert!(!authorize.as_str().contains(CLIENT_SECRET));
    let state = param(&authorize, "state").unwrap();
    assert_eq!(state.len(), 43, "256 bits in URL-safe base64");

    let callback = world.get(&format!("/oauth/callback?code=the-code&state={state}"), None).await;
    assert_eq!(callback.status, StatusCode::OK, "{}", callback.text);
    assert_eq!(callback.json()["connected"], true);

    let stored = world.stores.secrets.get_credentials(&InstanceKey::new("acme", "acme-oauth")).await.unwrap().unwrap();
    assert_eq!(stored.current.get("accessToken").unwrap().expose_secret(), ACCESS_TOKEN);
    assert_eq!(stored.current.get("refreshToken").unwrap().expose_secret(), REFRESH_TOKEN);
    assert_eq!(stored.current.get("clientSecret").unwrap().expose_secret(), CLIENT_SECRET);

    let instance = world.get("/projects/acme/connectors/acme-oauth", Some(ACME)).await.json();
    let set: Vec<&str> = instance["credentialsSet"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert!(set.contains(&"accessToken") && set.contains(&"refreshToken"), "{set:?}");

    for body in world.transcript() {
        for secret in [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN] {
            assert!(!body.contains(secret), "a response showed a secret: {body}");
        }
    }
}

#[tokio::test]
async fn a_state_works_only_once() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 1).await;
    let world = connected_world(&provider).await;
    let state = param(&start(&world).await, "state").unwrap();
    let path = format!("/oauth/callback?code=the-code&state={state}");
    assert_eq!(world.get(&path, None).await.status, StatusCode::OK);
    let replay = world.get(&path, None).await;
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert!(replay.text.contains("already used or expired"), "{}", replay.text);
}

#[tokio::test]
async fn an_expired_state_is_refused_without_calling_the_provider() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 0).await;
    let world = connected_world(&provider).await;
    let expired = OAuthState {
        state: "expired-state-value-expired-state-value-0000".to_owned(),
        project_id: "acme".to_owned(),
        connector_id: "acme-oauth".to_owned(),
        redirect_uri: CALLBACK_URL.to_owned(),
        started_by: "alice".to_owned(),
        expires_at: Utc::now() - TimeDelta::seconds(1),
    };
    world.stores.oauth_states.put_oauth_state(&expired).await.unwrap();
    let reply = world.get(&format!("/oauth/callback?code=the-code&state={}", expired.state), None).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let stored = world.stores.secrets.get_credentials(&InstanceKey::new("acme", "acme-oauth")).await.unwrap().unwrap();
    assert!(stored.current.get("accessToken").is_none());
}

#[tokio::test]
async fn a_refusal_by_the_provider_consumes_the_state_and_browsers_get_escaped_html() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 0).await;
    let world = connected_world(&provider).await;
    let state = param(&start(&world).await, "state").unwrap();
    let request = Request::builder()
        .uri(format!(
            "/oauth/callback?state={state}&error=access_denied&error_description=%3Cscript%3Ex%3C%2Fscript%3E"
        ))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = world.request(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(reply.text.contains("access_denied"));
    assert!(!reply.text.contains("<script>"), "{}", reply.text);
    let again = world.get(&format!("/oauth/callback?code=the-code&state={state}"), None).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oauth_start_needs_an_oauth2_connector() {
    let world = spawn().await;
    world
        .send(
            Method::POST,
            "/projects/acme/connectors/linear",
            Some(ACME),
            Some(json!({"credentials": {"apiKey": "k"}})),
        )
        .await;
    let reply = world.get("/projects/acme/connectors/linear/oauth/start", Some(ACME)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text.contains("not OAuth2"), "{}", reply.text);
}
