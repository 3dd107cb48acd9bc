use axum::http::{Method, StatusCode};
use chrono::{TimeDelta, Utc};
use secrecy::ExposeSecret;
use serde_json::json;
use switchboard_core::ports::{InstanceKey, SignalCounts, SyncRun, SyncStatus};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ACME, ADMIN, spawn, spawn_admitting_loopback};

const FIRST_TOKEN: &str = "ghp_lifecycle_first_SECRET_1111";
const SECOND_TOKEN: &str = "ghp_lifecycle_second_SECRET_2222";

#[tokio::test]
async fn an_instance_goes_through_its_lifecycle_and_no_response_ever_shows_a_credential() {
    let github = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/octo"))
        .and(header("authorization", format!("Bearer {FIRST_TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"login": "octo", "type": "User"})))
        .mount(&github)
        .await;
    let world = spawn_admitting_loopback().await;
    let base = "/projects/acme/connectors/github-issues";

    // Connect.
    let body = json!({
        "config": {"owner": "octo", "repo": "hello", "baseUrl": github.uri()},
        "credentials": {"token": FIRST_TOKEN},
        "enabled": true
    });
    let created = world.send(Method::POST, base, Some(ACME), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let created = created.json();
    assert_eq!(created["credentialsSet"], json!(["token"]));
    assert_eq!(created["config"]["owner"], "octo");
    assert_eq!(created["health"]["status"], "unknown");

    // Read it back, alone and in the project's list.
    let one = world.get(base, Some(ACME)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["credentialsSet"], json!(["token"]));
    let list = world.get("/projects/acme/connectors", Some(ACME)).await.json();
    assert_eq!(list["instances"].as_array().unwrap().len(), 1);

    // Test the connection: the stored token reaches the API.
    let test = world.send(Method::POST, &format!("{base}/test"), Some(ACME), None).await;
    assert_eq!(test.status, StatusCode::OK, "{}", test.text);
    let test = test.json();
    assert_eq!(test["healthy"], true, "{test}");
    assert_eq!(test["httpStatus"], 200);
    assert_eq!(test["health"]["status"], "healthy");

    // Monitoring: counts of the last day and week, and sync runs.
    let key = InstanceKey::new("acme", "github-issues");
    let now = Utc::now();
    world
        .stores
        .stats
        .add_signal_counts(&key, now, SignalCounts { signals: 3, ignored: 1, ..Default::default() })
        .await
        .unwrap();
    let three_days_ago = now - TimeDelta::days(3);
    world
        .stores
        .stats
        .add_signal_counts(&key, three_days_ago, SignalCounts { signals: 4, ..Default::default() })
        .await
        .unwrap();
    let eight_days_ago = now - TimeDelta::days(8);
    world
        .stores
        .stats
        .add_signal_counts(&key, eight_days_ago, SignalCounts { signals: 50, ..Default::default() })
        .await
        .unwrap();
    let run =
        SyncRun { started_at: now, status: SyncStatus::Succeeded, pages: 2, items: 7, duration_ms: 120, error: None };
    world.stores.stats.record_sync_run(&key, &run).await.unwrap();
    let health = world.get(&format!("{base}/health"), Some(ACME)).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    let health = health.json();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["consecutiveFailures"], 0);
    assert!(health["latencyMs"].is_u64());
    assert_eq!(health["signals"]["last24h"]["signals"], 3);
    assert_eq!(health["signals"]["last24h"]["ignored"], 1);
    assert_eq!(health["signals"]["last7d"]["signals"], 7);
    assert_eq!(health["recentSyncs"][0]["items"], 7);
    assert_eq!(health["recentSyncs"][0]["status"], "succeeded");

    // Rotate the token: the secret store holds the new one, the API still does not show it.
    let patched =
        world.send(Method::PATCH, base, Some(ACME), Some(json!({"credentials": {"token": SECOND_TOKEN}}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json()["credentialsSet"], json!(["token"]));
    let stored = world.stores.secrets.get_credentials(&key).await.unwrap().unwrap();
    assert_eq!(stored.current.get("token").unwrap().expose_secret(), SECOND_TOKEN);

    // The mock only knows the first token, so the next check fails and the instance degrades.
    let test = world.send(Method::POST, &format!("{base}/test"), Some(ACME), None).await.json();
    assert_eq!(test["healthy"], false, "{test}");
    assert_eq!(test["health"]["status"], "degraded");
    assert_eq!(test["health"]["consecutiveFailures"], 1);

    // Change config (same destination, so no credentials needed), then disable.
    let config = json!({"owner": "octo", "repo": "world", "baseUrl": github.uri()});
    let patched = world.send(Method::PATCH, base, Some(ACME), Some(json!({"config": config}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.json()["config"], config);
    let disabled =
        world.send(Method::POST, &format!("{base}/enable"), Some(ACME), Some(json!({"enabled": false}))).await;
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(disabled.json()["enabled"], false);
    assert!(!world.stores.instances.get_instance(&key).await.unwrap().unwrap().enabled);

    // Disconnect.
    let deleted = world.send(Method::DELETE, base, Some(ACME), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(world.get(base, Some(ACME)).await.status, StatusCode::NOT_FOUND);

    let transcript = world.transcript();
    assert_eq!(transcript.len(), 11);
    for body in transcript {
        assert!(!body.contains(FIRST_TOKEN) && !body.contains(SECOND_TOKEN), "a response showed a credential: {body}");
        assert!(!body.contains("SECRET_"), "a response showed part of a credential: {body}");
    }
}

#[tokio::test]
async fn deleting_an_instance_removes_its_secret_and_checkpoint() {
    let world = spawn().await;
    let base = "/projects/acme/connectors/linear";
    let body = json!({"credentials": {"apiKey": "lin_api_delete_me"}});
    assert_eq!(world.send(Method::POST, base, Some(ACME), Some(body)).await.status, StatusCode::CREATED);
    let key = InstanceKey::new("acme", "linear");
    world.stores.checkpoints.advance_checkpoint(&key, 0, "2025-01-01T00:00:00Z").await.unwrap();
    assert!(world.stores.secrets.get_credentials(&key).await.unwrap().is_some());

    assert_eq!(world.send(Method::DELETE, base, Some(ACME), None).await.status, StatusCode::NO_CONTENT);

    assert!(world.stores.secrets.get_credentials(&key).await.unwrap().is_none());
    assert!(world.stores.checkpoints.read_checkpoint(&key).await.unwrap().is_none());
    assert!(world.stores.instances.get_instance(&key).await.unwrap().is_none());
}

#[tokio::test]
async fn a_create_missing_required_fields_or_carrying_unknown_keys_names_each_one() {
    let world = spawn().await;
    let body = json!({
        "config": {"repo": "hello", "colour": "blue"},
        "credentials": {"password": "hunter2-unknown", "token": ""}
    });
    let reply = world.send(Method::POST, "/projects/acme/connectors/github-issues", Some(ACME), Some(body)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert_eq!(reply.code(), "invalid_request");
    let pointers: Vec<String> = reply.json()["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["pointer"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(pointers, ["/config/colour", "/config/owner", "/credentials/password", "/credentials/token"]);
    let message = reply.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("owner") && message.contains("token"), "{message}");
    assert!(!reply.text.contains("hunter2"));
    assert!(world.stores.instances.get_instance(&InstanceKey::new("acme", "github-issues")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_second_create_conflicts_and_an_unknown_connector_is_not_found() {
    let world = spawn().await;
    let body = json!({"credentials": {"apiKey": "lin_api_x"}});
    let path = "/projects/acme/connectors/linear";
    assert_eq!(world.send(Method::POST, path, Some(ACME), Some(body.clone())).await.status, StatusCode::CREATED);
    let again = world.send(Method::POST, path, Some(ACME), Some(body.clone())).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let unknown = world.send(Method::POST, "/projects/acme/connectors/no-such-tool", Some(ACME), Some(body)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "not_found");
}

#[tokio::test]
async fn malformed_bodies_and_bad_project_ids_are_bad_requests_that_do_not_echo_values() {
    let world = spawn().await;
    let path = "/projects/acme/connectors/linear";
    let reply = world.send(Method::POST, path, Some(ACME), Some(json!({"credentials": "sk_echo_me"}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    assert!(!reply.text.contains("sk_echo_me"), "{}", reply.text);
    let reply = world.send(Method::POST, path, Some(ACME), Some(json!({"credential": {}}))).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.text.contains("unknown field `credential`"), "{}", reply.text);
    let reply = world
        .send(
            Method::POST,
            "/projects/bad%23id/connectors/linear",
            Some(ADMIN),
            Some(json!({"credentials": {"apiKey": "k"}})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
}

/// The next poll time the poller's due listing reads is stored by the registry on each change
/// of what the schedule reads: an interval, a disable, a re-enable.
#[tokio::test]
async fn the_stored_next_poll_time_follows_an_interval_change_a_disable_and_a_re_enable() {
    use switchboard_core::ports::{HealthUpdate, PollRecord, store_now};
    let world = spawn_admitting_loopback().await;
    let base = "/projects/acme/connectors/github-issues";
    let body = json!({"config": {"owner": "octo", "repo": "hello"}, "credentials": {"token": FIRST_TOKEN}});
    let created = world.send(Method::POST, base, Some(ACME), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = InstanceKey::new("acme", "github-issues");
    let stored = || async { world.stores.instances.get_instance(&key).await.unwrap().unwrap() };
    let record = stored().await;
    assert_eq!(record.next_poll_at, Some(record.created_at), "a new instance is due at once");

    let synced = store_now();
    let run = PollRecord {
        started_at: synced,
        items: 0,
        failed: false,
        health: Some(HealthUpdate::Synced { at: synced }),
        backfill: None,
        next_poll_at: Some(synced + TimeDelta::seconds(300)),
    };
    world.stores.instances.record_poll(&key, &run).await.unwrap();

    let patched = world.send(Method::PATCH, base, Some(ACME), Some(json!({"pollingIntervalSeconds": 3600}))).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(stored().await.next_poll_at, Some(synced + TimeDelta::seconds(3600)));

    let enable = format!("{base}/enable");
    let off = world.send(Method::POST, &enable, Some(ACME), Some(json!({"enabled": false}))).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.text);
    assert_eq!(stored().await.next_poll_at, None, "a disabled instance is out of the schedule");
    let on = world.send(Method::POST, &enable, Some(ACME), Some(json!({"enabled": true}))).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.text);
    assert_eq!(stored().await.next_poll_at, Some(synced + TimeDelta::seconds(3600)));
}
