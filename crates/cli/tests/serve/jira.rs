//! The native `jira` connector inside serve: listed as native at start-up, connected through the
//! registry API to a local fake Jira Cloud, polled by the real poller; a signed admin webhook for
//! a change the poll already saw adds no signal, and a new change by webhook adds one.

use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Launch, eventually, sign};

const WAIT: Duration = Duration::from_secs(20);
const SECRET: &str = "jira-webhook-secret";

fn user(name: &str) -> Value {
    json!({"accountId": format!("id-{name}"), "displayName": name, "active": true})
}

fn comment(id: &str, created: &str, text: &str) -> Value {
    json!({"id": id, "author": user("Cora Commenter"), "created": created, "updated": created,
           "body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}})
}

/// PROJ-1 as `/rest/api/3/search/jql` returns it with `expand=changelog` (Jira's documented
/// shape): created, moved to In Progress, commented.
fn issue(comments: Value) -> Value {
    json!({
        "id": "10001", "key": "PROJ-1", "self": "https://example.atlassian.net/rest/api/3/issue/10001",
        "fields": {
            "summary": "Checkout fails on the last step", "status": {"name": "In Progress"},
            "priority": {"name": "High"}, "reporter": user("Rita Reporter"), "assignee": user("Ann Assignee"),
            "created": "2024-05-01T09:00:00.000+0000", "updated": "2024-05-01T10:00:00.000+0000",
            "project": {"key": "PROJ"}, "issuetype": {"name": "Bug"}, "labels": [],
            "comment": {"comments": comments, "maxResults": 50, "total": 1, "startAt": 0}
        },
        "changelog": {"startAt": 0, "maxResults": 100, "total": 1, "histories": [
            {"id": "100", "author": user("Carl Changer"), "created": "2024-05-01T10:00:00.000+0000",
             "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000",
                        "fromString": "To Do", "to": "3", "toString": "In Progress"}]}
        ]}
    })
}

async fn send(http: &reqwest::Client, base: &str, delivery: &str, payload: &Value, secret: &str) -> u16 {
    let body = serde_json::to_vec(payload).unwrap();
    let response = http
        .post(format!("{base}/webhooks/jira/acme"))
        .header("Content-Type", "application/json")
        .header("X-Atlassian-Webhook-Identifier", delivery)
        .header("X-Hub-Signature", sign(secret, &body))
        .body(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

fn types(signals: &[Value]) -> Vec<String> {
    let mut types: Vec<String> = signals.iter().map(|s| s["signalType"].as_str().unwrap().to_owned()).collect();
    types.sort();
    types
}

#[tokio::test]
async fn jira_is_polled_and_a_change_seen_by_webhook_too_is_one_signal() {
    let jira = MockServer::start().await;
    let first_comment = comment("500", "2024-05-01T10:00:00.000+0000", "On it");
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"issues": [issue(json!([first_comment]))], "isLast": true})),
        )
        .mount(&jira)
        .await;
    let data = tempfile::tempdir().unwrap();
    let mut serve = Launch::new(data.path()).start().await;
    let api = serve.admin();

    let (status, catalogue) = api.get("/connectors?q=jira").await;
    assert_eq!(status, 200, "{catalogue}");
    let card = catalogue["connectors"].as_array().unwrap().iter().find(|c| c["id"] == "jira").cloned();
    assert_eq!(card.as_ref().map(|c| c["kind"].clone()), Some(json!("native")), "{catalogue}");

    // The whole catalogue: every descriptor of descriptors/ and the three natives.
    let (_, all) = api.get("/connectors").await;
    let listed: Vec<&str> = all["connectors"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../descriptors")).unwrap();
    for entry in shipped {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(id) = name.strip_suffix(".json").filter(|_| name != "descriptor.schema.json") {
            assert!(listed.contains(&id), "{id} is not in the catalogue: {listed:?}");
        }
    }
    for native in ["jira", "outlook", "ses"] {
        assert!(listed.contains(&native), "{native}: {listed:?}");
    }
    assert!(listed.len() >= 40, "{} connectors: {listed:?}", listed.len());

    let instance = json!({
        "config": {"baseUrl": jira.uri(), "projects": "PROJ", "timeZone": "UTC", "startDate": "2024-04-01"},
        "credentials": {"email": "bot@example.com", "apiToken": "jira-api-token", "webhookSecret": SECRET}
    });
    let (status, body) = api.post("/projects/acme/connectors/jira", &instance).await;
    assert_eq!(status, 201, "{body}");

    let polled = eventually("the polled changes of PROJ-1", WAIT, || async {
        let signals = api.signals("acme").await;
        (signals.len() >= 3).then_some(signals)
    })
    .await;
    assert_eq!(types(&polled), ["issue_commented", "issue_created", "issue_transitioned"], "{polled:#?}");
    let requests = jira.received_requests().await.unwrap();
    let jql: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert!(jql["jql"].as_str().unwrap().contains(r#"updated >= "2024-04-01 00:00""#), "{jql}");

    // The same transition and comment by webhook: accepted, and no new signal.
    let http = reqwest::Client::new();
    let base = serve.base.clone();
    let mut delivered = issue(json!([]));
    delivered.as_object_mut().unwrap().remove("changelog");
    let transition = json!({"timestamp": 1714557600123_i64, "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic", "user": user("Carl Changer"), "issue": delivered,
        "changelog": {"id": "100", "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": "10000", "fromString": "To Do", "to": "3", "toString": "In Progress"}]}});
    let again = json!({"timestamp": 1714557600456_i64, "webhookEvent": "comment_created",
        "issue": issue(json!([])), "comment": comment("500", "2024-05-01T10:00:00.000+0000", "On it")});
    assert_eq!(send(&http, &base, "delivery-1", &transition, SECRET).await, 202);
    assert_eq!(send(&http, &base, "delivery-2", &again, SECRET).await, 202);
    // A delivery signed with another secret is refused.
    assert_eq!(send(&http, &base, "delivery-3", &again, "not-the-secret").await, 401);

    // A new comment by webhook is a new signal; by then the two repeats have been processed.
    let new = json!({"timestamp": 1714561200000_i64, "webhookEvent": "comment_created",
        "issue": issue(json!([])), "comment": comment("501", "2024-05-01T11:00:00.000+0000", "Fixed in PROJ-2")});
    assert_eq!(send(&http, &base, "delivery-4", &new, SECRET).await, 202);
    let all = eventually("the new comment as a signal", WAIT, || async {
        let signals = api.signals("acme").await;
        (signals.len() >= 4).then_some(signals)
    })
    .await;
    eventually("the repeated changes counted as duplicates", WAIT, || async {
        (api.counts("acme", "jira").await["duplicates"] == 2).then_some(())
    })
    .await;
    assert_eq!(all.len(), 4, "{all:#?}");
    assert_eq!(types(&all), ["issue_commented", "issue_commented", "issue_created", "issue_transitioned"]);
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());
}
