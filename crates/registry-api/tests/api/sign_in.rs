//! The dashboard's sign-in: `GET /dashboard/sign-in.json` says what the page may offer (admin
//! token, OIDC issuer), the issuer's discovery document is read on first need and checked, the
//! page's policy admits the token endpoint and nothing more; and the ID tokens `serve` accepts are
//! checked as API Gateway's JWT authorizer checks them.

use std::sync::Arc;

use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use switchboard_registry_api::auth::CallerResolver;
use switchboard_registry_api::jwt_resolver::JwtResolver;
use switchboard_registry_api::{OidcSettings, OidcSignIn, ProjectAccess, SignIn};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::spawn_with;

const CLIENT: &str = "dashboard-client";

/// An issuer whose discovery document is `document(its URL)`, expecting `reads` requests.
async fn issuer_answering(reads: u64, document: impl Fn(&str) -> Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(document(&server.uri())))
        .expect(reads)
        .mount(&server)
        .await;
    server
}

fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": "https://auth.example.com/oauth2/authorize",
        "token_endpoint": "https://auth.example.com/oauth2/token",
        "jwks_uri": format!("{issuer}/jwks"),
        "end_session_endpoint": "https://auth.example.com/logout"
    })
}

fn oidc(issuer: &str) -> SignIn {
    let settings = OidcSettings::new(issuer, CLIENT, None).unwrap();
    SignIn { admin_token: false, oidc: Some(Arc::new(OidcSignIn::new(settings))) }
}

