//! `switchboard catalogue`: the built-in connectors (descriptor files and native connectors) as a
//! Markdown table; `--update FILE` rewrites the table between the catalogue markers of a file
//! (`descriptors/README.md`), and `--check FILE` fails when that table is out of date.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use switchboard_core::builtin::built_in_descriptors;
use switchboard_core::catalogue_table::{TABLE_END, TABLE_START, markdown_table, replace_table};

/// Arguments of `switchboard catalogue`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rewrite the table between the catalogue markers of this Markdown file.
    #[arg(long, conflicts_with = "check")]
    update: Option<PathBuf>,
    /// Exit 1 when the table between the catalogue markers of this file is out of date.
    #[arg(long)]
    check: Option<PathBuf>,
}

/// Prints the table, or updates or checks a file's copy of it.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut descriptors = built_in_descriptors()?;
    descriptors.extend(switchboard_natives::descriptors()?);
    let table = markdown_table(&descriptors, &switchboard_natives::signal_types);
    let Some(path) = args.update.as_ref().or(args.check.as_ref()) else {
        print!("{table}");
        return Ok(ExitCode::SUCCESS);
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let Some(updated) = replace_table(&text, &table) else {
        bail!("{} has no catalogue markers: add the lines\n{TABLE_START}\n{TABLE_END}", path.display());
    };
    if args.check.is_some() {
        if updated == text {
            println!("{} is current ({} connectors)", path.display(), descriptors.len());
            return Ok(ExitCode::SUCCESS);
        }
        println!("{} is out of date: run `switchboard catalogue --update {}`", path.display(), path.display());
        return Ok(ExitCode::FAILURE);
    }
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))?;
    println!("{}: {} connectors", path.display(), descriptors.len());
    Ok(ExitCode::SUCCESS)
}
