use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use switchboard_core::NormalisedSignal;

use crate::support::{ACME, ADMIN, GLOBEX, World, spawn};

/// id, project, source, signal type, timestamp, related items, participants.
type Seed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

fn signal(&(id, project, source, signal_type, timestamp, related, participants): &Seed) -> NormalisedSignal {
    serde_json::from_value(json!({
        "id": id, "source": source, "projectId": project, "externalId": format!("ext-{id}"),
        "signalType": signal_type, "timestamp": timestamp, "receivedAt": timestamp,
        "summary": format!("signal {id}"), "ingestion": "webhook", "relatedItems": related,
        "participants": participants, "url": format!("https://{source}.example/{id}")
    }))
    .unwrap()
}

/// PROJ-123 in acme: three changes of the issue itself (Jira), another issue mentioning it, a
/// PR, a build of its branch, a Slack message, a PagerDuty incident and a health signal; the same
/// key in globex; and an acme signal about something else.
const SEEDS: &[Seed] = &[
    ("j-created", "acme", "jira", "issue_created", "2025-03-01T09:00:00Z", &["PROJ-123"], &["rita"]),
    ("j-moved", "acme", "jira", "issue_transitioned", "2025-03-01T11:00:00Z", &["PROJ-123"], &["ann", "rita"]),
    ("j-other", "acme", "jira", "issue_commented", "2025-03-01T12:00:00Z", &["PROJ-124", "PROJ-123"], &["cora"]),
    ("pr", "acme", "github-prs", "pr_opened", "2025-03-01T13:00:00Z", &["PROJ-123"], &["ann"]),
    ("build", "acme", "github-actions", "build_failed", "2025-03-01T14:00:00Z", &["PROJ-123", "55"], &["ann"]),
    ("chat", "acme", "slack", "message_received", "2025-03-01T15:00:00Z", &["PROJ-123"], &["U1"]),
    ("page", "acme", "pagerduty", "incident_triggered", "2025-03-01T16:00:00Z", &["PROJ-123"], &[]),
    ("health", "acme", "switchboard", "connector_health", "2025-03-01T16:30:00Z", &["PROJ-123"], &[]),
    ("j-comment", "acme", "jira", "issue_commented", "2025-03-01T17:00:00Z", &["PROJ-123"], &["cora", "ann"]),
    ("unrelated", "acme", "github-prs", "pr_opened", "2025-03-01T18:00:00Z", &["PROJ-9"], &["zed"]),
    ("g-issue", "globex", "jira", "issue_created", "2025-03-01T19:00:00Z", &["PROJ-123"], &["mallory"]),
    ("g-pr", "globex", "github-prs", "pr_opened", "2025-03-01T19:30:00Z", &["PROJ-123"], &["mallory"]),
];

async fn seeded() -> World {
    let world = spawn().await;
    for seed in SEEDS {
        world.stores.signals.put_signal(&signal(seed), Duration::from_secs(86_400 * 3650)).await.unwrap();
    }
    world
}

fn group_ids(packet: &Value) -> Vec<(String, Vec<String>)> {
    packet["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let ids = g["signals"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()).collect();
            (g["kind"].as_str().unwrap().to_owned(), ids)
        })
        .collect()
}

fn expected(groups: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    groups.iter().map(|(k, ids)| ((*k).to_owned(), ids.iter().map(|i| (*i).to_owned()).collect())).collect()
}

