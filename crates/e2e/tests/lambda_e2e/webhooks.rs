//! A GitHub pull request webhook, from the registry API to the signals queue, through the real
//! registry-api, webhook-gateway and normaliser binaries.

use serde_json::json;

use crate::events::claims;
use crate::github::{PULL_REQUEST_OPENED, delivery_headers};
use crate::world::World;

const TOKEN: &str = "github_pat_e2e_token_value_1234";
const SECRET: &str = "e2e webhook secret 5678";
const WEBHOOK: &str = "/webhooks/github-prs/p1";

/// Registers `github-prs` for project `p1` as an admin of `p1`, with both credentials.
async fn register_github_prs(world: &World) {
    let body = json!({"credentials": {"token": TOKEN, "webhookSecret": SECRET}}).to_string();
    let created =
        world.registry("POST", "/projects/p1/connectors/github-prs", &body, claims("alice", "p1", true)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["credentialsSet"], json!(["token", "webhookSecret"]));
    assert!(!created.body.contains(TOKEN) && !created.body.contains(SECRET), "{}", created.body);
}

async fn deliver(world: &World, delivery_id: &str, secret: &str, path: &str) -> u16 {
    let headers = delivery_headers(delivery_id, secret, PULL_REQUEST_OPENED);
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = world.deliver(path, &headers, PULL_REQUEST_OPENED).await;
    reply.status
}

#[tokio::test]
async fn a_signed_pull_request_delivery_sent_twice_becomes_one_pr_opened_signal() {
    let world = World::start().await;
    register_github_prs(&world).await;

    assert_eq!(deliver(&world, "d-0001", SECRET, WEBHOOK).await, 202);
    assert_eq!(deliver(&world, "d-0001", SECRET, WEBHOOK).await, 202, "a redelivery is acknowledged too");

    let ingested = world.take_ingest().await;
    assert_eq!(ingested.len(), 1, "the redelivery is recognised by its delivery id and not queued again");
    let envelope: serde_json::Value = serde_json::from_str(ingested[0].body().unwrap()).unwrap();
    assert_eq!(envelope["deliveryId"], "d-0001");
    assert_eq!(world.normalise(&ingested).await, Vec::<String>::new(), "no batch item failures");

    let signals = world.take_signals().await;
    assert_eq!(signals.len(), 1, "{signals:#?}");
    let signal = &signals[0];
    assert_eq!(signal["signalType"], "pr_opened");
    assert_eq!(signal["projectId"], "p1");
    assert_eq!(signal["source"], "github-prs");
    assert_eq!(signal["externalId"], "279147437");
    assert_eq!(signal["ingestion"], "webhook");
    assert!(signal["summary"].as_str().unwrap().starts_with("Codertocat/Hello-World#2 "), "{signal}");

    // The dashboard sees it among the project's recent signals.
    let recent = world.registry("GET", "/projects/p1/signals?type=pr_opened", "", claims("bob", "p1", false)).await;
    assert_eq!(recent.status, 200, "{}", recent.body);
    assert_eq!(recent.json()["signals"][0]["id"], signal["id"], "{}", recent.body);
    let logs = world.logs();
    assert!(logs.iter().all(|line| !line.contains(TOKEN) && !line.contains(SECRET)), "a function logged a credential");
}

#[tokio::test]
async fn deliveries_for_an_unknown_project_or_with_a_bad_signature_are_refused_and_not_enqueued() {
    let world = World::start().await;
    register_github_prs(&world).await;

    assert_eq!(deliver(&world, "d-0002", SECRET, "/webhooks/github-prs/p-unknown").await, 404);
    assert_eq!(deliver(&world, "d-0003", SECRET, "/webhooks/no-such-connector/p1").await, 404);
    assert_eq!(deliver(&world, "d-0004", "not the secret", WEBHOOK).await, 401);

    assert!(world.take_ingest().await.is_empty(), "nothing was enqueued");
}

#[tokio::test]
async fn a_caller_of_another_project_can_neither_read_nor_change_it_and_no_route_returns_a_credential() {
    let world = World::start().await;
    register_github_prs(&world).await;
    let outsider = || claims("mallory", "p2", false);
    let mut bodies = Vec::new();

    for (method, path, body) in [
        ("GET", "/projects/p1/connectors", ""),
        ("GET", "/projects/p1/connectors/github-prs", ""),
        ("GET", "/projects/p1/connectors/github-prs/health", ""),
        ("GET", "/projects/p1/signals", ""),
        ("PATCH", "/projects/p1/connectors/github-prs", r#"{"enabled": false}"#),
        ("POST", "/projects/p1/connectors/github-prs/enable", r#"{"enabled": false}"#),
        ("DELETE", "/projects/p1/connectors/github-prs", ""),
    ] {
        let reply = world.registry(method, path, body, outsider()).await;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
        bodies.push(reply.body);
    }
    let member = || claims("bob", "p1", false);
    let instance = world.registry("GET", "/projects/p1/connectors/github-prs", "", member()).await;
    assert_eq!(instance.status, 200, "{}", instance.body);
    assert_eq!(instance.json()["enabled"], true, "the outsider changed nothing");
    assert_eq!(instance.json()["credentialsSet"], json!(["token", "webhookSecret"]));
    bodies.push(instance.body);
    for path in ["/projects/p1/connectors", "/projects/p1/connectors/github-prs/health", "/connectors/github-prs"] {
        let reply = world.registry("GET", path, "", member()).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        bodies.push(reply.body);
    }

    for secret in [TOKEN, SECRET] {
        assert!(bodies.iter().all(|b| !b.contains(secret)), "a response carries a credential");
        assert!(world.logs().iter().all(|line| !line.contains(secret)), "a function logged a credential");
    }
}
