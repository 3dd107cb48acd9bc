//! `switchboard poll` and `switchboard check` against a local fake API.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn issue(id: u64, minute: u32) -> Value {
    json!({"id": id, "title": format!("Issue {id}"), "updated_at": format!("2024-05-01T00:{minute:02}:00Z")})
}

/// A GitHub-like issues descriptor written to a temporary file.
fn descriptor_file(name: &str) -> PathBuf {
    let doc = json!({
        "id": "fake-issues", "name": "Fake issues", "description": "d", "category": "code_and_devops",
        "icon": "github", "kind": "generic",
        "auth": {"method": "pat", "config": {"delivery": "bearer", "paramName": "Authorization",
            "credentialFields": [{"key": "token", "label": "Token", "type": "password", "required": true}]}},
        "configFields": [{"key": "baseUrl", "label": "API", "type": "url", "required": true}],
        "ingestion": {"mode": "polling", "method": "GET", "endpoint": "{{baseUrl}}/issues",
            "delta": {"type": "timestamp_filter", "queryParam": "since", "format": "iso8601"},
            "rateLimitRpm": 6000,
            "pagination": {"type": "link_header", "pageSize": 2, "pageSizeParam": "per_page"}},
        "fieldMapping": {"itemsPath": "$", "idPath": "$.id", "timestampPath": "$.updated_at",
            "summaryTemplate": "{{title}}",
            "signalTypeRules": [{"when": "$.id", "operator": "exists", "then": "issue_updated"}]},
        "healthCheck": {"endpoint": "{{baseUrl}}/user", "method": "GET", "expectStatus": 200, "timeoutMs": 2000},
        "version": "1.0.0"
    });
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.json"));
    std::fs::write(&file, doc.to_string()).unwrap();
    file
}

/// The command, allowed to reach the loopback fakes (the egress guard refuses them otherwise).
fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("FAKE_TOKEN", "ghp_cli")
        .env("SWITCHBOARD_EGRESS_ALLOW", "127.0.0.1")
        .output()
        .unwrap()
}

#[tokio::test]
async fn poll_prints_signals_on_stdout_and_the_new_checkpoint_on_stderr() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(path("/issues"))
        .and(header("authorization", "Bearer ghp_cli"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([issue(3, 7)])))
        .mount(&server)
        .await;
    Mock::given(path("/issues"))
        .and(header("authorization", "Bearer ghp_cli"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([issue(1, 1), issue(2, 5)]))
                .insert_header("Link", format!(r#"<{uri}/issues?per_page=2&page=2>; rel="next""#)),
        )
        .with_priority(10)
        .mount(&server)
        .await;
    let file = descriptor_file("poll");
    let base = format!("baseUrl={uri}");
    let out = switchboard(&[
        "poll",
        "--descriptor",
        file.to_str().unwrap(),
        "--config",
        &base,
        "--credential-env",
        "token=FAKE_TOKEN",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let signals: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = signals.iter().map(|s| s["externalId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["1", "2", "3"]);
    assert_eq!(signals[2]["summary"], "Issue 3");
    assert_eq!(signals[2]["ingestion"], "polling");
    assert!(stderr.contains("pages: 2, items: 3, signals: 3"), "{stderr}");
    assert!(
        stderr.contains(r#"new checkpoint: {"position":"2024-05-01T00:07:00Z","seenAtPosition":["3"]}"#),
        "{stderr}"
    );
    assert!(stderr.contains("items/s"), "{stderr}");
    assert!(!stderr.contains("ghp_cli") && !stdout.contains("ghp_cli"));
}

#[tokio::test]
async fn poll_reports_a_classified_failure_with_exit_code_1() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(401)).mount(&server).await;
    let file = descriptor_file("poll-401");
    let base = format!("baseUrl={}", server.uri());
    let out =
        switchboard(&["poll", "--descriptor", file.to_str().unwrap(), "--config", &base, "--credential", "token=bad"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("poll failed (auth)"), "{stderr}");
}

#[tokio::test]
async fn check_prints_a_health_report() {
    let server = MockServer::start().await;
    Mock::given(path("/user")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let file = descriptor_file("check");
    let base = format!("baseUrl={}", server.uri());
    let out =
        switchboard(&["check", "--descriptor", file.to_str().unwrap(), "--config", &base, "--credential", "token=t"]);
    assert!(out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["healthy"], true);
    assert_eq!(report["status"], 200);
}

#[tokio::test]
async fn a_loopback_api_is_refused_without_an_egress_allowance() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_json(json!([]))).mount(&server).await;
    let file = descriptor_file("poll-egress");
    let base = format!("baseUrl={}", server.uri());
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["poll", "--descriptor", file.to_str().unwrap(), "--config", &base, "--credential", "token=t"])
        .env_remove("SWITCHBOARD_EGRESS_ALLOW")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("poll failed (config)") && stderr.contains("egress_denied: 127.0.0.1"), "{stderr}");
    assert!(server.received_requests().await.unwrap().is_empty());

    let allowed = format!("127.0.0.1:{}", server.address().port());
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["check", "--descriptor", file.to_str().unwrap(), "--config", &base, "--credential", "token=t"])
        .args(["--egress-allow", &allowed])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn off_a_terminal_poll_prints_plain_progress_lines_with_rate_limit_waits() {
    let server = MockServer::start().await;
    // The first request is told to come back in a second; the retry gets the page.
    Mock::given(path("/issues"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/issues"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([issue(1, 1), issue(2, 5)])))
        .with_priority(5)
        .mount(&server)
        .await;
    let file = descriptor_file("poll-progress");
    let base = format!("baseUrl={}", server.uri());
    let out =
        switchboard(&["poll", "--descriptor", file.to_str().unwrap(), "--config", &base, "--credential", "token=t"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("waiting 1.0 s before the next request (rate limit or retry)"), "{stderr}");
    assert!(stderr.contains("page 1: 2 item(s)"), "{stderr}");
    assert!(stderr.contains("waits: 1 (1.0 s) before requests"), "{stderr}");
    assert!(stderr.contains(r#"new checkpoint: {"position":"2024-05-01T00:05:00Z""#), "{stderr}");
    // No live line off a terminal: nothing but plain text.
    assert!(!stderr.contains('\x1b') && !stderr.contains('\r'), "{stderr:?}");
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}
