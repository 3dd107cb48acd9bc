//! The four function binaries, built by cargo before the first test uses them, found by their
//! `[[bin]]` names whichever package holds them.
//!
//! A test can only name the binaries of its own package (`CARGO_BIN_EXE_*`), so this asks cargo
//! for the workspace's test build (`cargo test --workspace --no-run`) and reads the binaries'
//! paths from its JSON messages. Under the README's `cargo test --workspace` that build is
//! already done and this takes a second or two; a plain `cargo build` would compile some
//! dependencies a second time, because dev-dependencies unify features differently. Cargo builds
//! a package's binaries for its tests only when the package has integration tests, so a
//! function binary that build did not produce is then built by name (`cargo build --bin NAME`).
//!
//! Either way the binaries contain the native test connector (`switchboard-natives` feature
//! `test-connector`, see `natives.rs`): in the test build this crate's dev-dependency turns the
//! feature on for the whole workspace, and the build by name asks for it. A release build of the
//! functions does neither.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The binaries the SAM template deploys, by `[[bin]]` name.
pub const FUNCTIONS: [&str; 4] = ["webhook-gateway", "registry-api", "normaliser", "poller"];

/// The path of function binary `name` (one of [`FUNCTIONS`]).
pub fn binary(name: &str) -> &'static Path {
    static BUILT: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    let built = BUILT.get_or_init(build);
    built.get(name).unwrap_or_else(|| panic!("cargo built no binary named {name}: {built:?}"))
}

fn build() -> HashMap<String, PathBuf> {
    let mut binaries = cargo(&["test", "--workspace", "--no-run"]);
    let missing: Vec<&str> = FUNCTIONS.into_iter().filter(|name| !binaries.contains_key(*name)).collect();
    if !missing.is_empty() {
        let mut args = vec!["build", "--features", "switchboard-natives/test-connector"];
        for name in missing {
            args.extend(["--bin", name]);
        }
        binaries.extend(cargo(&args));
    }
    binaries
}

/// Runs `cargo ARGS` at the workspace root into this test's target directory and returns the
/// function binaries it reports.
fn cargo(args: &[&str]) -> HashMap<String, PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args(args)
        .args(["--locked", "--message-format=json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(target_dir) = own_target_dir() {
        command.arg("--target-dir").arg(target_dir);
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo {} could not build the function binaries (see its output above)",
        args.join(" ")
    );
    let mut binaries = HashMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else { continue };
        let name = message["target"]["name"].as_str().unwrap_or_default();
        // Each binary also has a unit-test harness of the same name; skip those.
        let is_binary = FUNCTIONS.contains(&name) && message["profile"]["test"] == false;
        if let (true, Some(executable)) = (is_binary, message["executable"].as_str()) {
            binaries.insert(name.to_owned(), PathBuf::from(executable));
        }
    }
    binaries
}

/// The target directory this test binary was built into (`<target>/debug/deps/lambda_e2e-…`),
/// so the functions come from the same build whatever `--target-dir` or `CARGO_TARGET_DIR` said.
fn own_target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    let profile = deps.parent()?;
    (deps.file_name()? == "deps" && profile.file_name()? == "debug").then(|| profile.parent().map(Path::to_path_buf))?
}
