//! The README's five-minute walkthrough, run verbatim against serve.

use std::process::Command;

use crate::support::{Launch, repo_root};

const START: &str = "<!-- walkthrough:start -->";
const END: &str = "<!-- walkthrough:end -->";
const README_BASE: &str = "http://127.0.0.1:8080";

/// The shell commands between the walkthrough markers, without the code fence lines.
fn walkthrough_script() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme.find(START).expect("README has the walkthrough start marker") + START.len();
    let end = readme[start..].find(END).expect("README has the walkthrough end marker") + start;
    readme[start..end].lines().filter(|line| !line.trim_start().starts_with("```")).collect::<Vec<_>>().join("\n")
}

/// The value the script assigns to `name` (`NAME=value` on a line of its own).
fn assigned(script: &str, name: &str) -> String {
    let prefix = format!("{name}=");
    let line = script.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("walkthrough sets {name}"));
    line[prefix.len()..].trim().to_owned()
}

#[tokio::test]
async fn the_readme_walkthrough_run_verbatim_prints_the_pr_opened_signal() {
    let script = walkthrough_script();
    assert!(script.contains(&format!("BASE={README_BASE}")), "the walkthrough talks to {README_BASE}:\n{script}");
    let data = tempfile::tempdir().unwrap();
    let serve = Launch::new(data.path()).admin_token(&assigned(&script, "TOKEN")).start().await;

    // Only the port differs from the README.
    let script = script.replace(README_BASE, &serve.base);
    let out = Command::new("bash").arg("-c").arg(&script).current_dir(repo_root()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the walkthrough failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(r#""signalType":"pr_opened""#), "no pr_opened signal in the output:\n{stdout}");
    assert!(stdout.contains(r#""deliveryId":"walkthrough-1""#), "the webhook was not accepted:\n{stdout}");
}
