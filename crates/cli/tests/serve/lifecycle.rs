//! Starting and stopping serve as a user does: graceful shutdown with requests in flight,
//! `--help`, log formats, and the generated admin token.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{ADMIN_TOKEN, Delivery, Launch, Serve, WEBHOOK_SECRET, eventually, repo_root};

const WAIT: Duration = Duration::from_secs(15);

/// Sends a signed delivery over a raw connection, raising `signal` after the headers and half of
/// the body, and returns the HTTP response once the rest of the body is sent.
async fn deliver_across_a_signal(serve: &mut Serve, signal: &str, delivery: &Delivery) -> String {
    let mut stream = TcpStream::connect(&serve.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /webhooks/github-prs/acme HTTP/1.1\r\nHost: {}\r\nX-GitHub-Event: pull_request\r\n\
         X-GitHub-Delivery: {}\r\nX-Hub-Signature-256: {}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        serve.addr,
        delivery.id,
        delivery.signature,
        delivery.body.len()
    );
    let (first, rest) = delivery.body.split_at(delivery.body.len() / 2);
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(first).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    serve.signal(signal);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(serve.is_running(), "serve exited with a request in flight:\n{}", serve.stderr());
    assert!(TcpStream::connect(&serve.addr).is_err(), "serve still accepts connections after SIG{signal}");

    stream.write_all(rest).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

async fn a_request_in_flight_completes_after(signal: &str) {
    let data = tempfile::tempdir().unwrap();
    let launch = Launch::new(data.path());
    let mut serve = launch.start().await;
    serve.admin().connect_github_prs("acme").await;

    let delivery = Delivery::pull_request_opened("in-flight", 42, WEBHOOK_SECRET);
    let response = deliver_across_a_signal(&mut serve, signal, &delivery).await;
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    let status = serve.wait_exit(WAIT).await;
    assert!(status.success(), "serve exits 0 after SIG{signal}: {status}\n{}", serve.stderr());

    // The delivery accepted during shutdown was kept: after a restart it is a signal.
    let serve = launch.start().await;
    let api = serve.admin();
    eventually("the in-flight delivery as a signal", WAIT, || async {
        api.external_ids("acme").await.contains_key("42").then_some(())
    })
    .await;
}

#[tokio::test]
async fn sigint_lets_a_request_in_flight_complete_then_exits_0() {
    a_request_in_flight_completes_after("INT").await;
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_complete_then_exits_0() {
    a_request_in_flight_completes_after("TERM").await;
}

/// `--flag` names mentioned in `text`.
fn flags_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || "`,()".contains(c))
        .filter_map(|word| word.strip_prefix("--"))
        .map(|name| name.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()))
        .filter(|name| !name.is_empty())
        .map(|name| format!("--{name}"))
        .collect()
}

#[test]
fn help_documents_every_flag_and_the_readme_lists_them_all() {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["serve", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = help.lines().collect();
    let mut documented = BTreeSet::new();
    for (index, line) in lines.iter().enumerate() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        let Some(flag) = line.split([' ', ',']).find(|w| w.starts_with("--")) else { continue };
        let description = lines.get(index + 1).map_or("", |l| l.trim());
        assert!(!description.is_empty() && !description.starts_with('-'), "{flag} has no description:\n{help}");
        documented.insert(flag.to_owned());
    }
    assert!(documented.contains("--addr") && documented.contains("--data-dir"), "{help}");

    // The README's paragraph after the walkthrough names every flag.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after = &readme[readme.find("<!-- walkthrough:end -->").unwrap()..];
    let paragraph = &after[..after.find("\n## ").unwrap()];
    assert_eq!(flags_in(paragraph), documented, "README and --help disagree");
}

#[tokio::test]
async fn log_format_json_writes_every_log_line_as_a_json_object() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Launch::new(data.path()).args(&["--log-format", "json"]).start().await;
    let (status, _) = serve.admin().get("/connectors").await;
    assert_eq!(status, 200);
    assert!(serve.stop().await.success());

    let stderr = serve.stderr();
    let mut messages = Vec::new();
    for line in stderr.lines().filter(|l| l.starts_with('{')) {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(entry["timestamp"].is_string() && entry["level"].is_string(), "{line}");
        messages.push(entry["message"].as_str().unwrap_or_default().to_owned());
    }
    for expected in ["built-in connectors registered", "request handled", "stopped"] {
        assert!(messages.iter().any(|m| m == expected), "no JSON log line {expected:?}:\n{stderr}");
    }
    let human: Vec<&str> = stderr.lines().filter(|l| l.contains(" INFO ") || l.contains('\u{1b}')).collect();
    assert!(human.is_empty(), "human log lines in JSON mode: {human:?}");
}

