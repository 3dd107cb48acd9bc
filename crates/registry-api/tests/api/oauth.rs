//! OAuth2 connect: the flow end to end, PKCE, the browser binding of the state, the dashboard
//! origin of `returnTo`, and a bounded code exchange.

use std::time::{Duration, Instant};

use axum::http::{Method, Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeDelta, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_core::ports::{InstanceKey, OAuthState};
use switchboard_poll::oauth::TokenLimits;
use switchboard_registry_api::{OAuthSettings, RegistryState};
use url::Url;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ACME, ADMIN, CALLBACK_URL, Reply, World, fixture, spawn, spawn_with};

const CLIENT_SECRET: &str = "cs_SECRET_client_4242";
const ACCESS_TOKEN: &str = "at_SECRET_access_9999";
const REFRESH_TOKEN: &str = "rt_SECRET_refresh_8888";

/// A world with the `acme-oauth` connector (whose URLs point at `provider`) connected to `acme`
/// with its client id and secret.
async fn connected_world(provider: &MockServer) -> World {
    connected_world_with(provider, fixture("acme-oauth.json"), |state| state).await
}

/// [`connected_world`] with another descriptor and adjusted state.
async fn connected_world_with(
    provider: &MockServer,
    descriptor: Value,
    configure: impl FnOnce(RegistryState) -> RegistryState,
) -> World {
    let world = spawn_with(configure).await;
    assert_eq!(
        world.send(Method::POST, "/connectors", Some(ADMIN), Some(descriptor)).await.status,
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

/// A started flow: the authorisation URL and the browser cookie (`name=value`) set with it.
struct Flow {
    authorize: Url,
    cookie: String,
}

impl Flow {
    fn state(&self) -> String {
        param(&self.authorize, "state").unwrap()
    }
}

async fn start(world: &World) -> Flow {
    start_returning(world, None).await
}

async fn start_returning(world: &World, return_to: Option<&str>) -> Flow {
    let reply = start_reply(world, return_to).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().trim().to_owned();
    Flow { authorize: Url::parse(reply.json()["authorizeUrl"].as_str().unwrap()).unwrap(), cookie }
}

async fn start_reply(world: &World, return_to: Option<&str>) -> Reply {
    let mut path = "/projects/acme/connectors/acme-oauth/oauth/start".to_owned();
    if let Some(target) = return_to {
        path =
            format!("{path}?returnTo={}", url::form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>());
    }
    world.get(&path, Some(ACME)).await
}

/// The provider's redirect back, from a browser holding `cookie` (`name=value`), if any.
async fn callback(world: &World, query: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::builder().uri(format!("/oauth/callback?{query}")).header(header::HOST, "registry.test");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    world.request(request.body(axum::body::Body::empty()).unwrap()).await
}

/// The callback of `flow` with code `the-code`, from the browser that started it.
async fn complete(world: &World, flow: &Flow) -> Reply {
    callback(world, &format!("code=the-code&state={}", flow.state()), Some(&flow.cookie)).await
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

async fn stored_access_token(world: &World) -> Option<String> {
    let stored = world.stores.secrets.get_credentials(&InstanceKey::new("acme", "acme-oauth")).await.unwrap().unwrap();
    stored.current.get("accessToken").map(|t| t.expose_secret().to_owned())
}

/// The form fields of the token requests `provider` received.
async fn token_requests(provider: &MockServer) -> Vec<std::collections::BTreeMap<String, String>> {
    let requests = provider.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| r.url.path() == "/oauth/token")
        .map(|r| url::form_urlencoded::parse(&r.body).into_owned().collect())
        .collect()
}

#[tokio::test]
async fn starting_then_calling_back_stores_the_tokens_without_showing_them() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 1).await;
    let world = connected_world(&provider).await;

    let flow = start(&world).await;
    let authorize = &flow.authorize;
    assert_eq!(
        format!("{}{}", &authorize[..url::Position::BeforePath], authorize.path()),
        format!("{}/oauth/authorize", provider.uri())
    );
    assert_eq!(param(authorize, "response_type").as_deref(), Some("code"));
    assert_eq!(param(authorize, "client_id").as_deref(), Some("client-123"));
    assert_eq!(param(authorize, "redirect_uri").as_deref(), Some(CALLBACK_URL));
    assert_eq!(param(authorize, "scope").as_deref(), Some("events:read profile"));
    assert_eq!(param(authorize, "access_type").as_deref(), Some("offline"));
    assert!(!authorize.as_str().contains(CLIENT_SECRET));
    assert_eq!(flow.state().len(), 43, "256 bits in URL-safe base64");

    let callback = complete(&world, &flow).await;
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
    let flow = start(&world).await;
    assert_eq!(complete(&world, &flow).await.status, StatusCode::OK);
    let replay = complete(&world, &flow).await;
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
        code_verifier: None,
        browser_binding: String::new(),
        return_to: None,
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
    let flow = start(&world).await;
    let state = flow.state();
    let request = Request::builder()
        .uri(format!(
            "/oauth/callback?state={state}&error=access_denied&error_description=%3Cscript%3Ex%3C%2Fscript%3E"
        ))
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .header(header::COOKIE, &flow.cookie)
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = world.request(request).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(reply.text.contains("access_denied"));
    assert!(!reply.text.contains("<script>"), "{}", reply.text);
    let again = complete(&world, &flow).await;
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

#[tokio::test]
async fn the_authorize_url_carries_the_s256_challenge_of_the_verifier_the_exchange_sends() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 1).await;
    let world = connected_world(&provider).await;
    let flow = start(&world).await;
    let challenge = param(&flow.authorize, "code_challenge").expect("a PKCE code_challenge");
    assert_eq!(param(&flow.authorize, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(complete(&world, &flow).await.status, StatusCode::OK);

    let exchanges = token_requests(&provider).await;
    let verifier = exchanges[0].get("code_verifier").expect("the exchange sends code_verifier").clone();
    assert!((43..=128).contains(&verifier.len()), "RFC 7636 verifier length: {}", verifier.len());
    assert!(verifier.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)), "{verifier}");
    assert_eq!(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())), challenge);
    // The verifier stays on the server: never in the browser's URL or any response.
    assert!(!flow.authorize.as_str().contains(&verifier));
    assert!(world.transcript().iter().all(|body| !body.contains(&verifier)));
}

