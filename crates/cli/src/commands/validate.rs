//! `switchboard validate`: check descriptors the way the registry will.

use std::path::PathBuf;
use std::process::ExitCode;

use switchboard_core::descriptor::load_paths;

/// Arguments of `switchboard validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Descriptor files, or directories whose `*.json` files are descriptors.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

/// Validates every descriptor; exit 1 if any has a problem.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let results = load_paths(&args.paths);
    let mut failed = 0;
    for result in &results {
        match result {
            Ok(descriptor) => println!("ok  {} {}", descriptor.id(), descriptor.version()),
            Err(error) => {
                failed += 1;
                eprintln!("{error}");
            }
        }
    }
    eprintln!("{} descriptor(s) checked, {failed} with problems", results.len());
    Ok(if failed == 0 && !results.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