#[tokio::test]
async fn the_packet_names_the_item_then_groups_related_signals_by_kind_newest_first() {
    let world = seeded().await;
    let reply = world.get("/projects/acme/context/PROJ-123", Some(ACME)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let packet = reply.json();
    assert_eq!(packet["key"], "PROJ-123");
    // The newest Jira change whose first related item is the key; the other issue that mentions
    // it and the build whose first related item is the key are not the item.
    assert_eq!(packet["item"]["id"], "j-comment", "{packet:#}");
    assert_eq!(packet["item"]["url"], "https://jira.example/j-comment");
    assert_eq!(
        group_ids(&packet),
        expected(&[
            ("issues", &["j-other", "j-moved", "j-created"]),
            ("code_changes", &["pr"]),
            ("builds", &["build"]),
            ("incidents", &["page"]),
            ("conversations", &["chat"]),
            ("other", &["health"]),
        ])
    );
    assert_eq!(packet["groups"][1]["title"], "Code changes");
    for group in packet["groups"].as_array().unwrap() {
        for entry in group["signals"].as_array().unwrap() {
            let id = entry["id"].as_str().unwrap();
            assert_eq!(entry["url"], format!("https://{}.example/{id}", entry["source"].as_str().unwrap()));
        }
    }
    // ann is in four signals (item, moved, pr, build), cora in two, rita in two (met after cora).
    assert_eq!(
        packet["participants"],
        json!([{"name": "ann", "signals": 4}, {"name": "cora", "signals": 2}, {"name": "rita", "signals": 2},
               {"name": "U1", "signals": 1}])
    );
    assert_eq!(packet["nextToken"], Value::Null);
}

#[tokio::test]
async fn another_projects_signals_never_appear_and_its_packets_are_not_found() {
    let world = seeded().await;
    for token in [ACME, ADMIN] {
        let packet = world.get("/projects/acme/context/PROJ-123", Some(token)).await.json();
        let text = packet.to_string();
        assert!(!text.contains("g-issue") && !text.contains("g-pr") && !text.contains("mallory"), "{text}");
    }
    let globex = world.get("/projects/globex/context/PROJ-123", Some(GLOBEX)).await.json();
    assert_eq!(globex["item"]["id"], "g-issue");
    assert_eq!(group_ids(&globex), expected(&[("code_changes", &["g-pr"])]));
    // A member of globex asking for acme's packet: the same 404 an unknown project gets.
    let reply = world.get("/projects/acme/context/PROJ-123", Some(GLOBEX)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.text);
    assert_eq!(reply.json()["error"]["code"], "not_found");
    assert!(!reply.text.contains("PROJ"), "{}", reply.text);
    let reply = world.get("/projects/acme/context/PROJ-123", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pages_of_a_packet_cover_every_related_signal_once_and_all_carry_the_item() {
    let world = seeded().await;
    let mut seen = Vec::new();
    let mut path = "/projects/acme/context/PROJ-123?limit=3".to_owned();
    for _ in 0..10 {
        let packet = world.get(&path, Some(ACME)).await.json();
        assert_eq!(packet["item"]["id"], "j-comment", "{packet:#}");
        let ids: Vec<String> = group_ids(&packet).into_iter().flat_map(|(_, ids)| ids).collect();
        assert!(ids.len() <= 3, "{ids:?}");
        seen.extend(ids);
        match packet["nextToken"].as_str() {
            Some(token) => path = format!("/projects/acme/context/PROJ-123?limit=3&nextToken={token}"),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["build", "chat", "health", "j-created", "j-moved", "j-other", "page", "pr"]);
}

#[tokio::test]
async fn since_bounds_the_related_signals_but_not_the_item() {
    let world = seeded().await;
    let packet = world.get("/projects/acme/context/PROJ-123?since=2025-03-01T14:00:00Z", Some(ACME)).await.json();
    assert_eq!(packet["item"]["id"], "j-comment");
    assert_eq!(
        group_ids(&packet),
        expected(&[
            ("builds", &["build"]),
            ("incidents", &["page"]),
            ("conversations", &["chat"]),
            ("other", &["health"])
        ])
    );
    // Only the item is after this bound: it is named once, no group holds it.
    let late = world.get("/projects/acme/context/PROJ-123?since=2025-03-01T16:45:00Z", Some(ACME)).await.json();
    assert_eq!(late["item"]["id"], "j-comment");
    assert_eq!(late["groups"], json!([]));
}

#[tokio::test]
async fn a_key_with_a_slash_and_a_hash_is_read_percent_encoded() {
    let world = spawn().await;
    let day = Duration::from_secs(86_400 * 3650);
    let issue: Seed =
        ("gh-12", "acme", "github-issues", "issue_created", "2025-03-01T09:00:00Z", &["octo/repo#12"], &[]);
    let build: Seed =
        ("ci", "acme", "github-actions", "build_succeeded", "2025-03-01T10:00:00Z", &["octo/repo#12"], &[]);
    world.stores.signals.put_signal(&signal(&issue), day).await.unwrap();
    world.stores.signals.put_signal(&signal(&build), day).await.unwrap();
    let packet = world.get("/projects/acme/context/octo%2Frepo%2312", Some(ACME)).await.json();
    assert_eq!(packet["key"], "octo/repo#12");
    assert_eq!(packet["item"]["id"], "gh-12");
    assert_eq!(group_ids(&packet), expected(&[("builds", &["ci"])]));
}

#[tokio::test]
async fn a_key_no_tracker_signal_is_has_no_item() {
    let world = seeded().await;
    let packet = world.get("/projects/acme/context/PROJ-9", Some(ACME)).await.json();
    assert_eq!(packet["item"], Value::Null);
    assert_eq!(group_ids(&packet), expected(&[("code_changes", &["unrelated"])]));
    let nothing = world.get("/projects/acme/context/NOPE-1", Some(ACME)).await.json();
    assert_eq!(nothing, json!({"key": "NOPE-1", "item": null, "groups": [], "participants": [], "nextToken": null}));
}

#[tokio::test]
async fn bad_input_is_a_400_naming_what_is_wrong() {
    let world = seeded().await;
    let long = "K".repeat(257);
    for (path, says) in [
        ("/projects/acme/context/PROJ-1?limit=0".to_owned(), "`limit` must be 1 to 100"),
        ("/projects/acme/context/PROJ-1?limit=101".to_owned(), "`limit` must be 1 to 100"),
        ("/projects/acme/context/PROJ-1?since=yesterday".to_owned(), "`since` must be an RFC 3339 time"),
        ("/projects/acme/context/PROJ-1?nextToken=garbage".to_owned(), "nextToken"),
        (format!("/projects/acme/context/{long}"), "reference key must be 1 to 256 characters"),
        ("/projects/acme/context/PROJ%0A1".to_owned(), "reference key must be 1 to 256 characters"),
        ("/projects/.hidden/context/PROJ-1".to_owned(), "project"),
    ] {
        let reply = world.get(&path, Some(ADMIN)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{path}: {}", reply.text);
        let error = reply.json()["error"].clone();
        assert_eq!(error["code"], "bad_request", "{path}");
        assert!(error["message"].as_str().unwrap().contains(says), "{path}: {error}");
    }
}