#[tokio::test]
async fn pkce_false_sends_neither_challenge_nor_verifier() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 1).await;
    let mut descriptor = fixture("acme-oauth.json");
    descriptor["auth"]["config"]["pkce"] = json!(false);
    let world = connected_world_with(&provider, descriptor, |state| state).await;
    let flow = start(&world).await;
    assert_eq!(param(&flow.authorize, "code_challenge"), None);
    assert_eq!(param(&flow.authorize, "code_challenge_method"), None);
    assert_eq!(complete(&world, &flow).await.status, StatusCode::OK);
    let exchanges = token_requests(&provider).await;
    assert_eq!(exchanges.len(), 1);
    assert!(!exchanges[0].contains_key("code_verifier"), "{:?}", exchanges[0].keys());
}

#[tokio::test]
async fn starting_sets_an_http_only_lax_secure_cookie_limited_to_the_callback() {
    let provider = MockServer::start().await;
    let world = connected_world(&provider).await;
    let reply = start_reply(&world, None).await;
    let set_cookie = reply.headers[header::SET_COOKIE].to_str().unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/oauth/callback", "Max-Age=600"] {
        assert!(set_cookie.split("; ").any(|a| a == attribute), "{attribute} missing: {set_cookie}");
    }
    let nonce = set_cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert!(nonce.len() >= 43, "a 256-bit nonce");
    assert!(!reply.text.contains(nonce), "the nonce is only in the cookie");
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused_and_stores_nothing() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 1).await;
    let world = connected_world(&provider).await;

    // Alice starts; the callback URL reaches a browser without her cookie.
    let alice = start(&world).await;
    let query = format!("code=the-code&state={}", alice.state());
    let stranger = callback(&world, &query, None).await;
    assert_eq!(stranger.status, StatusCode::FORBIDDEN, "{}", stranger.text);
    assert_eq!(stranger.code(), "forbidden");
    assert!(stranger.text.contains("another browser"), "{}", stranger.text);
    assert_eq!(stored_access_token(&world).await, None);
    assert!(token_requests(&provider).await.is_empty(), "the code was not exchanged");
    // The state is spent: a leaked callback URL cannot be completed later either.
    assert_eq!(complete(&world, &alice).await.status, StatusCode::BAD_REQUEST);

    // A browser with its own binding cookie, renamed after Alice's state, is refused too.
    let alice = start(&world).await;
    let other = start(&world).await;
    let (alice_name, _) = alice.cookie.split_once('=').unwrap();
    let (_, other_nonce) = other.cookie.split_once('=').unwrap();
    let query = format!("code=the-code&state={}", alice.state());
    let forged = callback(&world, &query, Some(&format!("{alice_name}={other_nonce}"))).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);
    assert_eq!(stored_access_token(&world).await, None);

    // The browser that started a flow completes it.
    let done = complete(&world, &other).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(stored_access_token(&world).await.as_deref(), Some(ACCESS_TOKEN));
    let cleared = done.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.starts_with(&format!("{}=;", other.cookie.split_once('=').unwrap().0)), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn return_to_outside_the_dashboard_origin_is_refused_at_the_start() {
    let provider = MockServer::start().await;
    let dashboard = OAuthSettings::parse_dashboard_origin("https://dashboard.example").unwrap();
    let world =
        connected_world_with(&provider, fixture("acme-oauth.json"), |state| state.with_dashboard_origin(dashboard))
            .await;
    for target in [
        "https://evil.example/",
        "//evil.example/x",
        "https://dashboard.example@evil.example/",
        "https://dashboard.example.evil.example/",
        "http://dashboard.example/",
        "https://dashboard.example:8443/",
        "javascript:alert(1)",
        "https://registry.example/",
    ] {
        let reply = start_reply(&world, Some(target)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{target}: {}", reply.text);
        assert!(reply.text.contains("https://dashboard.example"), "{target}: {}", reply.text);
        assert!(reply.headers.get(header::SET_COOKIE).is_none(), "{target}: no flow started");
    }
}

#[tokio::test]
async fn after_the_callback_the_browser_goes_back_to_the_dashboard() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 2).await;
    let dashboard = OAuthSettings::parse_dashboard_origin("https://dashboard.example").unwrap();
    let world =
        connected_world_with(&provider, fixture("acme-oauth.json"), |state| state.with_dashboard_origin(dashboard))
            .await;
    let flow = start_returning(&world, Some("https://dashboard.example/projects/acme?tab=connectors")).await;
    let done = complete(&world, &flow).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(done.headers[header::LOCATION], "https://dashboard.example/projects/acme?tab=connectors");

    // A path is taken relative to the dashboard.
    let flow = start_returning(&world, Some("/projects/acme")).await;
    let done = complete(&world, &flow).await;
    assert_eq!(done.headers[header::LOCATION], "https://dashboard.example/projects/acme");
}

