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
