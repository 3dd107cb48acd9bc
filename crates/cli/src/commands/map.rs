//! `switchboard map`: run the field mapping of a descriptor on a saved payload.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use switchboard_core::{Descriptor, IngestionKind, MapReport};

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
    /// Exit 1 unless exactly this many signals come out (`--expect 0` for a payload that must
    /// be ignored). Without it, a payload that gives no signal exits 1 and says why.
    #[arg(long, value_name = "N")]
    expect: Option<usize>,
}

/// Prints signals on stdout (JSON lines) and ignored/failed items on stderr; exits 1 on an item
/// error, on a count other than `--expect`, or (without `--expect`) when no signal came out.
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
    let mut failed = !report.errors.is_empty();
    match args.expect {
        Some(expected) if expected != report.signals.len() => {
            eprintln!("expected {expected} signal(s), got {}", report.signals.len());
            failed = true;
        }
        Some(_) => {}
        None if report.signals.is_empty() && report.errors.is_empty() => {
            eprintln!("no signal came out: {}", nothing_out(&descriptor, ingestion, args.event.as_deref(), &report));
            eprintln!("(pass --expect 0 when that is what this payload should do)");
            failed = true;
        }
        None => {}
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Why a payload gave no signal, and what to try next.
fn nothing_out(descriptor: &Descriptor, ingestion: IngestionKind, event: Option<&str>, report: &MapReport) -> String {
    if let (IngestionKind::Webhook, Some(webhook)) = (ingestion, descriptor.webhook()) {
        let handled = if webhook.event_types.is_empty() {
            "every event type".to_owned()
        } else {
            webhook.event_types.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>().join(", ")
        };
        match (event, &webhook.event_type_header) {
            (None, Some(header)) => {
                return format!(
                    "a real delivery names its event type in the {header} header, which a saved payload lacks; \
                     pass it with --event (this connector handles {handled})"
                );
            }
            (Some(event), _) if !webhook.event_types.is_empty() && !webhook.event_types.iter().any(|e| e == event) => {
                return format!("event type {event:?} is not one this connector handles ({handled})");
            }
            _ => {}
        }
    }
    if report.ignored.is_empty() {
        return "the payload holds no item (check itemsPath)".to_owned();
    }
    "no signalTypeRules entry matched any item: compare the rules' paths and values with the payload".to_owned()
}
