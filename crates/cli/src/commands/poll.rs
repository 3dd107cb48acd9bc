//! `switchboard poll`: a test read for connector authors — fetch one delta from the real API,
//! print the mapped signals (JSON lines on stdout) and, on stderr, progress (a live line on a
//! terminal, plain lines otherwise: pages, items, waits) and a summary with the new checkpoint
//! and timing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use switchboard_core::polling::{Checkpoint, PollRequest};
use switchboard_core::{Descriptor, IngestionKind, MapContext};
use switchboard_poll::credentials::expose;
use switchboard_poll::{Credentials, PollEngine, PollOptions, Timer};

use super::progress::{Progress, checkpoint_lines};
use crate::private_file::write_private;

/// The connector instance a command talks to: descriptor, config and credentials.
#[derive(Debug, clap::Args)]
pub struct InstanceArgs {
    /// The descriptor file.
    #[arg(long)]
    pub descriptor: PathBuf,
    /// An instance config value (repeatable), e.g. `--config baseUrl=https://api.github.com`.
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub config: Vec<(String, String)>,
    /// A credential value (repeatable). Visible in the process list: prefer `--credential-env`
    /// or `--credentials-file` for real secrets.
    #[arg(long = "credential", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub credential: Vec<(String, String)>,
    /// A credential read from an environment variable (repeatable), e.g. `token=GITHUB_TOKEN`.
    #[arg(long = "credential-env", value_name = "KEY=ENV_VAR", value_parser = parse_pair)]
    pub credential_env: Vec<(String, String)>,
    /// A JSON file of credentials (`{"token": "..."}`). Refreshed OAuth2 tokens are written back
    /// to it, because a rotated refresh token replaces the old one.
    #[arg(long = "credentials-file", value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,
    /// Timeout of each HTTP request, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Internal addresses the requests may reach (hosts, `host:port`s, IP addresses or CIDR
    /// blocks, comma-separated), as for `serve --egress-allow`; without it only public
    /// addresses are reachable.
    #[arg(long, value_name = "LIST", env = switchboard_poll::egress::ENV_EGRESS_ALLOW,
        value_parser = switchboard_poll::EgressAllow::parse)]
    pub egress_allow: Option<switchboard_poll::EgressAllow>,
}

/// An instance loaded from the command line.
pub struct Instance {
    /// The compiled descriptor.
    pub descriptor: Descriptor,
    /// Config values.
    pub config: BTreeMap<String, String>,
    /// Credentials.
    pub credentials: Credentials,
    /// Where credentials came from, to write refreshed ones back.
    pub credentials_file: Option<PathBuf>,
    /// An engine for it.
    pub engine: PollEngine,
}

impl InstanceArgs {
    /// Loads the descriptor and gathers config and credentials.
    pub fn load(self) -> anyhow::Result<Instance> {
        self.load_with_timer(None, false)
    }

    /// [`Self::load`], with the engine on `timer` instead of the real clock (to report waits);
    /// with `mapped_items_only` the engine builds only the parts of each page the polling
    /// mapping reads (for a command that prints signals, not items).
    pub fn load_with_timer(self, timer: Option<Arc<dyn Timer>>, mapped_items_only: bool) -> anyhow::Result<Instance> {
        let descriptor = Descriptor::from_file(&self.descriptor)?;
        let mut credentials = Credentials::new();
        if let Some(file) = &self.credentials_file {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let values: BTreeMap<String, String> = serde_json::from_str(&text)
                .with_context(|| format!("{} must be a JSON object of strings", file.display()))?;
            credentials = values.into_iter().collect();
        }
        for (key, var) in self.credential_env {
            let value = std::env::var(&var).with_context(|| format!("environment variable {var} is not set"))?;
            credentials.insert(key, value);
        }
        for (key, value) in self.credential {
            credentials.insert(key, value);
        }
        let mut options = PollOptions {
            request_timeout: Duration::from_secs(self.timeout),
            egress: self.egress_allow.unwrap_or_default(),
            mapped_items_only,
            ..PollOptions::default()
        };
        if let Some(timer) = timer {
            options.timer = timer;
        }
        Ok(Instance {
            descriptor,
            config: self.config.into_iter().collect(),
            credentials,
            credentials_file: self.credentials_file,
            engine: PollEngine::with_default_client(options).context("building the HTTP client")?,
        })
    }
}

impl Instance {
    /// Persists refreshed credentials to the credentials file, or says what was lost.
    pub fn keep_refreshed(&self, refreshed: Option<&Credentials>) -> anyhow::Result<()> {
        let Some(refreshed) = refreshed else { return Ok(()) };
        match &self.credentials_file {
            Some(file) => {
                let values: BTreeMap<&str, &str> =
                    refreshed.keys().filter_map(|k| expose(refreshed, k).map(|v| (k, v))).collect();
                let text = serde_json::to_string_pretty(&values)?;
                write_private(file, &text).with_context(|| format!("writing {}", file.display()))?;
                eprintln!("refreshed OAuth2 tokens written to {}", file.display());
            }
            None => eprintln!(
                "warning: OAuth2 tokens were refreshed ({}); use --credentials-file to keep them, \
                 a rotated refresh token replaces the old one",
                refreshed.keys().collect::<Vec<_>>().join(", ")
            ),
        }
        Ok(())
    }
}

