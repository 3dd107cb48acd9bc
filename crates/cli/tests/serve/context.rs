//! The context packet of a Jira key inside serve (issue 16's acceptance): a Jira issue
//! `PROJ-123`, a GitHub pull request naming it, a CI build of its branch and a Slack message
//! mentioning it, each delivered as a signed webhook, come back from
//! `GET /projects/acme/context/PROJ-123` grouped, with source links; another project's signals
//! with the same key never appear. `switchboard context` prints the same packet.
//!
//! The payloads are the published fixtures under `tests/fixtures/`, copied and edited only where
//! they must name the key (each edit is listed at its fixture):
//! - `jira/issue_updated.status_changed.json`: `issue.key` `INDEV-6` → `PROJ-123`;
//! - `github-prs/pull_request.opened.json`: `pull_request.title` prefixed with `PROJ-123 `,
//!   `pull_request.head.ref` `changes` → `PROJ-123-readme`;
//! - `github-actions/workflow_run.completed.json`: `workflow_run.head_branch` `master` →
//!   `PROJ-123-readme`;
//! - `slack/message.json`: `event.text` `Hello world` → `Is PROJ-123 still blocked?`.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ADMIN_TOKEN, Api, Launch, eventually, repo_root, sign};

const WAIT: Duration = Duration::from_secs(20);
const SECRET: &str = "context-webhook-secret";

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(repo_root().join("tests/fixtures").join(name)).unwrap()).unwrap()
}

/// Connects Jira (polling a fake that has no issues), GitHub PRs, GitHub Actions and Slack to
/// `project`, every webhook signed with [`SECRET`].
async fn connect_all(api: &Api, project: &str, jira: &str) {
    let instances = [
        (
            "jira",
            json!({"config": {"baseUrl": jira, "projects": "PROJ", "timeZone": "UTC", "startDate": "2024-01-01"},
            "credentials": {"email": "bot@example.com", "apiToken": "jira-api-token", "webhookSecret": SECRET}}),
        ),
        ("github-prs", json!({"config": {}, "credentials": {"token": "ghp_test", "webhookSecret": SECRET}})),
        ("github-actions", json!({"config": {}, "credentials": {"token": "ghp_test", "webhookSecret": SECRET}})),
        (
            "slack",
            json!({"config": {}, "credentials": {"clientId": "1.2", "clientSecret": "slack-client-secret",
            "signingSecret": SECRET}}),
        ),
    ];
    for (connector, body) in instances {
        let (status, answer) = api.post(&format!("/projects/{project}/connectors/{connector}"), &body).await;
        assert_eq!(status, 201, "{connector}: {answer}");
    }
}

/// A connector, its payload and the headers it is sent with (besides its signature).
type Delivery = (&'static str, Value, Vec<(&'static str, String)>);

/// Delivers the four payloads to `project`'s webhooks, signed as each provider signs them.
async fn deliver_all(base: &str, project: &str) {
    let http = reqwest::Client::new();
    let mut issue = fixture("jira/issue_updated.status_changed.json");
    issue["issue"]["key"] = json!("PROJ-123");
    let mut pr = fixture("github-prs/pull_request.opened.json");
    let title = pr["pull_request"]["title"].as_str().unwrap().to_owned();
    pr["pull_request"]["title"] = json!(format!("PROJ-123 {title}"));
    pr["pull_request"]["head"]["ref"] = json!("PROJ-123-readme");
    let mut build = fixture("github-actions/workflow_run.completed.json");
    build["workflow_run"]["head_branch"] = json!("PROJ-123-readme");
    let mut message = fixture("slack/message.json");
    message["event"]["text"] = json!("Is PROJ-123 still blocked?");

    let hub = |body: &[u8]| ("X-Hub-Signature-256", sign(SECRET, body));
    let deliveries: [Delivery; 4] = [
        ("jira", issue, vec![("X-Atlassian-Webhook-Identifier", format!("{project}-jira"))]),
        (
            "github-prs",
            pr,
            vec![("X-GitHub-Event", "pull_request".into()), ("X-GitHub-Delivery", format!("{project}-pr"))],
        ),
        (
            "github-actions",
            build,
            vec![("X-GitHub-Event", "workflow_run".into()), ("X-GitHub-Delivery", format!("{project}-run"))],
        ),
        ("slack", message, vec![]),
    ];
    for (connector, payload, headers) in deliveries {
        let body = serde_json::to_vec(&payload).unwrap();
        let mut request = http
            .post(format!("{base}/webhooks/{connector}/{project}"))
            .header("Content-Type", "application/json")
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request = match connector {
            // Jira's admin webhooks sign with `X-Hub-Signature: sha256=…`.
            "jira" => request.header("X-Hub-Signature", sign(SECRET, &body)),
            "slack" => {
                let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs().to_string();
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(format!("v0:{now}:").as_bytes());
                mac.update(&body);
                request
                    .header("X-Slack-Request-Timestamp", now)
                    .header("X-Slack-Signature", format!("v0={}", hex::encode(mac.finalize().into_bytes())))
            }
            _ => {
                let (name, value) = hub(&body);
                request.header(name, value)
            }
        };
        let status = request.send().await.unwrap().status().as_u16();
        assert!((200..300).contains(&status), "{connector} delivery to {project}: {status}");
    }
}

