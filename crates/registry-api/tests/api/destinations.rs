//! Where an instance's requests may go: URLs outside the connector's `allowedHosts` are refused
//! at create and update (unless the operator admits the host), and a change of where requests
//! go needs the credentials again, which then replace the stored ones.

use axum::http::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use switchboard_core::ports::{CredentialChange, Credentials, InstanceKey};
use wiremock::MockServer;

use crate::support::{ACME, ADMIN, Reply, World, fixture, spawn, spawn_with};

const GITHUB: &str = "/projects/acme/connectors/github-issues";
const TOKEN: &str = "ghp_destination_SECRET_1111";
const NEW_TOKEN: &str = "ghp_destination_SECRET_2222";

fn pointers(reply: &Reply) -> Vec<String> {
    reply.json()["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("no details: {}", reply.text))
        .iter()
        .map(|d| d["pointer"].as_str().unwrap().to_owned())
        .collect()
}

fn github_body(base_url: &str) -> Value {
    json!({"config": {"owner": "octo", "repo": "hello", "baseUrl": base_url}, "credentials": {"token": TOKEN}})
}

/// A fake that must never be contacted: its drop fails the test if it was.
async fn untouchable() -> MockServer {
    let server = MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    server
}

/// The base URLs a tenant could use to reach what it must not: a loopback fake, the instance
/// metadata service, an IPv4-mapped IPv6 loopback, a name that resolves to loopback, and a host
/// of its own.
fn hostile_base_urls(fake: &MockServer) -> Vec<String> {
    vec![
        fake.uri(),
        "http://169.254.169.254/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        format!("http://localhost:{}/", fake.address().port()),
        "https://attacker.example".to_owned(),
    ]
}

async fn stored_token(world: &World, key: &InstanceKey) -> Option<String> {
    let stored = world.stores.secrets.read_latest_credentials(key).await.unwrap()?;
    stored.current.get("token").map(|t| t.expose_secret().to_owned())
}

#[tokio::test]
async fn a_github_instance_pointing_outside_its_allowed_hosts_is_refused_at_create_and_nothing_is_stored() {
    let fake = untouchable().await;
    let world = spawn().await;
    for base_url in hostile_base_urls(&fake) {
        let reply = world.send(Method::POST, GITHUB, Some(ACME), Some(github_body(&base_url))).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{base_url}: {}", reply.text);
        assert_eq!(reply.code(), "invalid_request", "{base_url}");
        assert_eq!(pointers(&reply), ["/config/baseUrl"], "{base_url}");
        let message = reply.json()["error"]["details"][0]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("api.github.com"), "{base_url}: names the allowed hosts: {message}");
        assert!(!reply.text.contains(TOKEN));
        let key = InstanceKey::new("acme", "github-issues");
        assert!(world.stores.instances.get_instance(&key).await.unwrap().is_none(), "{base_url}: stored");
        assert!(world.stores.secrets.get_credentials(&key).await.unwrap().is_none(), "{base_url}: secret stored");
    }
    // The default and the allowed host itself are fine.
    let allowed = world.send(Method::POST, GITHUB, Some(ACME), Some(github_body("https://api.github.com"))).await;
    assert_eq!(allowed.status, StatusCode::CREATED, "{}", allowed.text);
}

