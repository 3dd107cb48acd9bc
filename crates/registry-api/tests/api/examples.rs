//! `POST /examples`: a pasted descriptor's examples run without registering it.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{ACME, spawn};

fn repo_file(path: &str) -> Value {
    let text = std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// github-prs with three examples: a passing one and a wrong one on GitHub's published opened
/// pull request, and one whose payload is a file the API cannot read.
fn github_prs_with_examples() -> Value {
    let mut descriptor = repo_file("descriptors/github-prs.json");
    let opened = repo_file("tests/fixtures/github-prs/pull_request.opened.json");
    descriptor["examples"] = json!([
        {"name": "opened", "payload": opened, "headers": {"X-GitHub-Event": "pull_request"},
         "expect": {"signals": [{"signalType": "pr_opened", "externalId": "279147437"}]}},
        {"name": "opened, expected as merged", "payload": opened, "headers": {"X-GitHub-Event": "pull_request"},
         "expect": {"signals": [{"signalType": "pr_merged"}]}},
        {"name": "from a file", "payloadFile": "../tests/fixtures/github-prs/push.json",
         "expect": {"ignored": "not handled"}}
    ]);
    descriptor
}

#[tokio::test]
async fn a_member_runs_a_pasted_descriptors_examples_and_sees_each_difference_at_its_pointer() {
    let world = spawn().await;
    let reply = world.send(Method::POST, "/examples", Some(ACME), Some(github_prs_with_examples())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let report = reply.json();
    assert_eq!((report["passed"].as_u64(), report["failed"].as_u64()), (Some(1), Some(2)), "{report}");
    let examples = report["examples"].as_array().unwrap();
    assert_eq!(examples[0]["status"], "passed");
    assert_eq!(examples[1]["status"], "failed");
    assert_eq!(examples[1]["mismatches"][0]["pointer"], "/examples/1/expect/signals/0/signalType");
    assert_eq!(examples[1]["mismatches"][0]["actual"], "\"pr_opened\"");
    assert!(examples[1]["observed"].as_str().unwrap().contains("pr_opened 279147437"), "{report}");
    assert_eq!(examples[2]["status"], "unreadable");
    assert!(examples[2]["reason"].as_str().is_some_and(|r| !r.is_empty()), "{report}");
    // Nothing was registered.
    assert_eq!(world.get("/connectors/github-prs", Some(ACME)).await.json()["builtIn"], true);
}

#[tokio::test]
async fn an_invalid_descriptor_is_422_with_its_problems_and_no_token_is_401() {
    let world = spawn().await;
    let mut descriptor = github_prs_with_examples();
    descriptor["fieldMapping"]["idPath"] = json!("$[");
    let reply = world.send(Method::POST, "/examples", Some(ACME), Some(descriptor.clone())).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.text);
    assert!(reply.text.contains("/fieldMapping/idPath"), "{}", reply.text);
    assert_eq!(world.send(Method::POST, "/examples", None, Some(descriptor)).await.status, StatusCode::UNAUTHORIZED);
}
