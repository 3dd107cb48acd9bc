//! `switchboard map`: run the field mapping of a descriptor on a saved payload, and say why
//! nothing came out when nothing did.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use switchboard_core::mapping::MapError;
use switchboard_core::{Descriptor, IngestionKind, MapContext, MapReport};

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
    /// The payload file is a form-encoded body (Twilio, Slack interactivity): it is read as an
    /// object, with a `payload` field holding JSON parsed, as the webhook gateway reads it.
    #[arg(long)]
    form: bool,
    /// The time written as the signals' `receivedAt` (RFC 3339); now by default. A fixed value
    /// makes the output reproducible, for comparing runs.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    received_at: Option<DateTime<Utc>>,
    /// Exit 1 unless exactly this many signals come out (for scripts; 0 expects none).
    #[arg(long, value_name = "N")]
    expect: Option<usize>,
}

/// Prints signals on stdout (JSON lines) and, on stderr, each ignored or failed item with why.
/// Exit 1 when an item fails, when no signal comes out (unless `--expect 0`), or when `--expect`
/// is not met.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let descriptor = Descriptor::from_file(&args.descriptor)?;
    let bytes = std::fs::read(&args.payload).with_context(|| format!("reading {}", args.payload.display()))?;
    let ingestion = match args.mode.as_deref() {
        Some("polling") => IngestionKind::Polling,
        Some(_) => IngestionKind::Webhook,
        None if descriptor.webhook().is_some() => IngestionKind::Webhook,
        None => IngestionKind::Polling,
    };
    let ctx = MapContext {
        connector_id: descriptor.id(),
        project_id: &args.project,
        ingestion,
        event_type: args.event.as_deref(),
        received_at: args.received_at.unwrap_or_else(Utc::now),
        config: Some(descriptor.config_defaults()),
    };
    let mapped = if args.form {
        descriptor.map_delivery(&switchboard_core::webhook::form::form_object(&bytes), &ctx)
    } else {
        // Only the parts of the payload the mapping reads are built.
        let not_json = || format!("{} is not valid JSON", args.payload.display());
        let text = std::str::from_utf8(&bytes).with_context(not_json)?;
        match descriptor.map_delivery_json(text, &ctx) {
            Err(MapError::MalformedJson(error)) => return Err(anyhow::anyhow!(error).context(not_json())),
            mapped => mapped,
        }
    };
    let report = match mapped {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!("no signal: the payload could not be mapped");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for signal in &report.signals {
        serde_json::to_writer(&mut out, signal)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    drop(out);
    for ignored in &report.ignored {
        let id = ignored.external_id.as_ref().map(|id| format!(" (id {id})")).unwrap_or_default();
        eprintln!("ignored: item {}{id}: {}", ignored.index, ignored.reason);
    }
    for error in &report.errors {
        eprintln!("error: {error}");
    }
    eprintln!("{} signal(s), {} ignored, {} error(s)", report.signals.len(), report.ignored.len(), report.errors.len());
    if report.signals.is_empty() {
        explain_nothing(&descriptor, &report, ingestion, args.event.as_deref());
    }
    let expected = match args.expect {
        Some(n) if n != report.signals.len() => {
            eprintln!("expected {n} signal(s), got {}", report.signals.len());
            false
        }
        Some(_) => true,
        None => !report.signals.is_empty(),
    };
    Ok(if report.errors.is_empty() && expected { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time: {e}"))
}

/// Says why no signal came out, and how to pass the event type when that may be why.
fn explain_nothing(descriptor: &Descriptor, report: &MapReport, ingestion: IngestionKind, event: Option<&str>) {
    if report.ignored.is_empty() && report.errors.is_empty() {
        eprintln!("no signal: the payload holds no item (itemsPath selected an empty list)");
    } else {
        eprintln!("no signal: every item was ignored or failed (see the reasons above)");
    }
    let Some(webhook) = descriptor.webhook().filter(|_| ingestion == IngestionKind::Webhook && event.is_none()) else {
        return;
    };
    let path = webhook.event_type_path.as_str();
    let from = match &webhook.event_type_header {
        Some(header) => {
            format!("the {header} header (a saved body does not carry it), else from the payload at {path}")
        }
        None => format!("the payload at {path}"),
    };
    let handled = if webhook.event_types.is_empty() { "any".to_owned() } else { webhook.event_types.join(", ") };
    eprintln!(
        "hint: without --event the event type is read from {from}; pass it with --event <type> (handled: {handled})"
    );
}
