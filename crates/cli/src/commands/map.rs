//! `switchboard map`: run the field mapping of a descriptor on a saved payload.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_core::{Descriptor, IngestionKind};

/// Arguments of `switchboard map`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The descriptor file.
    #[arg(long)]
    descriptor: PathBuf,
    /// The payload file: a webhook body or a polled API response.
    #[arg(long)]
    payload: PathBuf,
    /// The webhook event type (e.g. the `X-GitHub-Event` header); read from the payload's
    /// `eventTypePath` when absent.
    #[arg(long)]
    event: Option<String>,
    /// Which mapping to use; defaults to webhook when the connector receives webhooks.
    #[arg(long, value_parser = ["webhook", "polling"])]
    mode: Option<String>,
    /// Project id written into the signals.
    #[arg(long, default_value = "local")]
    project: String,
}

/// Prints signals on stdout (JSON lines) and ignored/failed items on stderr.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let descriptor = Descriptor::from_file(&args.descriptor)?;
    let text = std::fs::read_to_string(&args.payload).with_context(|| format!("reading {}", args.payload.display()))?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", args.payload.display()))?;
    let ingestion = match args.mode.as_deref() {
        Some("polling") => IngestionKind::Polling,
        Some(_) => IngestionKind::Webhook,
        None if descriptor.webhook().is_some() => IngestionKind::Webhook,
        None => IngestionKind::Polling,
    };
    let report = descriptor.map_now(&payload, &args.project, ingestion, args.event.as_deref())?;
    for signal in &report.signals {
        println!("{}", serde_json::to_string(signal)?);
    }
    for ignored in &report.ignored {
        eprintln!("ignored: {}", serde_json::to_string(ignored)?);
    }
    for error in &report.errors {
        eprintln!("error: {error}");
    }
    eprintln!("{} signal(s), {} ignored, {} error(s)", report.signals.len(), report.ignored.len(), report.errors.len());
    Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
