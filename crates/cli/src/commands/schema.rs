//! `switchboard schema`: print the descriptor JSON Schema.

use std::process::ExitCode;

use switchboard_core::model::schema::descriptor_schema_text;

/// Arguments of `switchboard schema`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints the schema committed as `descriptors/descriptor.schema.json`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    print!("{}", descriptor_schema_text());
    Ok(ExitCode::SUCCESS)
}
