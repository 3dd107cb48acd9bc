//! Managed webhook subscriptions end to end, through the one assembly: the registry API
//! registers `github-prs`' repository hook at a fake GitHub, the webhook gateway accepts a
//! delivery signed with the secret the registry generated, and deleting the instance deletes
//! the hook.

// Test helpers unwrap.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt as _;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard_app::{App, EgressAllow, Settings};
use switchboard_core::ports::{InstanceKey, Stores};
use switchboard_embedded::{Embedded, SecretCipher};
use switchboard_registry_api::BearerTokenResolver;
use tower::ServiceExt as _;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ADMIN: &str = "admin-token-for-subscription-tests";
const PAT: &str = "github_pat_subscriptions_test";
const PUBLIC_URL: &str = "https://switchboard.example/prod";
const HOOK_ID: u64 = 12_345_678;

/// One isolated deployment: SQLite stores, the registry and the gateway routers.
struct World {
    stores: Stores,
    registry: Router,
    gateway: Router,
    _dir: tempfile::TempDir,
}

async fn world(public_url: Option<&str>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let cipher = SecretCipher::from_base64(&SecretString::from(key), "test key").unwrap();
    let db = Embedded::open_with_cipher(&dir.path().join("switchboard.db"), cipher).unwrap();
    // The fake GitHub listens on 127.0.0.1, which the egress guard refuses unless allowed.
    let settings = Settings {
        public_url: public_url.map(str::to_owned),
        egress: EgressAllow::parse("127.0.0.1").unwrap(),
        ..Settings::default()
    };
    let app = App::assemble(db.stores(), settings);
    app.register_built_ins().await.unwrap();
    let resolver = Arc::new(BearerTokenResolver::admin(&SecretString::from(ADMIN)));
    let registry = switchboard_registry_api::router(app.registry(resolver));
    let gateway = switchboard_webhook_gateway::router(app.gateway(Arc::new(db.ingest_queue())));
    World { stores: db.stores(), registry, gateway, _dir: dir }
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn api(method: Method, uri: &str, body: Option<Value>) -> Request<Body> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {ADMIN}"))
        .header("content-type", "application/json");
    request.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).unwrap()
}

/// Creates a `github-prs` instance in project `acme` with only a PAT.
async fn create(world: &World, config: Value) -> (StatusCode, Value, String) {
    let body = json!({"config": config, "credentials": {"token": PAT}});
    let (status, _, text) =
        send(&world.registry, api(Method::POST, "/projects/acme/connectors/github-prs", Some(body))).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), text)
}

/// GitHub's answer to `POST /repos/{owner}/{repo}/hooks`, in its documented shape.
fn created_hook(server: &MockServer) -> Value {
    json!({
        "type": "Repository", "id": HOOK_ID, "name": "web", "active": true,
        "events": ["pull_request", "pull_request_review", "pull_request_review_comment"],
        "config": {"content_type": "json", "insecure_ssl": "0", "url": format!("{PUBLIC_URL}/webhooks/github-prs/acme")},
        "updated_at": "2019-06-03T00:57:16Z", "created_at": "2019-06-03T00:57:16Z",
        "url": format!("{}/repos/octo/hello/hooks/{HOOK_ID}", server.uri())
    })
}

