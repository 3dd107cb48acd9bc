//! The authoring loop: `switchboard init` scaffolds, `switchboard test` runs every example (and
//! `--watch` reruns them), and the README lists every command the binary has.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn switchboard_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard")).args(args).current_dir(dir).output().unwrap()
}

fn switchboard(args: &[&str]) -> Output {
    switchboard_in(&repo(), args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn built_in_examples() -> Vec<(String, Vec<Value>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo().join("descriptors")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") && !path.ends_with("descriptor.schema.json") {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let examples = doc["examples"].as_array().cloned().unwrap_or_default();
            out.push((doc["id"].as_str().unwrap().to_owned(), examples));
        }
    }
    out
}

#[test]
fn test_runs_every_example_of_every_built_in_descriptor_and_passes() {
    let out = switchboard(&["test", "descriptors/"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let total: usize = built_in_examples().iter().map(|(_, e)| e.len()).sum();
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok   ")).count(), total, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{total} example(s) in {} descriptor(s): {total} passed, 0 failed",
            built_in_examples().len()
        )),
        "{stdout}"
    );
    // Without a path, `descriptors/` is tested.
    let default = switchboard(&["test"]);
    assert_eq!(text(&default.stdout), stdout);
}

#[test]
fn every_built_in_descriptor_has_a_signal_example_and_an_ignored_or_error_example() {
    for (id, examples) in built_in_examples() {
        let has = |key: &str| examples.iter().any(|e| e["expect"].get(key).is_some());
        assert!(has("signals"), "{id}: no example producing a signal");
        assert!(has("ignored") || has("error"), "{id}: no example ignored or failing");
        for example in &examples {
            // Built-ins use the published fixtures, never payloads written inline.
            let file = example["payloadFile"].as_str().unwrap_or_else(|| panic!("{id}: {example}"));
            assert!(file.starts_with("../tests/fixtures/"), "{id}: {file}");
        }
    }
}

/// github-prs.json copied into `dir` with its payload paths made absolute, then `edit`ed.
fn broken_copy(dir: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("descriptors/github-prs.json")).unwrap()).unwrap();
    for example in doc["examples"].as_array_mut().unwrap() {
        let file = example["payloadFile"].as_str().unwrap().to_owned();
        example["payloadFile"] = Value::from(repo().join("descriptors").join(file).to_str().unwrap());
    }
    edit(&mut doc);
    let path = dir.join("github-prs.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    path
}

