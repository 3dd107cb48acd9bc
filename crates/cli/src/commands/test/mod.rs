//! `switchboard test`: run the `examples` of descriptors and say, per example, whether the
//! mapping gives what it expects; a failure shows each difference with its JSON pointer.

mod watch;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use switchboard_core::Descriptor;
use switchboard_core::examples::{ExampleOutcome, payload_files, run_examples};

/// Arguments of `switchboard test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Descriptor files, or directories whose `*.json` files are descriptors.
    #[arg(default_value = "descriptors/")]
    paths: Vec<PathBuf>,
    /// Keep running: rerun whenever a descriptor or a payload file one of its examples reads
    /// changes (stop with Ctrl-C).
    #[arg(long)]
    watch: bool,
}

/// Runs every example once (exit 0: all passed; 1: a failure, or no example at all; 2: an
/// unreadable path, descriptor or payload), or keeps rerunning them with `--watch`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.watch {
        return watch::run(&args.paths);
    }
    Ok(run_once(&args.paths).exit_code())
}

/// The result of one run over every path.
pub(super) struct Tally {
    descriptors: usize,
    passed: usize,
    failed: usize,
    /// Examples whose payload could not be read.
    unreadable: usize,
    /// Paths or descriptors that could not be read or loaded.
    broken: usize,
    /// Every file the run read (descriptors and payloads), for `--watch`.
    read: BTreeSet<PathBuf>,
}

impl Tally {
    fn exit_code(&self) -> ExitCode {
        if self.unreadable > 0 || self.broken > 0 {
            ExitCode::from(2)
        } else if self.failed > 0 || self.passed == 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Runs the examples of every descriptor under `paths`, printing one line per example.
pub(super) fn run_once(paths: &[PathBuf]) -> Tally {
    let mut tally = Tally { descriptors: 0, passed: 0, failed: 0, unreadable: 0, broken: 0, read: BTreeSet::new() };
    for file in descriptor_files(paths, &mut tally) {
        tally.read.insert(file.clone());
        let descriptor = match Descriptor::from_file(&file) {
            Ok(descriptor) => descriptor,
            Err(error) => {
                tally.broken += 1;
                eprintln!("{error}");
                continue;
            }
        };
        tally.descriptors += 1;
        let base = file.parent().unwrap_or(Path::new("."));
        tally.read.extend(payload_files(&descriptor, base));
        let runs = run_examples(&descriptor, Some(base));
        if runs.is_empty() {
            println!("--   {}: no examples ({})", descriptor.id(), file.display());
        }
        for run in runs {
            let label = format!("{}: {}", descriptor.id(), run.name);
            match run.outcome {
                ExampleOutcome::Passed(_) => {
                    tally.passed += 1;
                    println!("ok   {label}");
                }
                ExampleOutcome::Failed { mismatches, observed } => {
                    tally.failed += 1;
                    println!("FAIL {label} ({}, /examples/{})", file.display(), run.index);
                    for mismatch in mismatches {
                        for line in mismatch.to_string().lines() {
                            println!("     {line}");
                        }
                    }
                    println!("     the mapping gave: {observed}");
                }
                ExampleOutcome::Unreadable(reason) => {
                    tally.unreadable += 1;
                    println!("ERR  {label}: {reason}");
                }
            }
        }
    }
    let total = tally.passed + tally.failed + tally.unreadable;
    let mut summary = format!(
        "{total} example(s) in {} descriptor(s): {} passed, {} failed",
        tally.descriptors, tally.passed, tally.failed
    );
    if tally.unreadable > 0 {
        summary.push_str(&format!(", {} with an unreadable payload", tally.unreadable));
    }
    if tally.broken > 0 {
        summary.push_str(&format!("; {} descriptor file(s) or path(s) could not be loaded", tally.broken));
    }
    if total == 0 && tally.broken == 0 {
        summary.push_str(" (add `examples` to a descriptor; `switchboard init` writes one with an example)");
    }
    println!("{summary}");
    tally
}

/// The descriptor files under `paths`: each file given, and each `*.json` of each directory given
/// (not recursing; `descriptor.schema.json` is the schema, not a descriptor), in path order.
fn descriptor_files(paths: &[PathBuf], tally: &mut Tally) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    files.extend(entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| {
                        p.extension().is_some_and(|e| e == "json") && !p.ends_with("descriptor.schema.json")
                    }))
                }
                Err(e) => {
                    tally.broken += 1;
                    eprintln!("{}: cannot read directory: {e}", path.display());
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    files.sort();
    files
}