fn csp(headers: &HeaderMap) -> &str {
    headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn without_an_issuer_the_page_is_told_which_sign_in_it_may_offer() {
    let deployed = spawn_with(|state| state).await;
    let reply = deployed.get("/dashboard/sign-in.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json(), json!({"adminToken": false, "oidc": null}));

    let local =
        spawn_with(|state| switchboard_registry_api::RegistryState { sign_in: SignIn::admin_token(), ..state }).await;
    assert_eq!(local.get("/dashboard/sign-in.json", None).await.json(), json!({"adminToken": true, "oidc": null}));
    assert_eq!(csp(&local.get("/", None).await.headers).matches("connect-src 'self';").count(), 1);
}

#[tokio::test]
async fn with_an_issuer_the_page_gets_its_endpoints_and_may_reach_only_its_token_endpoint() {
    let issuer = issuer_answering(1, discovery).await;
    let uri = issuer.uri();
    let world = spawn_with(|state| switchboard_registry_api::RegistryState { sign_in: oidc(&uri), ..state }).await;

    let page = world.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(csp(&page.headers).contains("connect-src 'self' https://auth.example.com;"), "{}", csp(&page.headers));
    // The other assets keep the plain policy: only the page's own policy governs its requests.
    let script = world.get("/dashboard/app.js", None).await;
    assert!(csp(&script.headers).contains("connect-src 'self';"), "{}", csp(&script.headers));

    let reply = world.get("/dashboard/sign-in.json", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json(),
        json!({"adminToken": false, "oidc": {
            "issuer": uri, "clientId": CLIENT, "scopes": "openid email profile",
            "authorizationEndpoint": "https://auth.example.com/oauth2/authorize",
            "tokenEndpoint": "https://auth.example.com/oauth2/token",
            "endSessionEndpoint": "https://auth.example.com/logout"
        }})
    );
    // Read once (the mock expects exactly one request), kept for the process.
    issuer.verify().await;
}

#[tokio::test]
async fn the_issuers_http_client_is_built_by_the_first_read_not_at_start() {
    let issuer = issuer_answering(1, discovery).await;
    let sign_in = OidcSignIn::new(OidcSettings::new(&issuer.uri(), CLIENT, None).unwrap());
    // Building a client loads the platform's root certificates: a cold start must not pay it.
    assert!(!sign_in.http_client_built(), "built before any read");
    sign_in.discovery().await.unwrap();
    assert!(sign_in.http_client_built());
}

#[tokio::test]
async fn a_discovery_document_of_another_issuer_is_refused_with_the_reason_and_the_page_still_loads() {
    // A refused document is not kept: the page load and sign-in.json each read it again.
    let issuer = issuer_answering(2, |_| discovery("https://evil.example.com")).await;
    let uri = issuer.uri();
    let world = spawn_with(|state| switchboard_registry_api::RegistryState { sign_in: oidc(&uri), ..state }).await;
    let page = world.get("/", None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(csp(&page.headers).contains("connect-src 'self';"), "{}", csp(&page.headers));
    let reply = world.get("/dashboard/sign-in.json", None).await;
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.text);
    assert_eq!(reply.code(), "upstream_error");
    let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("not the configured") && message.contains(&uri), "{message}");
    issuer.verify().await;
}

// ---------------------------------------------------------------- ID tokens (serve)

const ISSUER: &str = "https://idp.example.com";

fn key(name: &str) -> EncodingKey {
    let pem = std::fs::read(format!("{}/tests/api/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    EncodingKey::from_ec_pem(&pem).unwrap()
}

fn published_keys() -> JwkSet {
    let mut jwk = Jwk::from_encoding_key(&key("test-es256-issuer.pem"), Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".to_owned());
    JwkSet { keys: vec![jwk] }
}

fn token(claims: Value, signer: &str) -> String {
    let header = Header { kid: Some("k1".to_owned()), ..Header::new(Algorithm::ES256) };
    jsonwebtoken::encode(&header, &claims, &key(signer)).unwrap()
}

fn claims(changes: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": ISSUER, "aud": CLIENT, "sub": "alice", "exp": now + 600, "iat": now,
                            "cognito:groups": ["switchboard-project-acme"]});
    for (name, value) in changes.as_object().unwrap() {
        claims[name] = value.clone();
    }
    claims
}

fn resolve(resolver: &JwtResolver, token: &str) -> Result<switchboard_registry_api::Caller, String> {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
    resolver.resolve(&headers, &Extensions::new()).map_err(|e| e.to_string())
}

#[test]
fn an_id_token_of_the_issuer_for_the_client_is_its_user_with_the_projects_its_groups_grant() {
    let resolver = JwtResolver::new(ISSUER, vec![CLIENT.to_owned()], published_keys());
    let caller = resolve(&resolver, &token(claims(json!({})), "test-es256-issuer.pem")).unwrap();
    assert_eq!(caller.subject, "alice");
    assert!(!caller.admin);
    assert_eq!(caller.projects, ProjectAccess::Only(["acme".to_owned()].into()));
}

#[test]
fn tokens_of_another_issuer_audience_key_or_time_are_refused() {
    let resolver = JwtResolver::new(ISSUER, vec![CLIENT.to_owned()], published_keys());
    let now = chrono::Utc::now().timestamp();
    let refused = [
        ("another issuer", token(claims(json!({"iss": "https://evil.example.com"})), "test-es256-issuer.pem")),
        ("another audience", token(claims(json!({"aud": "other-client"})), "test-es256-issuer.pem")),
        ("expired", token(claims(json!({"exp": now - 3600})), "test-es256-issuer.pem")),
        ("not valid yet", token(claims(json!({"nbf": now + 3600})), "test-es256-issuer.pem")),
        ("another key", token(claims(json!({})), "test-es256-other.pem")),
        ("no subject", token(claims(json!({"sub": null})), "test-es256-issuer.pem")),
    ];
    for (why, token) in refused {
        assert!(resolve(&resolver, &token).is_err(), "a token with {why} was accepted");
    }
    // A shared-secret token naming the issuer's key id is refused whatever its signature.
    let hs = jsonwebtoken::encode(
        &Header { kid: Some("k1".to_owned()), ..Header::new(Algorithm::HS256) },
        &claims(json!({})),
        &EncodingKey::from_secret(b"anyone can pick this").unwrap(),
    )
    .unwrap();
    assert!(resolve(&resolver, &hs).is_err());
    assert!(resolve(&resolver, "not-a-jwt").is_err());
}

#[test]
fn replaced_keys_take_effect_for_the_next_token() {
    let resolver = JwtResolver::new(ISSUER, vec![CLIENT.to_owned()], JwkSet { keys: vec![] });
    let signed = token(claims(json!({})), "test-es256-issuer.pem");
    assert!(resolve(&resolver, &signed).is_err());
    resolver.replace_keys(published_keys());
    assert!(resolve(&resolver, &signed).is_ok());
}
