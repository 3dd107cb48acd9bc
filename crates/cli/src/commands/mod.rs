//! Sub-commands of `switchboard`, one module each.

mod catalogue;
mod check;
mod context;
mod init;
mod map;
mod openapi;
mod poll;
mod progress;
mod schema;
mod serve;
mod test;
mod validate;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Switchboard: a universal connector framework driven by JSON descriptors.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scaffold a new descriptor (`descriptors/<id>.json`) with one example, ready to edit.
    Init(init::Args),
    /// Validate descriptor files or directories; prints every problem with its JSON pointer.
    Validate(validate::Args),
    /// Run the examples of descriptors (default `descriptors/`): one line per example, a diff
    /// per failure; `--watch` reruns them on every change.
    Test(test::Args),
    /// Map a payload with a descriptor and print one NormalisedSignal JSON per line.
    Map(map::Args),
    /// Fetch one delta from the real API and print the mapped signals (JSON lines); progress
    /// (live on a terminal), the new checkpoint and timing go to stderr.
    Poll(poll::Args),
    /// Run a connector's health check against the real API and print the report as JSON.
    Check(check::Args),
    /// Run everything locally on SQLite: webhooks, registry API, normaliser and poller on one port.
    Serve(serve::Args),
    /// Print the descriptor JSON Schema (committed as descriptors/descriptor.schema.json).
    Schema(schema::Args),
    /// Print the registry API's OpenAPI document (committed as crates/registry-api/openapi.json).
    Openapi(openapi::Args),
    /// Print the built-in connectors as a Markdown table; `--update FILE` rewrites the table in
    /// a file (`descriptors/README.md`), `--check FILE` fails when it is out of date.
    Catalogue(catalogue::Args),
    /// Print a reference key's context packet (the tracker item, then every signal that
    /// references it, grouped, with source links) from a running `switchboard serve`.
    Context(context::Args),
    /// Verify a saved webhook delivery against a descriptor's signature scheme; prints `ok` or why not.
    Verify(verify::Args),
}

/// Runs the parsed command; the exit code says whether it succeeded.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Init(args) => init::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Test(args) => test::run(args),
        Command::Map(args) => map::run(args),
        Command::Poll(args) => poll::run(args),
        Command::Check(args) => check::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Openapi(args) => openapi::run(args),
        Command::Catalogue(args) => catalogue::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Context(args) => context::run(args),
    }
}