/// Parses `key=value`.
fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// Arguments of `switchboard poll`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    instance: InstanceArgs,
    /// Poll from this checkpoint: a bare position (e.g. `2024-05-01T00:00:00Z`) or the
    /// checkpoint a previous poll printed.
    #[arg(long)]
    checkpoint: Option<String>,
    /// Stop after this many pages (the printed checkpoint then resumes after them).
    #[arg(long)]
    max_pages: Option<u32>,
    /// Project id written into the signals.
    #[arg(long, default_value = "local")]
    project: String,
    /// Print the raw items instead of mapped signals.
    #[arg(long)]
    raw: bool,
}

/// Polls once; exit 1 when the poll fails or an item cannot be mapped.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let progress = Progress::on_stderr();
    // Without --raw only signals are printed: the pages need not be built whole.
    let instance = args.instance.load_with_timer(Some(progress.timer()), !args.raw)?;
    let checkpoint = args.checkpoint.as_deref().map(Checkpoint::parse).transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let options = Options { checkpoint, max_pages: args.max_pages, project: &args.project, raw: args.raw };
    runtime.block_on(poll(&instance, options, &progress))
}

/// What to poll and how to print it.
struct Options<'a> {
    checkpoint: Option<Checkpoint>,
    max_pages: Option<u32>,
    project: &'a str,
    raw: bool,
}

#[derive(Default)]
struct Counts {
    signals: usize,
    ignored: usize,
    errors: usize,
}

async fn poll(instance: &Instance, options: Options<'_>, progress: &Progress) -> anyhow::Result<ExitCode> {
    let descriptor = &instance.descriptor;
    let Some(mapper) = descriptor.mapper(IngestionKind::Polling) else {
        bail!("connector {} does not poll", descriptor.id());
    };
    let request = PollRequest {
        checkpoint: options.checkpoint,
        max_pages: options.max_pages,
        ..PollRequest::new(&instance.config, &instance.credentials)
    };
    // What a urlTemplate reads: the instance's values with the descriptor's defaults.
    let config = descriptor.effective_config(&instance.config);
    let started = Instant::now();
    let mut stream = instance.engine.pages(descriptor, request)?;
    let mut counts = Counts::default();
    let outcome = loop {
        let page = match stream.next_page().await {
            Ok(Some(page)) => page,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        progress.page(&page);
        let ctx = MapContext {
            connector_id: descriptor.id(),
            project_id: options.project,
            ingestion: IngestionKind::Polling,
            event_type: None,
            received_at: Utc::now(),
            config: Some(&config),
        };
        // A page's lines are written at once: one write per page, not per item.
        let mut lines = String::new();
        for (index, item) in page.items.iter().enumerate() {
            if options.raw {
                lines.push_str(&serde_json::to_string(item)?);
                lines.push('\n');
                continue;
            }
            match mapper.map_item(index, item, &ctx) {
                Ok(Some(signal)) => {
                    counts.signals += 1;
                    progress.signal();
                    lines.push_str(&serde_json::to_string(&signal)?);
                    lines.push('\n');
                }
                Ok(None) => counts.ignored += 1,
                Err(e) => {
                    counts.errors += 1;
                    progress.eprintln(&format!("error: page {}: {e}", page.index + 1));
                }
            }
        }
        if !lines.is_empty() {
            progress.println(lines.trim_end_matches('\n'));
        }
    };
    progress.finish();
    let elapsed = started.elapsed();
    let summary = stream.summary();
    let seconds = elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "pages: {}, items: {}, signals: {}, ignored: {}, mapping errors: {}",
        summary.pages, summary.items, counts.signals, counts.ignored, counts.errors
    );
    eprintln!(
        "time: {} ms ({:.1} pages/s, {:.1} items/s)",
        elapsed.as_millis(),
        f64::from(summary.pages) / seconds,
        summary.items as f64 / seconds
    );
    if let Some(waits) = progress.waits() {
        eprintln!("{waits} before requests (rate limit or retry)");
    }
    if let Some(guard) = &summary.guard {
        eprintln!("guard: {guard}");
    }
    for note in &summary.notes {
        eprintln!("note: {note}");
    }
    for line in checkpoint_lines(&summary) {
        eprintln!("{line}");
    }
    instance.keep_refreshed(summary.refreshed_credentials.as_ref())?;
    match outcome {
        Ok(()) => Ok(if counts.errors == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }),
        Err(e) => {
            eprintln!("poll failed ({}): {e}", e.class().as_str());
            if let Some(wait) = e.retry_after() {
                eprintln!("retry after: {} s", wait.as_secs());
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
