//! What `switchboard poll` shows while it runs: on a terminal, one live status line (page,
//! items, signals, and any wait for the rate limit or a retry); otherwise plain lines, one per
//! page and per wait, that read well in a log or a pipe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use switchboard_core::polling::{Page, RunSummary};
use switchboard_poll::{Timer, TokioTimer};

/// The run's progress on stderr.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Hidden when stderr is not an attended terminal (indicatif's stderr target checks), and
    /// then every event is a plain line instead.
    bar: ProgressBar,
    state: Arc<std::sync::Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    pages: u32,
    items: usize,
    signals: usize,
    waits: u32,
    waited: Duration,
    /// The label of the last page, for the live line.
    label: String,
}

impl Progress {
    /// Progress on stderr: a live line on a terminal, plain lines elsewhere.
    pub fn on_stderr() -> Self {
        Self::with_target(ProgressDrawTarget::stderr())
    }

    fn with_target(target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(None, target);
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
            bar.set_style(style);
        }
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message("first page…");
        }
        Self { bar, state: Arc::default() }
    }

    /// Whether the live line is shown (stderr is a terminal).
    pub fn is_live(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// A page arrived.
    pub fn page(&self, page: &Page) {
        let label = page_label(page);
        let mut state = self.lock();
        state.pages += 1;
        state.items += page.items.len();
        if self.is_live() {
            self.bar.set_message(status(&state, &label, None));
        } else {
            eprintln!("{label}: {} item(s)", page.items.len());
        }
        state.label = label;
    }

    /// One more item became a signal.
    pub fn signal(&self) {
        let mut state = self.lock();
        state.signals += 1;
        if self.is_live() {
            self.bar.set_message(status(&state, &state.label, None));
        }
    }

    /// The engine waits before its next request (rate limit, `Retry-After`, or retry backoff).
    pub fn waiting(&self, wait: Duration) {
        let mut state = self.lock();
        state.waits += 1;
        state.waited += wait;
        let seconds = wait.as_secs_f64();
        if self.is_live() {
            let label = format!("page {}", state.pages + 1);
            self.bar.set_message(status(&state, &label, Some(seconds)));
        } else {
            eprintln!("waiting {seconds:.1} s before the next request (rate limit or retry)");
        }
    }

    /// Prints a line on stdout without tearing the live line.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| println!("{line}"));
    }

    /// Prints a line on stderr without tearing the live line.
    pub fn eprintln(&self, line: &str) {
        self.bar.suspend(|| eprintln!("{line}"));
    }

    /// Removes the live line, leaving the terminal for the summary.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    /// `waits: 2 (3.5 s)`, for the summary; `None` when the run never waited.
    pub fn waits(&self) -> Option<String> {
        let state = self.lock();
        (state.waits > 0).then(|| format!("waits: {} ({:.1} s)", state.waits, state.waited.as_secs_f64()))
    }

    /// A clock for the engine that reports every wait here and otherwise is the real one.
    pub fn timer(&self) -> Arc<dyn Timer> {
        Arc::new(ReportingTimer { progress: self.clone() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How a page is named in progress lines: `page 3`, or `page 3 (octo-org/api)` in a
/// partitioned run.
fn page_label(page: &Page) -> String {
    match &page.partition {
        Some(partition) => format!("page {} ({partition})", page.index + 1),
        None => format!("page {}", page.index + 1),
    }
}

/// The summary's checkpoint lines: the run's checkpoint (what `--checkpoint` takes back), then,
/// in a partitioned run, one line per partition and where the next run starts.
pub fn checkpoint_lines(summary: &RunSummary) -> Vec<String> {
    let checkpoint = &summary.checkpoint;
    let text = checkpoint.to_string();
    let mut lines = vec![format!("new checkpoint: {}", if text.is_empty() { "(none yet)" } else { &text })];
    for (key, partition) in &checkpoint.partitions {
        let text = partition.to_string();
        lines.push(format!("  {key}: {}", if text.is_empty() { "(none yet)" } else { &text }));
    }
    if let Some(next) = &checkpoint.next_partition {
        lines.push(format!("  the next run starts with {next}"));
    }
    lines
}

fn status(state: &State, label: &str, waiting: Option<f64>) -> String {
    let mut line = format!("{label} · {} item(s) · {} signal(s)", state.items, state.signals);
    if let Some(seconds) = waiting {
        line.push_str(&format!(" · waiting {seconds:.1} s (rate limit or retry)"));
    }
    line
}

/// The real clock, telling the progress display about each wait before sleeping through it.
#[derive(Debug)]
struct ReportingTimer {
    progress: Progress,
}

#[async_trait::async_trait]
impl Timer for ReportingTimer {
    fn now(&self) -> Instant {
        TokioTimer.now()
    }

    fn utc_now(&self) -> DateTime<Utc> {
        TokioTimer.utc_now()
    }

    async fn sleep(&self, duration: Duration) {
        if !duration.is_zero() {
            self.progress.waiting(duration);
        }
        TokioTimer.sleep(duration).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::polling::Checkpoint;

    #[test]
    fn off_a_terminal_the_live_line_is_hidden_and_waits_are_counted() {
        let progress = Progress::with_target(ProgressDrawTarget::hidden());
        assert!(!progress.is_live());
        assert_eq!(progress.waits(), None);
        progress.waiting(Duration::from_millis(1500));
        progress.waiting(Duration::from_secs(2));
        assert_eq!(progress.waits().as_deref(), Some("waits: 2 (3.5 s)"));
    }

    #[test]
    fn a_partitioned_checkpoint_is_listed_per_partition() {
        let mut checkpoint = Checkpoint::default();
        checkpoint.partitions.insert("octo-org/api".into(), Checkpoint::at("2011-02-05T00:00:00Z"));
        checkpoint.partitions.insert("octo-org/web".into(), Checkpoint::default());
        checkpoint.next_partition = Some("octo-org/web".into());
        let summary = RunSummary {
            pages: 1,
            items: 0,
            checkpoint,
            guard: None,
            stop: None,
            refreshed_credentials: None,
            notes: Vec::new(),
        };
        let lines = checkpoint_lines(&summary);
        assert!(lines[0].starts_with("new checkpoint: {\"partitions\":"), "{lines:?}");
        assert_eq!(
            lines[1..],
            [
                "  octo-org/api: 2011-02-05T00:00:00Z",
                "  octo-org/web: (none yet)",
                "  the next run starts with octo-org/web"
            ]
        );
    }
}
