use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchboard_core::NormalisedSignal;

use crate::support::{ACME, World, spawn};

fn signal(id: &str, project: &str, signal_type: &str, timestamp: &str, related: &[&str]) -> NormalisedSignal {
    serde_json::from_value(json!({
        "id": id, "source": "github-issues", "projectId": project, "externalId": id,
        "signalType": signal_type, "timestamp": timestamp, "receivedAt": timestamp,
        "summary": format!("signal {id}"), "ingestion": "polling", "relatedItems": related
    }))
    .unwrap()
}

async fn seeded() -> World {
    let world = spawn().await;
    let day = Duration::from_secs(86_400);
    for s in [
        signal("s1", "acme", "issue_opened", "2025-03-01T10:00:00Z", &["repo#1"]),
        signal("s2", "acme", "issue_closed", "2025-03-02T10:00:00Z", &["repo#1"]),
        signal("s3", "acme", "issue_opened", "2025-03-03T10:00:00Z", &["repo#2"]),
        signal("s4", "acme", "issue_opened", "2025-03-04T10:00:00Z", &[]),
        signal("g1", "globex", "issue_opened", "2025-03-04T11:00:00Z", &["repo#1"]),
    ] {
        world.stores.signals.put_signal(&s, day * 3650).await.unwrap();
    }
    world
}

fn ids(page: &Value) -> Vec<String> {
    page["signals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn signals_are_listed_newest_first_for_the_callers_project_only() {
    let world = seeded().await;
    let page = world.get("/projects/acme/signals", Some(ACME)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let page = page.json();
    assert_eq!(ids(&page), ["s4", "s3", "s2", "s1"]);
    assert_eq!(page["nextToken"], Value::Null);
    assert_eq!(page["signals"][0]["signalType"], "issue_opened");
}

#[tokio::test]
async fn signals_filter_by_type_related_item_and_time() {
    let world = seeded().await;
    let opened = world.get("/projects/acme/signals?type=issue_opened", Some(ACME)).await.json();
    assert_eq!(ids(&opened), ["s4", "s3", "s1"]);
    let related = world.get("/projects/acme/signals?related=repo%231", Some(ACME)).await.json();
    assert_eq!(ids(&related), ["s2", "s1"]);
    let since = world.get("/projects/acme/signals?since=2025-03-02T10:00:00Z", Some(ACME)).await.json();
    assert_eq!(ids(&since), ["s4", "s3", "s2"]);
    let both = world.get("/projects/acme/signals?type=issue_opened&related=repo%231", Some(ACME)).await.json();
    assert_eq!(ids(&both), ["s1"]);
}

#[tokio::test]
async fn signals_filter_by_source_and_priority() {
    let world = seeded().await;
    let mut pr = signal("p1", "acme", "pr_opened", "2025-03-05T10:00:00Z", &[]);
    pr.source = "github-prs".into();
    pr.priority = Some(switchboard_core::model::Priority::High);
    world.stores.signals.put_signal(&pr, Duration::from_secs(86_400 * 3650)).await.unwrap();
    let by_source = world.get("/projects/acme/signals?source=github-prs", Some(ACME)).await.json();
    assert_eq!(ids(&by_source), ["p1"]);
    let by_priority = world.get("/projects/acme/signals?priority=high", Some(ACME)).await.json();
    assert_eq!(ids(&by_priority), ["p1"]);
    let issues = world.get("/projects/acme/signals?source=github-issues&priority=", Some(ACME)).await.json();
    assert_eq!(ids(&issues), ["s4", "s3", "s2", "s1"]);
}

#[tokio::test]
async fn signals_page_with_next_token() {
    let world = seeded().await;
    let mut seen = Vec::new();
    let mut path = "/projects/acme/signals?limit=3".to_owned();
    loop {
        let page = world.get(&path, Some(ACME)).await.json();
        seen.extend(ids(&page));
        match page["nextToken"].as_str() {
            Some(token) => path = format!("/projects/acme/signals?limit=3&nextToken={token}"),
            None => break,
        }
    }
    assert_eq!(seen, ["s4", "s3", "s2", "s1"]);
}

#[tokio::test]
async fn bad_signal_queries_are_bad_requests() {
    let world = seeded().await;
    for query in ["since=yesterday", "limit=0", "limit=1000", "limit=many", "nextToken=not-a-token", "priority=urgent"]
    {
        let reply = world.get(&format!("/projects/acme/signals?{query}"), Some(ACME)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}: {}", reply.text);
        assert_eq!(reply.code(), "bad_request");
    }
}