#[tokio::test]
async fn without_a_dashboard_origin_return_to_stays_on_the_configured_callback_origin() {
    let provider = MockServer::start().await;
    let world = connected_world(&provider).await;
    assert_eq!(start_reply(&world, Some("https://evil.example/")).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(start_reply(&world, Some("https://registry.example/app")).await.status, StatusCode::OK);

    // A world whose redirect URI comes from the request's Host: that is no configuration.
    let unconfigured = connected_world_with(&provider, fixture("acme-oauth.json"), |mut state| {
        state.oauth.callback_url = None;
        state
    })
    .await;
    let reply = start_reply(&unconfigured, Some("https://registry.test/")).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "a Host header is no configuration: {}", reply.text);
    assert!(reply.text.contains("SWITCHBOARD_DASHBOARD_ORIGIN"), "{}", reply.text);
}

#[test]
fn a_dashboard_origin_setting_is_an_origin_and_nothing_more() {
    assert!(OAuthSettings::parse_dashboard_origin("https://dash.example").is_ok());
    assert!(OAuthSettings::parse_dashboard_origin("http://127.0.0.1:3000/").is_ok());
    for bad in [
        "dash.example",
        "https://dash.example/app",
        "https://u@dash.example",
        "ftp://dash.example",
        "https://d.example/?x=1",
    ] {
        assert!(OAuthSettings::parse_dashboard_origin(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_fails_the_callback_within_the_limit() {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&provider)
        .await;
    let limits = TokenLimits { timeout: Duration::from_millis(300), ..TokenLimits::default() };
    let world =
        connected_world_with(&provider, fixture("acme-oauth.json"), |state| state.with_token_limits(limits)).await;
    let flow = start(&world).await;
    let began = Instant::now();
    let reply = complete(&world, &flow).await;
    assert!(began.elapsed() < Duration::from_secs(5), "took {:?}", began.elapsed());
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.text);
    assert!(reply.text.contains("within"), "{}", reply.text);
    assert_eq!(stored_access_token(&world).await, None);
}

#[tokio::test]
async fn an_oversized_token_answer_is_refused_and_not_shown() {
    let provider = MockServer::start().await;
    let padding = "p".repeat(100 * 1024);
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": ACCESS_TOKEN, "padding": padding})),
        )
        .mount(&provider)
        .await;
    let world = connected_world(&provider).await;
    let reply = complete(&world, &start(&world).await).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.text);
    assert!(reply.text.contains("larger than 65536 bytes"), "{}", reply.text);
    assert!(!reply.text.contains(ACCESS_TOKEN));
    assert_eq!(stored_access_token(&world).await, None);
}

#[tokio::test]
async fn a_token_url_on_an_internal_address_is_refused_by_the_egress_guard_and_stores_nothing() {
    let provider = MockServer::start().await;
    token_endpoint(&provider, 0).await;
    let mut descriptor = fixture("acme-oauth.json");
    descriptor["auth"]["config"]["tokenUrl"] = json!("http://169.254.169.254/latest/meta-data/oauth/token");
    let world = connected_world_with(&provider, descriptor, |state| state).await;
    let reply = complete(&world, &start(&world).await).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(reply.text.contains("egress_denied") && reply.text.contains("169.254.169.254"), "{}", reply.text);
    assert!(!reply.text.contains(CLIENT_SECRET));
    assert_eq!(stored_access_token(&world).await, None);
}
