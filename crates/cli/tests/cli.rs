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
    assert_eq!(
        text(&out.stdout).lines().filter(|l| l.starts_with("ok ")).count(),
        11,
        "one line per built-in descriptor"
    );
}

fn map_github_pr(fixture: &str, event: &str) -> (Vec<serde_json::Value>, String, Option<i32>) {
    let payload = format!("tests/fixtures/github-prs/{fixture}");
    let out =
        switchboard(&["map", "--descriptor", "descriptors/github-prs.json", "--payload", &payload, "--event", event]);
    let signals =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON signal per line")).collect();
    (signals, text(&out.stderr), out.status.code())
}

#[test]
fn map_turns_github_pull_request_events_into_signals() {
    for (fixture, event, expected) in [
        ("pull_request.opened.json", "pull_request", "pr_opened"),
        ("pull_request.closed.merged.json", "pull_request", "pr_merged"),
        ("pull_request_review.submitted.json", "pull_request_review", "pr_reviewed"),
    ] {
        let (signals, stderr, code) = map_github_pr(fixture, event);
        assert_eq!(code, Some(0), "{stderr}");
        assert_eq!(signals.len(), 1, "{fixture}");
        assert_eq!(signals[0]["signalType"], expected, "{fixture}");
        assert_eq!(signals[0]["source"], "github-prs");
        assert_eq!(signals[0]["eventType"], event);
    }
}

#[test]
fn map_says_why_an_unhandled_event_type_gives_nothing_and_exits_1() {
    let (signals, stderr, code) = map_github_pr("push.json", "push");
    assert!(signals.is_empty());
    assert_eq!(code, Some(1), "nothing came out: {stderr}");
    assert!(stderr.contains("ignored: item 0: event type \"push\" is not handled by this connector"), "{stderr}");
    assert!(stderr.contains("no signal: every item was ignored"), "{stderr}");
    // The event type was given: no hint about --event.
    assert!(!stderr.contains("--event"), "{stderr}");
}

#[test]
fn map_without_an_event_on_a_webhook_connector_points_at_the_event_option() {
    let out = switchboard(&[
        "map",
        "--descriptor",
        "descriptors/github-prs.json",
        "--payload",
        "tests/fixtures/github-prs/pull_request.opened.json",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ignored: item 0: the payload has no event type"), "{stderr}");
    assert!(
        stderr.contains("the X-GitHub-Event header (a saved body does not carry it)")
            && stderr.contains("pass it with --event <type> (handled: pull_request, pull_request_review)"),
        "{stderr}"
    );
}

#[test]
fn map_names_each_ignored_item_and_why() {
    let out = switchboard(&[
        "map",
        "--descriptor",
        "descriptors/slack.json",
        "--payload",
        "tests/fixtures/slack/message.message_changed.json",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("ignored: item 0 (id Ev123ABC457): no signal type rule matched"), "{stderr}");
}

#[test]
fn map_expect_fails_when_the_number_of_signals_differs() {
    let page = ["map", "--descriptor", "descriptors/github-issues.json", "--payload"];
    let fixture = "tests/fixtures/github-issues/issues.page1.json";
    let ok = switchboard(&[&page[..], &[fixture, "--expect", "4"]].concat());
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let wrong = switchboard(&[&page[..], &[fixture, "--expect", "3"]].concat());
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong.stderr).contains("expected 3 signal(s), got 4"), "{}", text(&wrong.stderr));
    // Signals still go to stdout for the script to use.
    assert_eq!(text(&wrong.stdout).lines().count(), 4);
    let none = ["map", "--descriptor", "descriptors/github-prs.json", "--event", "push", "--payload"];
    let zero = switchboard(&[&none[..], &["tests/fixtures/github-prs/push.json", "--expect", "0"]].concat());
    assert_eq!(zero.status.code(), Some(0), "--expect 0 accepts nothing: {}", text(&zero.stderr));
}

#[test]
fn map_reports_a_payload_without_items_and_exits_1() {
    let out = switchboard(&[
        "map",
        "--descriptor",
        "descriptors/linear.json",
        "--payload",
        "tests/fixtures/notion/search.page1.json",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("itemsPath \"$.data.issues.nodes\" matched nothing"), "{stderr}");
}