fn group<'p>(packet: &'p Value, kind: &str) -> Vec<&'p Value> {
    packet["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == kind)
        .flat_map(|g| g["signals"].as_array().unwrap())
        .collect()
}

#[tokio::test]
async fn the_context_packet_of_a_jira_key_gathers_its_pr_build_and_slack_message_per_project() {
    let jira = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/rest/api/3/search/jql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"issues": [], "isLast": true})))
        .mount(&jira)
        .await;
    let data = tempfile::tempdir().unwrap();
    let mut serve = Launch::new(data.path()).start().await;
    let api = serve.admin();
    for project in ["acme", "globex"] {
        connect_all(&api, project, &jira.uri()).await;
        deliver_all(&serve.base, project).await;
    }
    // Every delivery of both projects is a stored signal before the packets are read.
    for project in ["acme", "globex"] {
        eventually("the four signals", WAIT, || async { (api.signals(project).await.len() >= 4).then_some(()) }).await;
    }

    let (status, packet) = api.get("/projects/acme/context/PROJ-123").await;
    assert_eq!(status, 200, "{packet}");
    // The Jira issue is the item, with its browse link on the instance's site.
    assert_eq!(packet["item"]["source"], "jira", "{packet:#}");
    assert_eq!(packet["item"]["signalType"], "issue_transitioned");
    assert_eq!(packet["item"]["url"], format!("{}/browse/PROJ-123", jira.uri()));
    let prs = group(&packet, "code_changes");
    assert_eq!(prs.len(), 1, "{packet:#}");
    assert_eq!(prs[0]["source"], "github-prs");
    assert_eq!(prs[0]["url"], "https://github.com/Codertocat/Hello-World/pull/2");
    let builds = group(&packet, "builds");
    assert_eq!(builds.len(), 1, "{packet:#}");
    assert_eq!(builds[0]["source"], "github-actions");
    assert_eq!(builds[0]["url"], "https://github.com/octo-org/octo-repo/actions/runs/289782451");
    // Needs the Jira-key pattern over Slack message text (issue 16, item 1).
    let messages = group(&packet, "conversations");
    assert_eq!(messages.len(), 1, "the Slack message mentioning PROJ-123: {packet:#}");
    assert_eq!(messages[0]["source"], "slack");
    let linked: Vec<&Value> =
        packet["groups"].as_array().unwrap().iter().flat_map(|g| g["signals"].as_array().unwrap()).collect();
    assert_eq!(linked.len(), 3, "{packet:#}");
    for entry in linked.iter().copied().chain([&packet["item"]]) {
        assert!(entry["url"].as_str().is_some_and(|u| u.starts_with("http")), "no source link: {entry:#}");
    }
    // Nothing of globex's, though it holds the same key; globex's packet is its own.
    assert!(linked.iter().copied().chain([&packet["item"]]).all(|s| s["projectId"] == "acme"), "{packet:#}");
    let (_, theirs) = api.get("/projects/globex/context/PROJ-123").await;
    let their_ids: Vec<&Value> = theirs["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["signals"].as_array().unwrap())
        .map(|s| &s["id"])
        .collect();
    assert!(linked.iter().all(|s| !their_ids.contains(&&s["id"])), "{theirs:#}");
    assert_ne!(theirs["item"]["id"], packet["item"]["id"]);

    // The CLI prints the same packet as text.
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["context", "PROJ-123", "--project", "acme", "--server", &serve.base])
        .env("SWITCHBOARD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{text}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.starts_with("PROJ-123  "), "{text}");
    for line in [
        "Code changes (1)",
        "Builds (1)",
        "Conversations (1)",
        "    https://github.com/Codertocat/Hello-World/pull/2",
        "    https://github.com/octo-org/octo-repo/actions/runs/289782451",
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
    }
    // Without the token: the API's 401, explained.
    let refused = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["context", "PROJ-123", "--project", "acme", "--server", &serve.base])
        .env_remove("SWITCHBOARD_ADMIN_TOKEN")
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && error.contains("401") && error.contains("SWITCHBOARD_ADMIN_TOKEN"), "{error}");
    assert!(serve.stop().await.success(), "serve exits 0 on SIGTERM:\n{}", serve.stderr());
}
