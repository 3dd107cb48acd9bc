//! The background workers of `switchboard serve`: the normaliser on the ingest queue, the poller
//! on a timer and on the registry's poll-now requests, and the optional signals writer. Each finishes its current batch or run when asked
//! to stop.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use switchboard_core::ports::ReceivedMessage;
use switchboard_embedded::EmbeddedQueue;
use switchboard_normaliser::{InboundMessage, Normaliser};
use switchboard_poller::{PollNowReceiver, Poller};
use tokio::sync::watch;

/// How long an idle worker waits before looking at its queue again.
const IDLE: Duration = Duration::from_millis(200);
/// How long received messages stay hidden while a batch is processed. One process works each
/// queue, a batch takes milliseconds, and a message taken by a process that was killed comes
/// back after this long: short, so a restart after a crash catches up quickly.
const VISIBILITY: Duration = Duration::from_secs(10);
/// How long the normaliser claims a signal id before confirming it: above a batch's run time,
/// below [`VISIBILITY`], so a redelivery after a crash finds the claim gone and sends the signal.
pub const DEDUP_CLAIM: Duration = Duration::from_secs(5);
/// Longest a poll run may take, so a shutdown never waits long; a run that reaches it stores a
/// resume point and the next tick continues.
const POLL_RUN_BUDGET: Duration = Duration::from_secs(75);

/// Messages one normaliser worker takes per receive, and signals the writer takes per receive.
/// Each batch is received in one write and settled in one write.
const BATCH: usize = 100;
/// Normaliser workers on the ingest queue: while one waits for the store, another maps.
pub const NORMALISER_WORKERS: usize = 2;
/// Messages of a batch one normaliser worker handles at the same time: their writes meet in the
/// store's group commits.
pub const NORMALISER_CONCURRENCY: usize = 32;

/// Waits `delay`, or less if a stop is requested.
async fn pause(delay: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        _ = stop.changed() => {}
    }
}

/// Receives a batch, or `None` (after pausing) when there is nothing to do.
async fn next_batch(queue: &EmbeddedQueue, stop: &mut watch::Receiver<bool>) -> Option<Vec<ReceivedMessage>> {
    match queue.receive_batch(BATCH, VISIBILITY).await {
        Ok(batch) if !batch.is_empty() => Some(batch),
        Ok(_) => {
            pause(IDLE, stop).await;
            None
        }
        Err(error) => {
            tracing::warn!(queue = queue.name(), %error, "cannot receive from the queue; retrying");
            pause(Duration::from_secs(1), stop).await;
            None
        }
    }
}

/// Maps envelopes from the ingest queue into signals until stopped.
pub async fn normalise(normaliser: Arc<Normaliser>, ingest: Arc<EmbeddedQueue>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let Some(batch) = next_batch(&ingest, &mut stop).await else { continue };
        let inbound: Vec<InboundMessage> = batch
            .iter()
            .map(|m| InboundMessage {
                id: m.message_id.clone(),
                body: m.message.body.clone(),
                receive_count: m.receive_count,
            })
            .collect();
        let outcome = normaliser.process_batch(&inbound).await;
        let (failed, done): (Vec<&ReceivedMessage>, Vec<&ReceivedMessage>) =
            batch.iter().partition(|message| outcome.failed_ids.contains(&message.message_id));
        let done: Vec<String> = done.into_iter().map(|message| message.receipt.clone()).collect();
        // Back off a little more on each receive; the queue moves it to the DLQ at its limit.
        let retry: Vec<(String, Duration)> = failed
            .into_iter()
            .map(|m| (m.receipt.clone(), Duration::from_secs(u64::from(m.receive_count.min(6)) * 5)))
            .collect();
        if let Err(error) = ingest.settle(&done, &retry).await {
            tracing::warn!(messages = batch.len(), %error, "cannot settle a batch; its messages will be received again");
        }
    }
}

/// Polls due instances every `tick`, and the instances the registry asks for (a new or
/// re-enabled instance) as soon as it asks, until stopped.
pub async fn poll(poller: Poller, tick: Duration, mut now: PollNowReceiver, mut stop: watch::Receiver<bool>) {
    let mut next_tick = tokio::time::Instant::now();
    let mut asking = true;
    while !*stop.borrow() {
        tokio::select! {
            () = tokio::time::sleep_until(next_tick) => {
                match poller.run_due(chrono::Utc::now(), Instant::now() + POLL_RUN_BUDGET).await {
                    Ok(summary) => tracing::debug!(?summary, "poll run finished"),
                    Err(error) => tracing::warn!(%error, "poll run failed"),
                }
                next_tick = tokio::time::Instant::now() + tick;
            }
            keys = now.next_batch(), if asking => match keys {
                Some(keys) => match poller.poll_now(&keys, Instant::now() + POLL_RUN_BUDGET).await {
                    Ok(summary) => tracing::debug!(?summary, "poll-now run finished"),
                    Err(error) => tracing::warn!(%error, "poll-now run failed"),
                },
                None => asking = false, // The registry is gone: only the timer is left.
            },
            _ = stop.changed() => {}
        }
    }
}

/// Where `--signals-out` writes.
pub enum SignalSink {
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(std::fs::File),
}

impl SignalSink {
    /// Opens `-` (stdout) or a file for appending.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if path == Path::new("-") {
            return Ok(Self::Stdout);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening --signals-out {}", path.display()))?;
        Ok(Self::File(file))
    }

    /// Writes each line and a newline in one buffered write, then flushes.
    fn write_lines<'a>(&mut self, lines: impl Iterator<Item = &'a str>) -> std::io::Result<()> {
        let mut buffer = String::new();
        for line in lines {
            buffer.push_str(line);
            buffer.push('\n');
        }
        match self {
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(buffer.as_bytes())?;
                out.flush()
            }
            Self::File(file) => {
                file.write_all(buffer.as_bytes())?;
                file.flush()
            }
        }
    }
}

/// Drains the signals queue into `sink`, one JSON signal per line, until stopped. A batch is
/// acked (in one write) only after its lines are written and flushed.
pub async fn write_signals(mut sink: SignalSink, signals: Arc<EmbeddedQueue>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let Some(batch) = next_batch(&signals, &mut stop).await else { continue };
        if let Err(error) = sink.write_lines(batch.iter().map(|message| message.message.body.as_str())) {
            tracing::error!(%error, "cannot write to --signals-out; the signals stay queued");
            pause(Duration::from_secs(1), &mut stop).await;
            continue;
        }
        let receipts: Vec<String> = batch.into_iter().map(|message| message.receipt).collect();
        if let Err(error) = signals.ack_batch(&receipts).await {
            tracing::warn!(%error, "cannot ack written signals; they may be written twice");
        }
    }
}
