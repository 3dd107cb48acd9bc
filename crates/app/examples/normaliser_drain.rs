//! How fast `switchboard serve`'s normaliser drains its ingest queue when nothing else runs:
//! `COUNT` GitHub `pull_request` envelopes (the published fixture, each with its own pull
//! request number, as `bench/serve/generate.py` makes them) are put on a fresh embedded ingest
//! queue, then two workers receive, normalise and settle batches of 100 as serve's do (32
//! messages of a batch at once, each signal sent and recorded in one write) until the queue is
//! empty. Prints envelopes per second of wall time and of process CPU time.
//!
//! `cargo run --release -p switchboard-app --example normaliser_drain -- 20000` (`bench/normaliser.sh`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard_app::{App, Settings};
use switchboard_core::envelope::Envelope;
use switchboard_core::ports::{InstanceKey, MAX_BATCH_ENTRIES, QueueMessage, QueueSender as _};
use switchboard_core::{ConnectorId, ProjectId};
use switchboard_embedded::{Embedded, EmbeddedQueue};
use switchboard_normaliser::{InboundMessage, Normaliser, NormaliserSettings};

/// Messages a worker takes per receive, and workers (as in `switchboard serve`).
const BATCH: usize = 100;
const WORKERS: usize = 2;
const CONCURRENCY: usize = 32;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let count: usize = std::env::args().nth(1).map_or(Ok(20_000), |n| n.parse())?;
    let dir = tempfile::tempdir()?;
    let db = Embedded::open(&dir.path().join("drain.db"))?;
    let settings = Settings {
        normaliser: NormaliserSettings { concurrency: CONCURRENCY, ..NormaliserSettings::default() },
        ..Settings::default()
    };
    let app = App::assemble(db.stores(), settings);
    app.register_built_ins().await?;
    let ingest = Arc::new(db.ingest_queue());
    let signals = Arc::new(db.signals_queue());
    fill(&ingest, count).await?;

    let normaliser = Arc::new(app.normaliser(signals.clone()).with_send_once(signals.clone()));
    let (cpu_before, started) = (cpu_seconds()?, Instant::now());
    let workers: Vec<_> = (0..WORKERS).map(|_| tokio::spawn(drain(normaliser.clone(), ingest.clone()))).collect();
    let mut outcomes = (0, 0);
    for worker in workers {
        let (envelopes, failed) = worker.await??;
        outcomes = (outcomes.0 + envelopes, outcomes.1 + failed);
    }
    let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds()? - cpu_before);
    let sent = signals.depth().await?;
    println!(
        "normaliser alone: {} envelopes ({} failed) -> {sent} signals in {wall:.2} s wall, {cpu:.2} s CPU: \
         {:.0} envelopes/s (wall), {:.0} per CPU-second",
        outcomes.0,
        outcomes.1,
        outcomes.0 as f64 / wall,
        outcomes.0 as f64 / cpu
    );
    if outcomes.1 > 0 || sent != count as u64 {
        return Err(format!("expected {count} signals and no failure").into());
    }
    Ok(())
}

/// Puts `count` envelopes on the ingest queue, ten per send.
async fn fill(ingest: &EmbeddedQueue, count: usize) -> Result<(), Error> {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/github-prs/pull_request.opened.json");
    let template: serde_json::Value = serde_json::from_slice(&std::fs::read(fixture)?)?;
    let (connector, project) = (ConnectorId::parse("github-prs")?, ProjectId::parse("bench")?);
    let key = InstanceKey::from_ids(&connector, &project);
    let messages: Vec<QueueMessage> = (1..=count)
        .map(|pr| {
            let mut payload = template.clone();
            payload["number"] = pr.into();
            payload["pull_request"]["id"] = pr.into();
            payload["pull_request"]["number"] = pr.into();
            payload["pull_request"]["title"] = format!("Bench PR {pr}").into();
            let envelope = Envelope::webhook(
                connector.clone(),
                project.clone(),
                chrono::Utc::now(),
                Some("pull_request".into()),
                Some(format!("bench-{pr}")),
                payload,
            );
            QueueMessage::for_instance(envelope.to_json(), &key)
        })
        .collect();
    for chunk in messages.chunks(MAX_BATCH_ENTRIES) {
        ingest.send_entries(chunk).await?;
    }
    Ok(())
}

/// Receives, normalises and settles batches until the queue has none left: (envelopes, failed).
async fn drain(normaliser: Arc<Normaliser>, ingest: Arc<EmbeddedQueue>) -> Result<(usize, usize), Error> {
    let mut totals = (0, 0);
    loop {
        let batch = ingest.receive_batch(BATCH, Duration::from_secs(60)).await?;
        if batch.is_empty() {
            return Ok(totals);
        }
        let inbound: Vec<InboundMessage> =
            batch.iter().map(|m| InboundMessage::new(m.message_id.clone(), m.message.body.clone())).collect();
        let outcome = normaliser.process_batch(&inbound).await;
        let done: Vec<String> =
            batch.iter().filter(|m| !outcome.failed_ids.contains(&m.message_id)).map(|m| m.receipt.clone()).collect();
        ingest.ack_batch(&done).await?;
        totals = (totals.0 + batch.len(), totals.1 + outcome.failed_ids.len());
    }
}

/// This process's user + system CPU time (Linux `/proc/self/stat`, 100 ticks per second).
fn cpu_seconds() -> Result<f64, Error> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat.rsplit_once(") ").ok_or("unreadable /proc/self/stat")?.1.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}
