//! `switchboard test --watch`: run the examples, then rerun them whenever a descriptor, a new
//! descriptor file in a directory given, or a payload file an example reads changes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use notify_debouncer_mini::new_debouncer;
use notify_debouncer_mini::notify::RecursiveMode;

use super::run_once;

/// How long the watcher waits for a burst of events (an editor's save) to end before rerunning.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Runs until interrupted (or until the watcher fails).
pub(super) fn run(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (tx, rx) = mpsc::channel();
    let mut debouncer = new_debouncer(DEBOUNCE, tx).context("starting the file watcher")?;
    let mut watched_dirs = BTreeSet::new();
    loop {
        let tally = run_once(paths);
        println!("watching for changes (Ctrl-C to stop)");
        // Directories, not files: an editor that saves by writing a new file and renaming it
        // over the old one would end a watch on the file itself.
        let files: BTreeSet<PathBuf> = tally.read.iter().map(|f| normal(f)).collect();
        let given_dirs: BTreeSet<PathBuf> = paths.iter().filter(|p| p.is_dir()).map(|p| normal_dir(p)).collect();
        let wanted: BTreeSet<PathBuf> =
            files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).chain(given_dirs.iter().cloned()).collect();
        for dir in wanted.difference(&watched_dirs) {
            debouncer
                .watcher()
                .watch(dir, RecursiveMode::NonRecursive)
                .with_context(|| format!("watching {}", dir.display()))?;
        }
        for dir in watched_dirs.difference(&wanted) {
            // A directory no longer read: stop watching it (it may be gone already).
            let _ = debouncer.watcher().unwatch(dir);
        }
        watched_dirs = wanted;
        loop {
            let events = rx.recv().context("the file watcher stopped")?.context("watching files")?;
            let changed: Vec<PathBuf> = events
                .into_iter()
                .map(|e| normal(&e.path))
                .filter(|p| files.contains(p) || (is_json(p) && p.parent().is_some_and(|d| given_dirs.contains(d))))
                .collect();
            if let Some(first) = changed.first() {
                println!("\n{} changed: running the examples again\n", first.display());
                break;
            }
        }
    }
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

/// The path with its directory made absolute and canonical, so paths the run read and paths the
/// watcher reports compare equal (the file itself may be gone, mid-save).
fn normal(path: &Path) -> PathBuf {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            normal_dir(if parent.as_os_str().is_empty() { Path::new(".") } else { parent }).join(name)
        }
        _ => path.to_path_buf(),
    }
}

fn normal_dir(dir: &Path) -> PathBuf {
    dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf())
}
