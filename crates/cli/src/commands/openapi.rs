//! `switchboard openapi`: print the registry API's OpenAPI document.

use std::process::ExitCode;

/// Arguments of `switchboard openapi`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Prints the document generated from the registry API's routes, which is committed as
/// `crates/registry-api/openapi.json` and served at `GET /openapi.json`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    print!("{}", switchboard_registry_api::generated_openapi_text()?);
    Ok(ExitCode::SUCCESS)
}
