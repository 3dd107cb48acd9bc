//! The `switchboard` command as a connector author uses it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard")).args(args).current_dir(repo()).output().expect("runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn validate_reports_every_problem_with_its_pointer_and_exits_1() {
    let out = switchboard(&["validate", "tests/fixtures/invalid/three-problems.json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("three-problems.json: /auth/method: unknown method \"magic_link\""), "{stderr}");
    assert!(stderr.contains("/: missing required field \"healthCheck\""), "{stderr}");
    assert!(stderr.contains("/fieldMapping/idPath: invalid JSONPath"), "{stderr}");
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = switchboard(&["schema"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo().join("descriptors/descriptor.schema.json")).expect("exists");
    assert_eq!(text(&out.stdout), committed);
}

#[test]
fn validate_accepts_every_built_in_descriptor() {
    let out = switchboard(&["validate", "descriptors/"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().filter(|l| l.starts_with("ok ")).count(), 11);
}

fn map_github_pr(fixture: &str, event: &str) -> (Vec<serde_json::Value>, String) {
    map_github_pr_with(fixture, &["--event", event], true)
}

fn map_github_pr_with(fixture: &str, extra: &[&str], succeeds: bool) -> (Vec<serde_json::Value>, String) {
    let payload = format!("tests/fixtures/github-prs/{fixture}");
    let mut command = vec!["map", "--descriptor", "descriptors/github-prs.json", "--payload", &payload];
    command.extend_from_slice(extra);
    let out = switchboard(&command);
    assert_eq!(out.status.success(), succeeds, "{}", text(&out.stderr));
    let signals =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON signal per line")).collect();
    (signals, text(&out.stderr))
}

#[test]
fn map_turns_github_pull_request_events_into_signals() {
    for (fixture, event, expected) in [
        ("pull_request.opened.json", "pull_request", "pr_opened"),
        ("pull_request.closed.merged.json", "pull_request", "pr_merged"),
        ("pull_request_review.submitted.json", "pull_request_review", "pr_reviewed"),
    ] {
        let (signals, _) = map_github_pr(fixture, event);
        assert_eq!(signals.len(), 1, "{fixture}");
        assert_eq!(signals[0]["signalType"], expected, "{fixture}");
        assert_eq!(signals[0]["source"], "github-prs");
        assert_eq!(signals[0]["eventType"], event);
    }
}

#[test]
fn map_reports_an_unhandled_event_type_as_ignored() {
    let (signals, stderr) = map_github_pr_with("push.json", &["--event", "push", "--expect", "0"], true);
    assert!(signals.is_empty());
    assert!(stderr.contains("ignored:") && stderr.contains("\\\"push\\\" is not handled"), "{stderr}");
    let (_, stderr) = map_github_pr_with("push.json", &["--event", "push"], false);
    assert!(stderr.contains("no signal came out: event type \"push\" is not one this connector handles"), "{stderr}");
}

#[test]
fn map_without_an_event_says_to_pass_one_and_expect_checks_the_count() {
    let (signals, stderr) = map_github_pr_with("pull_request.opened.json", &[], false);
    assert!(signals.is_empty());
    assert!(stderr.contains("X-GitHub-Event header") && stderr.contains("--event"), "{stderr}");
    let (_, stderr) =
        map_github_pr_with("pull_request.opened.json", &["--event", "pull_request", "--expect", "2"], false);
    assert!(stderr.contains("expected 2 signal(s), got 1"), "{stderr}");
    map_github_pr_with("pull_request.opened.json", &["--event", "pull_request", "--expect", "1"], true);
}