#[tokio::test]
async fn human_logs_off_a_terminal_carry_no_colour_codes() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Launch::new(data.path()).start().await;
    assert!(serve.stop().await.success());
    let stderr = serve.stderr();
    assert!(stderr.contains("built-in connectors registered"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour codes in piped logs:\n{stderr}");
}

/// The generated token in the banner, if it shows one.
fn printed_token(stderr: &str) -> Option<String> {
    stderr.split_whitespace().find(|w| w.starts_with("sbadm_")).map(str::to_owned)
}

/// The banner's "Try it" commands, unindented.
fn banner_example(stderr: &str) -> String {
    let start = stderr.find("Try it").expect("the banner has an example");
    stderr[start..]
        .lines()
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .map(|line| line.strip_prefix("  ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn banner(serve: &Serve) -> String {
    eventually("the banner", WAIT, || async {
        let stderr = serve.stderr();
        stderr.contains("Try it").then_some(stderr)
    })
    .await
}

#[tokio::test]
async fn without_an_admin_token_the_first_run_prints_a_working_one_and_later_runs_do_not() {
    let data = tempfile::tempdir().unwrap();
    let launch = Launch::new(data.path()).without_admin_token();
    let mut serve = launch.start().await;
    let stderr = banner(&serve).await;
    let token = printed_token(&stderr).unwrap_or_else(|| panic!("no token printed:\n{stderr}"));
    assert_eq!(dashboard_link(&stderr), Some(format!("{}/#token={token}", serve.base)), "{stderr}");
    assert_eq!(serve.api(&token).get("/projects/demo/signals").await.0, 200);
    assert_eq!(serve.api("sbadm_wrong").get("/projects/demo/signals").await.0, 401);
    let stored = std::fs::read_to_string(data.path().join("admin-token.sha256")).unwrap();
    assert_eq!(stored.trim(), hex::encode(Sha256::digest(token.as_bytes())), "only the hash is stored");

    // The banner's copy-paste example works as printed, with TOKEN set.
    let out = Command::new("bash")
        .arg("-c")
        .arg(banner_example(&stderr))
        .env("TOKEN", &token)
        .current_dir(data.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains(r#""signalType":"pr_opened""#), "banner example:\n{stdout}");
    assert!(serve.stop().await.success());

    let serve = launch.start().await;
    let stderr = banner(&serve).await;
    assert_eq!(printed_token(&stderr), None, "the token is printed again:\n{stderr}");
    assert!(stderr.contains("generated on an earlier run"), "{stderr}");
    assert_eq!(dashboard_link(&stderr), Some(format!("{}/", serve.base)), "{stderr}");
    assert!(stderr.contains("sign in with the admin token"), "{stderr}");
    assert_eq!(serve.api(&token).get("/projects/demo/signals").await.0, 200, "the first token still works");
}

/// The dashboard link in the banner.
fn dashboard_link(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.trim_start().starts_with("dashboard"))?;
    line.split_whitespace().nth(1).map(str::to_owned)
}

#[tokio::test]
async fn with_a_token_from_the_environment_the_banner_links_to_the_dashboard_without_printing_it() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Launch::new(data.path()).start().await;
    let stderr = banner(&serve).await;
    let page = dashboard_link(&stderr).unwrap_or_else(|| panic!("no dashboard link:\n{stderr}"));
    assert_eq!(page, format!("{}/", serve.base));
    assert!(!stderr.contains(ADMIN_TOKEN), "the chosen token is printed:\n{stderr}");
    // The page itself needs no token (the fragment never reaches the server).
    let reply = reqwest::get(page).await.unwrap();
    assert_eq!(reply.status(), 200);
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert_eq!(content_type, "text/html; charset=utf-8");
    assert!(reply.text().await.unwrap().contains(r#"<script type="module" src="dashboard/app.js">"#));
    assert!(serve.stop().await.success());
}