#[tokio::test]
async fn a_patch_pointing_outside_the_allowed_hosts_is_refused_and_changes_nothing() {
    let fake = untouchable().await;
    let world = spawn().await;
    let created = world.send(Method::POST, GITHUB, Some(ACME), Some(github_body("https://api.github.com"))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = InstanceKey::new("acme", "github-issues");
    for base_url in hostile_base_urls(&fake) {
        // Credentials resent, so only the host is wrong.
        let body = json!({"config": {"owner": "octo", "repo": "hello", "baseUrl": base_url}, "credentials": {"token": NEW_TOKEN}});
        let reply = world.send(Method::PATCH, GITHUB, Some(ACME), Some(body)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{base_url}: {}", reply.text);
        assert_eq!(pointers(&reply), ["/config/baseUrl"], "{base_url}");
        let stored = world.stores.instances.get_instance(&key).await.unwrap().unwrap();
        assert_eq!(stored.config.get("baseUrl").map(String::as_str), Some("https://api.github.com"), "{base_url}");
        assert_eq!(stored_token(&world, &key).await.as_deref(), Some(TOKEN), "{base_url}");
    }
}

#[tokio::test]
async fn a_host_the_operator_admits_is_accepted_for_every_descriptor_and_only_that_host() {
    let fake = MockServer::start().await;
    let port = fake.address().port();
    let world =
        spawn_with(move |state| state.with_operator_admits_host(move |host, p| host == "127.0.0.1" && p == port)).await;
    let created = world.send(Method::POST, GITHUB, Some(ACME), Some(github_body(&fake.uri()))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    for refused in [
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://169.254.169.254/".to_owned(),
    ] {
        let body =
            json!({"config": {"owner": "octo", "repo": "hello", "baseUrl": refused}, "credentials": {"token": TOKEN}});
        let reply = world.send(Method::PATCH, GITHUB, Some(ACME), Some(body)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}: {}", reply.text);
    }
}

/// `acme-oauth` with its hosts restricted to `*.acme.example` and its API on a per-tenant
/// subdomain taken from config (`https://{{config.site}}.acme.example`).
fn acme_on_subdomains() -> Value {
    let mut descriptor = fixture("acme-oauth.json");
    descriptor["id"] = json!("acme-sites");
    descriptor["allowedHosts"] = json!(["*.acme.example"]);
    descriptor["configFields"][0]["default"] = json!("https://api.acme.example");
    descriptor["configFields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"key": "site", "label": "Site", "type": "text", "required": true}));
    descriptor["ingestion"]["endpoint"] = json!("https://{{config.site}}.acme.example/events");
    descriptor
}

#[tokio::test]
async fn a_config_value_that_feeds_a_host_is_checked_and_binds_the_credentials() {
    let world = spawn().await;
    let registered = world.send(Method::POST, "/connectors", Some(ADMIN), Some(acme_on_subdomains())).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    let path = "/projects/acme/connectors/acme-sites";
    let credentials = json!({"clientId": "client-1", "clientSecret": "cs_SECRET_sites"});

    // A site value that ends the host early sends the request elsewhere.
    let body = json!({"config": {"site": "attacker.example/"}, "credentials": credentials});
    let reply = world.send(Method::POST, path, Some(ACME), Some(body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(pointers(&reply), ["/config/site"]);
    assert!(reply.text.contains("attacker.example"), "{}", reply.text);

    let body = json!({"config": {"site": "tenant-a"}, "credentials": credentials});
    assert_eq!(world.send(Method::POST, path, Some(ACME), Some(body)).await.status, StatusCode::CREATED);
    // Moving to another tenant's site is moving the credentials: they must come along.
    let moved = world.send(Method::PATCH, path, Some(ACME), Some(json!({"config": {"site": "tenant-b"}}))).await;
    assert_eq!(moved.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", moved.text);
    assert_eq!(pointers(&moved), ["/credentials"]);
    assert!(moved.text.contains("`site`"), "{}", moved.text);
}

#[tokio::test]
async fn a_config_only_patch_that_changes_base_url_is_refused_and_the_stored_credentials_are_untouched() {
    // GitHub Enterprise Server at a host the operator admits is a legitimate destination, but
    // moving there needs the token again.
    let world = spawn_with(|state| state.with_operator_admits_host(|host, _| host == "ghe.acme.example")).await;
    let key = InstanceKey::new("acme", "github-issues");
    let created = world.send(Method::POST, GITHUB, Some(ACME), Some(github_body("https://api.github.com"))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let version_before = world.stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap().version;

    let config = json!({"owner": "octo", "repo": "hello", "baseUrl": "https://ghe.acme.example/api/v3"});
    let reply = world.send(Method::PATCH, GITHUB, Some(ACME), Some(json!({"config": config}))).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(pointers(&reply), ["/credentials"]);
    let message = reply.json()["error"]["details"][0]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("`baseUrl`") && message.contains("token"), "{message}");

    let stored = world.stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap();
    assert_eq!(stored.version, version_before, "the stored credentials were rewritten");
    assert_eq!(stored.current.get("token").unwrap().expose_secret(), TOKEN);
    let instance = world.stores.instances.get_instance(&key).await.unwrap().unwrap();
    assert_eq!(instance.config.get("baseUrl").map(String::as_str), Some("https://api.github.com"));

    // Leaving baseUrl out falls back to the default: also a move when it was set to another host.
    let both = json!({"config": config, "credentials": {"token": NEW_TOKEN}});
    let reply = world.send(Method::PATCH, GITHUB, Some(ACME), Some(both)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(stored_token(&world, &key).await.as_deref(), Some(NEW_TOKEN));
    let back = json!({"config": {"owner": "octo", "repo": "hello"}});
    let reply = world.send(Method::PATCH, GITHUB, Some(ACME), Some(back)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(pointers(&reply), ["/credentials"]);

    // A config change that keeps the destination needs no credentials.
    let same_host = json!({"config": {"owner": "octo", "repo": "world", "baseUrl": "https://ghe.acme.example/api/v3"}});
    let reply = world.send(Method::PATCH, GITHUB, Some(ACME), Some(same_host)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(stored_token(&world, &key).await.as_deref(), Some(NEW_TOKEN));
}

#[tokio::test]
async fn resent_credentials_replace_the_stored_ones_and_must_be_complete() {
    let world = spawn_with(|state| state.with_operator_admits_host(|host, _| host == "acme-eu.example")).await;
    let registered = world.send(Method::POST, "/connectors", Some(ADMIN), Some(fixture("acme-oauth.json"))).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text);
    let path = "/projects/acme/connectors/acme-oauth";
    let key = InstanceKey::new("acme", "acme-oauth");
    let body = json!({"credentials": {"clientId": "client-1", "clientSecret": "cs_SECRET_old"}});
    assert_eq!(world.send(Method::POST, path, Some(ACME), Some(body)).await.status, StatusCode::CREATED);
    // Tokens obtained for the old host.
    let tokens: Credentials =
        [("accessToken", "at_SECRET_old_host"), ("refreshToken", "rt_SECRET_old_host")].into_iter().collect();
    world.stores.update_credentials(&key, &CredentialChange::merge(&tokens)).await.unwrap();

    // Only part of the required credentials: refused, naming the missing one.
    let partial = json!({"config": {"baseUrl": "https://acme-eu.example"}, "credentials": {"clientId": "client-2"}});
    let reply = world.send(Method::PATCH, path, Some(ACME), Some(partial)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(pointers(&reply), ["/credentials/clientSecret"]);

    let full = json!({
        "config": {"baseUrl": "https://acme-eu.example"},
        "credentials": {"clientId": "client-2", "clientSecret": "cs_SECRET_new"}
    });
    let reply = world.send(Method::PATCH, path, Some(ACME), Some(full)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["credentialsSet"], json!(["clientId", "clientSecret"]));
    let stored = world.stores.secrets.read_latest_credentials(&key).await.unwrap().unwrap().current;
    assert_eq!(stored.keys().collect::<Vec<_>>(), ["clientId", "clientSecret"], "the old host's tokens were kept");
    assert_eq!(stored.get("clientSecret").unwrap().expose_secret(), "cs_SECRET_new");
    for body in world.transcript() {
        assert!(!body.contains("SECRET_"), "a response showed a credential: {body}");
    }
}

#[tokio::test]
async fn by_default_the_operator_admits_what_the_egress_allowance_lists_by_name_or_address() {
    let (_dir, stores) = crate::support::open_stores();
    let egress = switchboard_poll::EgressAllow::parse("127.0.0.1:8080,ghe.acme.example").unwrap();
    let engine =
        switchboard_poll::PollEngine::new(switchboard_poll::PollOptions { egress, ..Default::default() }).unwrap();
    let resolver = switchboard_registry_api::auth::BearerTokenResolver::admin(&secrecy::SecretString::from(ADMIN));
    let state = switchboard_registry_api::RegistryState::new(
        stores,
        std::sync::Arc::new(resolver),
        switchboard_core::NativeRegistry::new(),
        engine,
    );
    let admits = state.operator_admits_host.as_ref();
    assert!(admits("127.0.0.1", 8080));
    assert!(admits("ghe.acme.example", 443));
    assert!(!admits("127.0.0.1", 9001), "the Lambda Runtime API port is not listed");
    assert!(!admits("169.254.169.254", 80));
    assert!(!admits("attacker.example", 443));
}