/// Deletes the instance with GitHub expecting one `DELETE` of the hook at `hook_path`; the
/// answer is 204 without a warning.
async fn disconnect_deleting_the_hook(world: &World, github: &MockServer, hook_path: &str) {
    Mock::given(method("DELETE"))
        .and(path(hook_path))
        .and(header("authorization", format!("Bearer {PAT}").as_str()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(github)
        .await;
    let (status, headers, _) =
        send(&world.registry, api(Method::DELETE, "/projects/acme/connectors/github-prs", None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(headers.get("x-switchboard-warning").is_none());
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn delivery(signature: &str, body: &[u8]) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/webhooks/github-prs/acme")
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .header("x-hub-signature-256", signature)
        .body(Body::from(body.to_vec()))
        .unwrap()
}

fn opened_pull_request() -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/github-prs/pull_request.opened.json");
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn a_github_prs_instance_with_only_a_pat_registers_its_hook_verifies_deliveries_and_deletes_it() {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/hello/hooks"))
        .and(header("authorization", format!("Bearer {PAT}").as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(created_hook(&github)))
        .expect(1)
        .mount(&github)
        .await;
    let world = world(Some(PUBLIC_URL)).await;

    let (status, view, text) = create(&world, json!({"baseUrl": github.uri(), "owner": "octo", "repo": "hello"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(view["subscription"]["status"], "active", "{text}");
    assert_eq!(view["subscription"]["id"], HOOK_ID.to_string());
    assert_eq!(view["subscription"]["webhookUrl"], format!("{PUBLIC_URL}/webhooks/github-prs/acme"));
    assert_eq!(view["credentialsSet"], json!(["token", "webhookSecret"]));

    // The hook GitHub was asked to create: the instance's gateway URL and a generated secret.
    let requests = github.received_requests().await.unwrap();
    let hook: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(hook["name"], "web");
    assert_eq!(hook["events"], json!(["pull_request", "pull_request_review", "pull_request_review_comment"]));
    assert_eq!(hook["config"]["url"], format!("{PUBLIC_URL}/webhooks/github-prs/acme"));
    assert_eq!(hook["config"]["content_type"], "json");
    let secret = hook["config"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64, "32 random bytes, hex");
    assert!(!text.contains(&secret), "the secret is never echoed");

    // A delivery GitHub signs with that secret is accepted; a wrong secret is not.
    let body = opened_pull_request();
    let (status, _, answer) = send(&world.gateway, delivery(&sign(&secret, &body), &body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (status, _, _) = send(&world.gateway, delivery(&sign("not-the-secret", &body), &body)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Deleting the instance deletes the hook.
    disconnect_deleting_the_hook(&world, &github, &format!("/repos/octo/hello/hooks/{HOOK_ID}")).await;
    assert!(world.stores.instances.get_instance(&InstanceKey::new("acme", "github-prs")).await.unwrap().is_none());
    github.verify().await;
}

#[tokio::test]
async fn with_the_owner_alone_an_organisation_hook_is_registered_and_deleted() {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orgs/octo-org/hooks"))
        .and(header("authorization", format!("Bearer {PAT}").as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "type": "Organization", "id": HOOK_ID, "name": "web", "active": true,
            "events": ["pull_request", "pull_request_review", "pull_request_review_comment"],
            "config": {"content_type": "json", "insecure_ssl": "0"},
            "url": format!("{}/orgs/octo-org/hooks/{HOOK_ID}", github.uri())
        })))
        .expect(1)
        .mount(&github)
        .await;
    let world = world(Some(PUBLIC_URL)).await;
    let (status, view, text) = create(&world, json!({"baseUrl": github.uri(), "owner": "octo-org"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(view["subscription"]["status"], "active", "{text}");
    let requests = github.received_requests().await.unwrap();
    let hook: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(hook["config"]["url"], format!("{PUBLIC_URL}/webhooks/github-prs/acme"));
    let secret = hook["config"]["secret"].as_str().unwrap().to_owned();

    let body = opened_pull_request();
    let (status, _, answer) = send(&world.gateway, delivery(&sign(&secret, &body), &body)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");

    // The organisation hook is deleted where it was created.
    disconnect_deleting_the_hook(&world, &github, &format!("/orgs/octo-org/hooks/{HOOK_ID}")).await;
    github.verify().await;
}

#[tokio::test]
async fn a_delete_the_provider_refuses_still_deletes_the_instance_and_says_why() {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/hello/hooks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created_hook(&github)))
        .mount(&github)
        .await;
    Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(403)).mount(&github).await;
    let world = world(Some(PUBLIC_URL)).await;
    let (status, _, text) = create(&world, json!({"baseUrl": github.uri(), "owner": "octo", "repo": "hello"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");

    let (status, headers, _) =
        send(&world.registry, api(Method::DELETE, "/projects/acme/connectors/github-prs", None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let warning = headers.get("x-switchboard-warning").unwrap().to_str().unwrap();
    assert!(warning.contains("deleting the webhook at the provider failed") && warning.contains("403"), "{warning}");
    assert!(world.stores.instances.get_instance(&InstanceKey::new("acme", "github-prs")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_failed_registration_still_creates_the_instance_and_shows_on_its_health() {
    let github = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/octo/hello/hooks"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&github)
        .await;
    let world = world(Some(PUBLIC_URL)).await;
    let (status, view, text) = create(&world, json!({"baseUrl": github.uri(), "owner": "octo", "repo": "hello"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(view["subscription"]["status"], "failed", "{text}");
    let message = view["subscription"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("registering the webhook at the provider failed") && message.contains("404"),
        "{message}"
    );
    // The response was built before the failure was recorded: read the instance again.
    let (_, _, text) = send(&world.registry, api(Method::GET, "/projects/acme/connectors/github-prs", None)).await;
    let view: Value = serde_json::from_str(&text).unwrap();
    let last_error = view["health"]["lastError"].as_str().unwrap();
    assert!(last_error.starts_with("webhook subscription: registering the webhook"), "{last_error}");
    assert_eq!(view["health"]["status"], "degraded");
}

#[tokio::test]
async fn without_a_public_url_or_an_owner_the_webhook_is_left_to_the_user() {
    let github = MockServer::start().await;
    let world = world(None).await;
    let (status, view, text) = create(&world, json!({"baseUrl": github.uri(), "owner": "octo", "repo": "hello"})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(view["subscription"]["status"], "manual");
    let message = view["subscription"]["message"].as_str().unwrap();
    assert!(message.starts_with("no public URL"), "{message}");
    assert!(message.contains("register the webhook by hand: <public URL>/webhooks/github-prs/acme"), "{message}");
    assert!(message.contains("`webhookSecret` credential"), "{message}");
    assert_eq!(view["credentialsSet"], json!(["token"]), "no secret is generated for a hook nobody registers");

    let world = world_with_url().await;
    let (status, view, text) = create(&world, json!({"baseUrl": github.uri()})).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(view["subscription"]["status"], "manual");
    let message = view["subscription"]["message"].as_str().unwrap();
    assert!(message.starts_with("config `owner` not set"), "{message}");
    assert!(message.contains(&format!("by hand: {PUBLIC_URL}/webhooks/github-prs/acme")), "{message}");
    assert!(github.received_requests().await.unwrap().is_empty(), "nothing was asked of GitHub");
}

async fn world_with_url() -> World {
    world(Some(PUBLIC_URL)).await
}