#[test]
fn a_broken_expectation_prints_a_diff_with_its_pointer_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = broken_copy(dir.path(), |doc| {
        doc["examples"][0]["expect"]["signals"][0]["signalType"] = Value::from("pr_merged");
        doc["examples"][3]["expect"] = serde_json::json!({"signals": [{"signalType": "pr_closed"}]});
    });
    let out = switchboard(&["test", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL github-prs: pull request opened"), "{stdout}");
    assert!(
        stdout.contains(
            "     /examples/0/expect/signals/0/signalType\n       expected: \"pr_merged\"\n       actual:   \"pr_opened\""
        ),
        "{stdout}"
    );
    assert!(stdout.contains("/examples/3/expect/signals\n       expected: 1 signal(s)\n       actual:   0 signal(s)"));
    assert!(stdout.contains("the mapping gave: 0 signal(s), 1 ignored (\"no signal type rule matched\")"), "{stdout}");
    assert!(stdout.contains("ok   github-prs: review submitted"), "{stdout}");
    let examples =
        std::fs::read_to_string(&file).map(|t| serde_json::from_str::<Value>(&t).unwrap()).unwrap()["examples"]
            .as_array()
            .map_or(0, Vec::len);
    let summary = format!("{examples} example(s) in 1 descriptor(s): {} passed, 2 failed", examples - 2);
    assert!(stdout.contains(&summary), "{summary}\n{stdout}");
}

#[test]
fn unreadable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = switchboard(&["test", dir.path().join("none.json").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
    let file = broken_copy(dir.path(), |doc| doc["examples"][1]["payloadFile"] = Value::from("gone.json"));
    let out = switchboard(&["test", file.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("ERR  github-prs: pull request closed with merged true is pr_merged: payloadFile"));
    assert!(stdout.contains("gone.json"), "{stdout}");
}

#[test]
fn a_mistake_in_an_example_is_a_validation_problem_with_its_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let file = broken_copy(dir.path(), |doc| doc["examples"][2]["expect"]["ignored"] = Value::from(true));
    let out = switchboard(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/examples/2/expect: give exactly one expectation"), "{}", text(&out.stderr));
}

#[test]
fn init_scaffolds_a_descriptor_that_validates_and_passes_its_example_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = switchboard_in(dir.path(), &["init", "acme-tickets"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = dir.path().join("descriptors/acme-tickets.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!((doc["id"].as_str(), doc["name"].as_str()), (Some("acme-tickets"), Some("Acme Tickets")));
    assert!(!std::fs::read_to_string(&file).unwrap().contains("TODO"));

    let validate = switchboard_in(dir.path(), &["validate", "descriptors/"]);
    assert!(validate.status.success(), "{}", text(&validate.stderr));
    let test = switchboard_in(dir.path(), &["test"]);
    assert!(
        text(&test.stdout).contains("1 example(s) in 1 descriptor(s): 1 passed, 0 failed"),
        "{}",
        text(&test.stdout)
    );
    assert!(test.status.success());

    std::fs::write(&file, "{}").unwrap();
    let again = switchboard_in(dir.path(), &["init", "acme-tickets"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already exists"), "{}", text(&again.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{}", "the file is left as it was");

    let elsewhere = dir.path().join("elsewhere.json");
    let out = switchboard_in(dir.path(), &["init", "other", "--out", elsewhere.to_str().unwrap()]);
    assert!(out.status.success() && elsewhere.is_file());
    let bad = switchboard_in(dir.path(), &["init", "Not An Id"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("is not a connector id"));
}

/// Lines of a running child's stdout, read on a thread.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a summary line ending with `suffix` (one save can make more than one rerun, so
/// earlier summaries are skipped); panics after 20 s.
fn summary_ending(rx: &mpsc::Receiver<String>, suffix: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| panic!("no summary ending {suffix:?} in time: {seen:?}"));
        if line.contains(" example(s) in ") {
            if line.ends_with(suffix) {
                return;
            }
            seen.push(line);
        }
    }
}

#[test]
fn watch_reruns_the_examples_when_the_descriptor_or_a_payload_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    assert!(switchboard_in(dir.path(), &["init", "watched", "--out", "watched.json"]).status.success());
    let descriptor = dir.path().join("watched.json");
    // The example reads its payload from a file next to the descriptor.
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&descriptor).unwrap()).unwrap();
    std::fs::write(dir.path().join("payload.json"), doc["examples"][0]["payload"].to_string()).unwrap();
    doc["examples"][0].as_object_mut().unwrap().remove("payload");
    doc["examples"][0]["payloadFile"] = Value::from("payload.json");
    std::fs::write(&descriptor, doc.to_string()).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["test", "--watch", "watched.json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = lines_of(&mut child);
    summary_ending(&rx, "1 passed, 0 failed");
    // Let the watcher start before changing anything.
    std::thread::sleep(Duration::from_millis(500));

    let mut payload: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("payload.json")).unwrap()).unwrap();
    payload["item"]["title"] = Value::from("Renamed");
    std::fs::write(dir.path().join("payload.json"), payload.to_string()).unwrap();
    // A changed payload file reruns.
    summary_ending(&rx, "0 passed, 1 failed");

    doc["examples"][0]["expect"]["signals"][0]["summary"] = Value::from("Renamed");
    std::fs::write(&descriptor, doc.to_string()).unwrap();
    // A changed descriptor reruns.
    summary_ending(&rx, "1 passed, 0 failed");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn the_readme_lists_every_command_of_the_binary() {
    let help = text(&switchboard(&["--help"]).stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.contains(&"test") && commands.contains(&"init"), "{help}");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let row = readme.lines().find(|l| l.starts_with("| `crates/cli` |")).expect("the crates/cli row");
    for command in &commands {
        assert!(row.contains(&format!("`{command}`")), "README's crates/cli row lacks `{command}`: {row}");
        assert!(readme.contains(&format!("switchboard-cli -- {command}")), "README shows no `{command}` example");
    }
}
